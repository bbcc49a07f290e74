package workflow

import (
	"fmt"
	"strings"
)

// condTrace walks conditioning links back from samplers and guiders to the
// text encoders, for one role (positive or negative).
type condTrace struct {
	f       *finder
	role    string
	seen    map[Link]bool
	collect collector
}

// traceConditioning finds the text inputs behind every sampler's and
// guider's positive and negative conditioning.
//
// TODO: regional prompting (several encoders combined on one side, e.g.
// through ConditioningSetArea) gets the same prompt in every region; such a
// template needs params.prompt to pick the one encoder the user's text
// belongs in.
func (f *finder) traceConditioning() (pos, neg *collector) {
	p := &condTrace{f: f, role: "positive", seen: map[Link]bool{}}
	n := &condTrace{f: f, role: "negative", seen: map[Link]bool{}}
	for _, id := range f.g.order {
		nd := f.g.nodes[id]
		for _, in := range nd.inputs {
			if !in.isLink {
				continue
			}
			switch {
			case in.name == "positive":
				p.walk(in.link, 0)
			case in.name == "negative":
				n.walk(in.link, 0)
			case nd.class == "BasicGuider" && in.name == "conditioning":
				p.walk(in.link, 0)
			case nd.class == "DualCFGGuider" && (in.name == "cond1" || in.name == "cond2"):
				p.walk(in.link, 0)
			}
		}
	}
	f.sortTargets(p.collect.targets)
	f.sortTargets(n.collect.targets)
	return &p.collect, &n.collect
}

// walk follows one conditioning link back towards its text encoders.
func (t *condTrace) walk(l Link, depth int) {
	n := t.f.g.nodes[l.Node]
	key := l
	if t.seen[key] {
		return
	}
	if depth > maxChain {
		t.collect.add(Target{}, fmt.Sprintf("the %s conditioning chain through node %q is "+
			"longer than %d nodes", t.role, n.id, maxChain))
		return
	}
	t.seen[key] = true

	if names, ok := textInputs[n.class]; ok {
		for _, name := range names {
			t.collect.add(t.f.resolve(n, name))
		}
		return
	}
	if n.class == zeroOutClass {
		// The text behind it does not matter: the model gets zeros.
		t.collect.zeroed = append(t.collect.zeroed, n.id)
		return
	}
	if t.passThrough(n, l, depth) {
		return
	}
	t.collect.add(Target{}, fmt.Sprintf("node %q (%s) feeds the %s conditioning and "+
		"the engine does not understand it", n.id, n.class, t.role))
}

// passThrough follows the conditioning inputs of a node that changes
// conditioning without creating it: nodes with positive and negative
// inputs and outputs (ControlNetApplyAdvanced) map output 0 to positive and
// 1 to negative; others (FluxGuidance, ConditioningCombine,
// ConditioningSetTimestepRange …) pass on every input named conditioning*.
func (t *condTrace) passThrough(n *node, l Link, depth int) bool {
	pos, hasPos := n.linkAt("positive")
	neg, hasNeg := n.linkAt("negative")
	if hasPos || hasNeg {
		switch {
		case l.Output == 0 && hasPos:
			t.walk(pos, depth+1)
			return true
		case l.Output == 1 && hasNeg:
			t.walk(neg, depth+1)
			return true
		}
		return false
	}
	followed := false
	for _, in := range n.inputs {
		if in.isLink && strings.HasPrefix(in.name, "conditioning") {
			t.walk(in.link, depth+1)
			followed = true
		}
	}
	return followed
}

// findLoader picks the model loader: the node named in params.model, the
// only loader in the graph, or the one whose MODEL reaches the sampler that
// starts from an empty latent (the base, not the refiner).
func (f *finder) findLoader(explicit []Ref) (*node, string) {
	if len(explicit) > 0 {
		return f.g.nodes[explicit[0].Node], ""
	}
	var loaders []string
	for _, id := range f.g.order {
		if _, ok := loaderClasses[f.g.nodes[id].class]; ok {
			loaders = append(loaders, id)
		}
	}
	switch len(loaders) {
	case 0:
		return nil, "no model loader (CheckpointLoaderSimple, CheckpointLoader, UNETLoader)"
	case 1:
		return f.g.nodes[loaders[0]], ""
	}
	for _, fromLatent := range []bool{true, false} {
		found := map[string]bool{}
		var first string
		for _, id := range f.g.order {
			n := f.g.nodes[id]
			if !samplerClasses[n.class] || (fromLatent && !f.startsFromEmptyLatent(n)) {
				continue
			}
			if src := f.modelSource(n); src != "" && !found[src] {
				found[src] = true
				first = src
			}
		}
		if len(found) == 1 {
			return f.g.nodes[first], ""
		}
	}
	return nil, fmt.Sprintf("several model loaders (nodes %s) and no single one feeds the "+
		"sampler that starts from the empty latent", strings.Join(loaders, ", "))
}

// startsFromEmptyLatent reports whether sampler n's latent_image links to an
// empty latent node.
func (f *finder) startsFromEmptyLatent(n *node) bool {
	l, ok := n.linkAt("latent_image")
	return ok && latentClasses[f.g.nodes[l.Node].class]
}

// modelSource follows a sampler's model (through its guider for
// SamplerCustomAdvanced) back through model-patching nodes to a loader.
func (f *finder) modelSource(n *node) string {
	if g, ok := n.linkAt("guider"); ok {
		n = f.g.nodes[g.Node]
	}
	for range maxChain {
		l, ok := n.linkAt("model")
		if !ok {
			return ""
		}
		n = f.g.nodes[l.Node]
		if _, ok := loaderClasses[n.class]; ok {
			return n.id
		}
	}
	return ""
}

// describeLoader lists the consumers of the loader's outputs. A loader
// named in params whose class the engine does not know is taken to have
// MODEL at output 0 and no CLIP output.
func (f *finder) describeLoader(n *node) *Loader {
	info, ok := loaderClasses[n.class]
	if !ok {
		info = loaderInfo{model: 0, clip: -1}
	}
	l := &Loader{Node: n.id, Class: n.class, ModelOutput: info.model, CLIPOutput: info.clip}
	l.ModelConsumers = f.consumers[Link{n.id, info.model}]
	if info.clip >= 0 {
		l.CLIPConsumers = f.consumers[Link{n.id, info.clip}]
	}
	return l
}

// templateLoras walks the LoRA nodes chained on the loader's MODEL output.
func (f *finder) templateLoras(l *Loader) []TemplateLora {
	var out []TemplateLora
	seen := map[string]bool{}
	queue := []Link{{l.Node, l.ModelOutput}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range f.consumers[cur] {
			n := f.g.nodes[c.Node]
			if !isLoraClass(n.class) || c.Input != "model" || seen[n.id] {
				continue
			}
			seen[n.id] = true
			tl := TemplateLora{Node: n.id, Class: n.class}
			if in := n.input("lora_name"); in != nil {
				tl.Name = in.raw
			}
			if in := n.input("strength_model"); in != nil {
				tl.StrengthModel = in.raw
			}
			out = append(out, tl)
			queue = append(queue, Link{n.id, 0})
		}
	}
	return out
}

// modelPoint is the loader's model-file input.
func (f *finder) modelPoint(loader *node, missing string) Point {
	pt := Point{Name: PointModel}
	if loader == nil {
		pt.Missing = missing
		return pt
	}
	info := loaderClasses[loader.class]
	var c collector
	c.add(f.resolve(loader, info.file))
	pt = c.point(PointModel, fmt.Sprintf("node %q (%s) has no usable %s", loader.id,
		loader.class, info.file))
	return pt
}
