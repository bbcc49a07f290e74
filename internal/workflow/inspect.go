package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Inspection is what Inspect found in a graph.
type Inspection struct {
	// Points has one entry per name in PointNames, in that order.
	Points []Point `json:"points"`
	// Loader is the model loader LoRAs are inserted after; nil when none
	// was found (Point("model").Missing says why).
	Loader *Loader `json:"loader"`
	// Loras are the LoRA nodes already in the template, chained after the
	// loader's MODEL output, in chain order.
	Loras []TemplateLora `json:"loras"`
	// Conflicts are inputs that more than one point would set.
	Conflicts []string `json:"conflicts,omitempty"`
}

// Point is one injection point and where it is in the graph.
type Point struct {
	Name string `json:"name"`
	// Explicit is true when the point comes from Params, not discovery.
	Explicit bool `json:"explicit,omitempty"`
	// Targets are the inputs Render sets for this point, in graph order.
	Targets []Target `json:"targets"`
	// Missing says why no target was found; empty when there are targets.
	Missing string `json:"missing,omitempty"`
	// Unresolved lists places where the point should be but the value is a
	// link to a node the engine does not understand. Render refuses a
	// graph with any (for sampler and scheduler, only when the request
	// asks for a value): name the point in params instead.
	Unresolved []string `json:"unresolved,omitempty"`
	// Notes are remarks that need no action.
	Notes []string `json:"notes,omitempty"`
}

// Target is one input a point sets.
type Target struct {
	Node  string `json:"node"`
	Class string `json:"class"`
	Input string `json:"input"`
	// Value is the current value exactly as written in the template.
	Value json.RawMessage `json:"value"`
}

// Ref returns the target as a reference.
func (t Target) Ref() Ref { return Ref{Node: t.Node, Input: t.Input} }

// Loader is the model loader and the inputs that consume its outputs.
type Loader struct {
	Node  string `json:"node"`
	Class string `json:"class"`
	// ModelOutput and CLIPOutput are the output indexes; CLIPOutput is -1
	// when the loader has no CLIP output.
	ModelOutput int `json:"model_output"`
	CLIPOutput  int `json:"clip_output"`
	// ModelConsumers and CLIPConsumers are every input linked to those
	// outputs, in graph order.
	ModelConsumers []Ref `json:"model_consumers"`
	CLIPConsumers  []Ref `json:"clip_consumers"`
}

// LoraClass is the class Render inserts after this loader: LoraLoader when
// the loader's CLIP output is used, LoraLoaderModelOnly otherwise.
func (l *Loader) LoraClass() string {
	if len(l.CLIPConsumers) > 0 {
		return classLora
	}
	return classLoraModelOnly
}

// TemplateLora is a LoRA node already in the template.
type TemplateLora struct {
	Node  string `json:"node"`
	Class string `json:"class"`
	// Name and StrengthModel are the values as written; nil when absent.
	Name          json.RawMessage `json:"lora_name,omitempty"`
	StrengthModel json.RawMessage `json:"strength_model,omitempty"`
}

// Point returns the named point, or nil for an unknown name.
func (ins *Inspection) Point(name string) *Point {
	for i := range ins.Points {
		if ins.Points[i].Name == name {
			return &ins.Points[i]
		}
	}
	return nil
}

// Problems lists what makes the graph unusable: required points that are
// missing, links that hide a point (but for sampler and scheduler, whose
// links Render refuses only when a value is asked for), template values of
// numeric points that ComfyUI would refuse (not a number, or out of its
// range) and of sampler and scheduler that are not strings, and inputs two
// points would set. Every problem's Field is "workflow_json". It is empty
// when Render can fill the graph.
func (ins *Inspection) Problems() Problems {
	var probs Problems
	for _, p := range ins.Points {
		// A point hidden behind links is reported once, by its links.
		if len(p.Targets) == 0 && len(p.Unresolved) == 0 &&
			slices.Contains(RequiredPoints, p.Name) {
			probs = append(probs, Problem{"workflow_json", fmt.Sprintf(
				"no %s point: %s; name it in params.%s", p.Name, p.Missing, p.Name)})
		}
		if !namePoints[p.Name] { // Render refuses those only when asked for a value
			probs = append(probs, unresolvedProblems(p)...)
		}
		probs = append(probs, valueProblems(p)...)
	}
	for _, c := range ins.Conflicts {
		probs = append(probs, Problem{"workflow_json", c})
	}
	return probs
}

// unresolvedProblems reports each link that hides the value of point p.
func unresolvedProblems(p Point) Problems {
	var probs Problems
	for _, u := range p.Unresolved {
		probs = append(probs, Problem{"workflow_json", fmt.Sprintf(
			"%s: %s; name the point in params.%s", p.Name, u, p.Name)})
	}
	return probs
}

// Inspect finds every injection point of g, using p for the points it names.
// It fails only when p is invalid (an unknown point, a node or input not in
// the graph); points it cannot find are reported in the Inspection.
func (g *Graph) Inspect(p Params) (*Inspection, error) {
	ins, probs := g.inspect(p)
	if len(probs) > 0 {
		return nil, fmt.Errorf("checking params: %w", probs)
	}
	return ins, nil
}

// inspect returns the inspection and the params problems. Invalid points in
// p are left out and discovered instead.
func (g *Graph) inspect(p Params) (*Inspection, Problems) {
	refs, probs := g.checkParams(p)
	f := newFinder(g)
	ins := &Inspection{}

	loader, loaderMissing := f.findLoader(refs[PointModel])
	if loader != nil {
		ins.Loader = f.describeLoader(loader)
		ins.Loras = f.templateLoras(ins.Loader)
	}
	pos, neg := f.traceConditioning()
	for _, name := range PointNames {
		var pt Point
		switch r, explicit := refs[name]; {
		case explicit:
			pt = f.explicitPoint(name, r)
		case name == PointPrompt:
			pt = pos.point(name, "no sampler or guider has a positive conditioning that "+
				"leads back to a text encoder")
		case name == PointNegativePrompt:
			pt = neg.point(name, "no sampler or guider has a negative conditioning that "+
				"leads back to a text encoder")
			if len(neg.zeroed) > 0 && len(pt.Targets) == 0 {
				pt.Missing = fmt.Sprintf("the negative conditioning is zeroed out by node %s "+
					"(ConditioningZeroOut), so the graph takes no negative prompt",
					strings.Join(neg.zeroed, ", "))
			}
		case name == PointModel:
			pt = f.modelPoint(loader, loaderMissing)
		default:
			pt = f.simplePoint(name)
		}
		ins.Points = append(ins.Points, pt)
	}
	f.dropSharedText(ins)
	if ins.Loader != nil && len(ins.Loader.ModelConsumers) == 0 {
		mp := ins.Point(PointModel)
		mp.Notes = append(mp.Notes, fmt.Sprintf("node %q: the model loader's MODEL output "+
			"is not used by any node, so Render refuses requested LoRAs", ins.Loader.Node))
	}
	ins.Conflicts = conflicts(ins.Points)
	return ins, probs
}

// finder holds what discovery needs about one graph.
type finder struct {
	g         *Graph
	consumers map[Link][]Ref
}

func newFinder(g *Graph) *finder {
	f := &finder{g: g, consumers: map[Link][]Ref{}}
	for _, id := range g.order {
		for _, in := range g.nodes[id].inputs {
			if in.isLink {
				f.consumers[in.link] = append(f.consumers[in.link], Ref{id, in.name})
			}
		}
	}
	return f
}

// maxChain bounds link walks, so that a cyclic or absurdly long graph
// cannot loop forever or exhaust the stack.
const maxChain = 1000

// resolve finds the literal behind input name of n, following links from
// primitive nodes. It returns the target, or why there is none.
func (f *finder) resolve(n *node, name string) (Target, string) {
	for range maxChain {
		in := n.input(name)
		if in == nil {
			return Target{}, fmt.Sprintf("node %q (%s) has no input %q", n.id, n.class, name)
		}
		if !in.isLink {
			return Target{Node: n.id, Class: n.class, Input: name, Value: in.raw}, ""
		}
		src := f.g.nodes[in.link.Node]
		if !primitiveClasses[src.class] {
			return Target{}, fmt.Sprintf("node %q (%s) input %q is a link to node %q (%s), "+
				"which the engine does not understand", n.id, n.class, name, src.id, src.class)
		}
		n, name = src, "value"
	}
	return Target{}, fmt.Sprintf("node %q (%s) input %q: the chain of primitive nodes is "+
		"too long or circular", n.id, n.class, name)
}

// collector gathers a point's targets without duplicates.
type collector struct {
	targets    []Target
	unresolved []string
	notes      []string
	zeroed     []string
	seen       map[string]bool // refs and messages already added
}

func (c *collector) add(t Target, why string) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	key := why
	if why == "" {
		key = "\x00" + t.Node + "\x00" + t.Input
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	if why != "" {
		c.unresolved = append(c.unresolved, why)
		return
	}
	c.targets = append(c.targets, t)
}

// point turns the collection into a Point, targets in graph order.
func (c *collector) point(name, missing string) Point {
	pt := Point{Name: name, Targets: c.targets, Unresolved: c.unresolved, Notes: c.notes}
	switch {
	case len(pt.Targets) > 0:
	case len(pt.Unresolved) > 0:
		pt.Missing = hiddenByLink
	default:
		pt.Missing = missing
	}
	return pt
}

// hiddenByLink is the Missing text of a point found only behind links.
const hiddenByLink = "its value is a link the engine does not understand (see unresolved)"

func (f *finder) sortTargets(ts []Target) {
	slices.SortStableFunc(ts, func(a, b Target) int {
		if d := f.g.pos[a.Node] - f.g.pos[b.Node]; d != 0 {
			return d
		}
		return f.inputPos(a) - f.inputPos(b)
	})
}

func (f *finder) inputPos(t Target) int {
	for i, in := range f.g.nodes[t.Node].inputs {
		if in.name == t.Input {
			return i
		}
	}
	return 0
}

// simplePoint finds a point carried by fixed inputs of known classes.
func (f *finder) simplePoint(name string) Point {
	classes := simplePoints[name]
	var c collector
	latent := false // whether a latent node carries the point
	for _, id := range f.g.order {
		n := f.g.nodes[id]
		for _, in := range classes[n.class] {
			if namePoints[name] && n.input(in) == nil {
				c.notes = append(c.notes, fmt.Sprintf("node %q (%s) has no %s input, which "+
					"ComfyUI requires", n.id, n.class, in))
				continue
			}
			t, why := f.resolve(n, in)
			c.add(t, why)
			latent = latent || (why == "" && latentClasses[n.class])
		}
	}
	pt := c.point(name, missingReasons[name])
	switch {
	case (name == PointWidth || name == PointHeight) && !latent:
		// Without a latent node the request's size would not reach the image.
		// TODO: img2img and inpainting templates (VAEEncode instead of an empty
		// latent) have no size point, so Check refuses them unless params name
		// a size input; they need a size-less mode.
		if len(pt.Targets) > 0 {
			pt.Notes = append(pt.Notes, "only ModelSamplingFlux carries a size")
			pt.Targets = nil
		}
		pt.Missing = missingReasons[name]
		if len(pt.Unresolved) > 0 {
			pt.Missing = hiddenByLink
		}
	case name == PointOutput && len(pt.Targets) == 0:
		f.explainNoOutput(&pt)
	case namePoints[name] && len(pt.Unresolved) > 0:
		pt.Notes = append(pt.Notes, fmt.Sprintf("the graph keeps its own %s there; Render "+
			"refuses a requested %s until params.%s names the inputs", name, name, name))
	}
	return pt
}

func (f *finder) explainNoOutput(pt *Point) {
	var previews []string
	for _, id := range f.g.order {
		if f.g.nodes[id].class == "PreviewImage" {
			previews = append(previews, id)
		}
	}
	if len(previews) > 0 {
		pt.Missing = fmt.Sprintf("no SaveImage node; PreviewImage node %s writes only "+
			"temporary files", strings.Join(previews, ", "))
	}
}

// explicitPoint builds a point from references checked by checkParams,
// which refuses inputs that hold links.
func (f *finder) explicitPoint(name string, refs []Ref) Point {
	pt := Point{Name: name, Explicit: true}
	for _, r := range refs {
		n := f.g.nodes[r.Node]
		pt.Targets = append(pt.Targets, Target{Node: n.id, Class: n.class, Input: r.Input,
			Value: n.input(r.Input).raw})
	}
	return pt
}

// dropSharedText keeps a text target that both prompts reach in the positive
// point only, so that the negative prompt never overwrites the positive one.
func (f *finder) dropSharedText(ins *Inspection) {
	pos, neg := ins.Point(PointPrompt), ins.Point(PointNegativePrompt)
	if neg.Explicit {
		return
	}
	inPrompt := make(map[Ref]bool, len(pos.Targets))
	for _, p := range pos.Targets {
		inPrompt[p.Ref()] = true
	}
	kept := neg.Targets[:0:0]
	for _, t := range neg.Targets {
		if inPrompt[t.Ref()] {
			neg.Notes = append(neg.Notes, fmt.Sprintf("%s feeds both the positive and the "+
				"negative conditioning; it is kept for the prompt", t.Ref()))
			continue
		}
		kept = append(kept, t)
	}
	neg.Targets = kept
	if len(kept) == 0 && neg.Missing == "" {
		neg.Missing = "the negative conditioning comes from the positive prompt's encoder"
	}
}

// conflicts lists inputs that two different points would set.
func conflicts(points []Point) []string {
	owner := map[Ref]string{}
	var out []string
	for _, p := range points {
		for _, t := range p.Targets {
			r := t.Ref()
			if o, ok := owner[r]; ok && o != p.Name {
				out = append(out, fmt.Sprintf("%s is set by both %s and %s; give each point "+
					"its own node or name them in params", r, o, p.Name))
				continue
			}
			owner[r] = p.Name
		}
	}
	return out
}
