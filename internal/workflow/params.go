package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Names of the injection points, the keys of Params.
const (
	PointPrompt         = "prompt"
	PointNegativePrompt = "negative_prompt"
	PointSeed           = "seed"
	PointSteps          = "steps"
	PointCFG            = "cfg"
	PointGuidance       = "guidance"
	PointSampler        = "sampler"
	PointScheduler      = "scheduler"
	PointWidth          = "width"
	PointHeight         = "height"
	PointBatchSize      = "batch_size"
	PointModel          = "model"
	PointOutput         = "output"
)

// PointNames lists every injection point in the order Inspect reports them.
var PointNames = []string{
	PointPrompt, PointNegativePrompt, PointSeed, PointSteps, PointCFG, PointGuidance,
	PointSampler, PointScheduler, PointWidth, PointHeight, PointBatchSize, PointModel,
	PointOutput,
}

// RequiredPoints are the points a workflow must have to be usable.
var RequiredPoints = []string{
	PointPrompt, PointSeed, PointWidth, PointHeight, PointModel, PointOutput,
}

// Params are explicit injection points from a workflow's config: point name
// to "node.input" references, e.g. {"prompt": {"6.text"}, "seed": {"3.seed",
// "20.noise_seed"}}. A point named here replaces what discovery finds for it.
type Params map[string][]string

// UnmarshalJSON accepts each point as one reference or a list of them:
// {"prompt": "6.text", "seed": ["3.seed", "20.noise_seed"]}.
func (p *Params) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("reading params: want an object of point names, found %s", kindOf(data))
	}
	out := make(Params, len(raw))
	for name, v := range raw {
		v = bytes.TrimSpace(v)
		var one string
		if json.Unmarshal(v, &one) == nil {
			out[name] = []string{one}
			continue
		}
		var many []string
		if err := json.Unmarshal(v, &many); err != nil {
			return fmt.Errorf("reading params.%s: want \"node.input\" or a list of them, found %s",
				name, kindOf(v))
		}
		out[name] = many
	}
	*p = out
	return nil
}

// Ref names one input of one node, written "node.input" ("6.text",
// "115:89.seed"). The node id is everything before the last dot.
type Ref struct {
	Node  string `json:"node"`
	Input string `json:"input"`
}

func (r Ref) String() string { return r.Node + "." + r.Input }

// ParseRef reads a "node.input" reference.
func ParseRef(s string) (Ref, error) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return Ref{}, fmt.Errorf("%q is not \"node.input\" (for example \"6.text\")", s)
	}
	return Ref{Node: s[:i], Input: s[i+1:]}, nil
}

// checkParams validates p against g and returns the references of each
// point, deduplicated, with every problem found.
func (g *Graph) checkParams(p Params) (map[string][]Ref, Problems) {
	var probs Problems
	refs := map[string][]Ref{}
	names := make([]string, 0, len(p))
	for name := range p {
		names = append(names, name)
	}
	slices.Sort(names) // problems in a stable order
	for _, name := range names {
		field := "params." + name
		if !slices.Contains(PointNames, name) {
			probs = append(probs, Problem{field, fmt.Sprintf("unknown injection point %q; "+
				"known points: %s", name, strings.Join(PointNames, ", "))})
			continue
		}
		if len(p[name]) == 0 {
			probs = append(probs, Problem{field, "empty list; name at least one \"node.input\""})
			continue
		}
		ok := true
		var list []Ref
		for _, s := range p[name] {
			r, err := ParseRef(s)
			if err == nil {
				err = g.checkRef(r)
			}
			if err == nil {
				err = g.checkValueRef(name, r)
			}
			if err != nil {
				probs = append(probs, Problem{field, err.Error()})
				ok = false
				continue
			}
			if !slices.Contains(list, r) {
				list = append(list, r)
			}
		}
		if ok {
			refs[name] = list
		}
	}
	return refs, probs
}

// checkRef reports whether r names an input that exists in g.
func (g *Graph) checkRef(r Ref) error {
	n, ok := g.nodes[r.Node]
	if !ok {
		return fmt.Errorf("%s: node %q is not in the graph", r, r.Node)
	}
	if n.input(r.Input) == nil {
		have := make([]string, len(n.inputs))
		for i, in := range n.inputs {
			have[i] = in.name
		}
		return fmt.Errorf("%s: node %q (%s) has no input %q; its inputs are: %s",
			r, r.Node, n.class, r.Input, strings.Join(have, ", "))
	}
	return nil
}

// pointHolds names what each point's input holds, for error messages.
var pointHolds = map[string]string{
	PointPrompt: "the text", PointNegativePrompt: "the text", PointSeed: "the seed",
	PointSteps: "the step count", PointCFG: "the cfg scale", PointGuidance: "the guidance",
	PointSampler: "the sampler name", PointScheduler: "the scheduler name",
	PointWidth: "the width", PointHeight: "the height", PointBatchSize: "the batch size",
	PointModel: "the model file name", PointOutput: "the filename prefix",
}

// checkValueRef refuses a reference to an input that holds a link: Render
// would replace the link with a value and cut the graph apart (a prompt
// written into CLIPTextEncode.clip). For a link from a primitive node it
// names the primitive's value instead.
func (g *Graph) checkValueRef(point string, r Ref) error {
	in := g.nodes[r.Node].input(r.Input)
	if !in.isLink {
		return nil
	}
	hint := ""
	if src := g.nodes[in.link.Node]; primitiveClasses[src.class] {
		hint = fmt.Sprintf(", here %s.value", src.id)
	}
	return fmt.Errorf("%s holds a link (to node %s), not a value; name the input that holds "+
		"%s%s", r, in.link.Node, pointHolds[point], hint)
}
