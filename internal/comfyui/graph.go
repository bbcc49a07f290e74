package comfyui

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// loaderClasses are the loaders whose file inputs the pool checks against a
// backend's inventory and respells in the backend's own spelling. Custom
// loaders are left alone: their inputs may name other lists.
var loaderClasses = map[string][]string{
	"CheckpointLoaderSimple": {"ckpt_name"},
	"CheckpointLoader":       {"ckpt_name"},
	"UNETLoader":             {"unet_name"},
	"LoraLoader":             {"lora_name"},
	"LoraLoaderModelOnly":    {"lora_name"},
	"VAELoader":              {"vae_name"},
	"CLIPLoader":             {"clip_name"},
	"DualCLIPLoader":         {"clip_name1", "clip_name2"},
	"TripleCLIPLoader":       {"clip_name1", "clip_name2", "clip_name3"},
	"QuadrupleCLIPLoader":    {"clip_name1", "clip_name2", "clip_name3", "clip_name4"},
}

// apiGraph is a submitted API-format graph, kept as raw JSON so numbers
// (64-bit seeds) pass through untouched.
type apiGraph struct {
	raw     map[string]json.RawMessage
	nodes   map[string]map[string]json.RawMessage
	inputs  map[string]map[string]json.RawMessage
	classes map[string]string
	files   []fileRef
}

// fileRef is a loader input naming a file.
type fileRef struct {
	node  string
	input string
	kind  Kind
	name  string
}

// parseGraph reads a graph's nodes and its loaders' file names.
func parseGraph(raw json.RawMessage) (*apiGraph, error) {
	var nodes map[string]json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, fmt.Errorf("reading workflow graph: not a JSON object of nodes: %w", err)
	}
	g := &apiGraph{raw: nodes, nodes: map[string]map[string]json.RawMessage{},
		inputs: map[string]map[string]json.RawMessage{}, classes: map[string]string{}}
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	for _, id := range ids {
		var node map[string]json.RawMessage
		if err := json.Unmarshal(nodes[id], &node); err != nil {
			return nil, fmt.Errorf("reading workflow graph: node %s is not an object", id)
		}
		var class string
		json.Unmarshal(node["class_type"], &class)
		inputs := map[string]json.RawMessage{}
		if raw, ok := node["inputs"]; ok {
			if err := json.Unmarshal(raw, &inputs); err != nil {
				return nil, fmt.Errorf("reading workflow graph: inputs of node %s are not an object", id)
			}
		}
		g.nodes[id], g.inputs[id], g.classes[id] = node, inputs, class
		for _, in := range loaderClasses[class] {
			var name string
			if json.Unmarshal(inputs[in], &name) != nil || name == "" {
				continue // a link or nothing: ComfyUI's validation will say
			}
			kind, _ := kindOfInput(in)
			g.files = append(g.files, fileRef{node: id, input: in, kind: kind, name: name})
		}
	}
	return g, nil
}

func compareIDs(a, b string) int {
	switch {
	case numericLess(a, b):
		return -1
	case numericLess(b, a):
		return 1
	}
	return 0
}

// render writes the graph for one backend: loader file names in the
// backend's spelling, and filename_prefix on every SaveImage when prefix
// is set. The graph itself is not changed.
func (g *apiGraph) render(inv *Inventory, prefix string) (json.RawMessage, error) {
	overrides := map[string]map[string]json.RawMessage{}
	set := func(node, input string, v string) {
		if overrides[node] == nil {
			overrides[node] = map[string]json.RawMessage{}
		}
		overrides[node][input], _ = json.Marshal(v)
	}
	for _, f := range g.files {
		if spelling, ok := inv.Lookup(f.kind, f.name); ok && spelling != f.name {
			set(f.node, f.input, spelling)
		}
	}
	if prefix != "" {
		for id, class := range g.classes {
			if class == "SaveImage" {
				set(id, "filename_prefix", prefix)
			}
		}
	}
	out := make(map[string]json.RawMessage, len(g.nodes))
	for id, raw := range g.raw {
		if overrides[id] == nil {
			out[id] = raw
			continue
		}
		inputs := maps.Clone(g.inputs[id])
		maps.Copy(inputs, overrides[id])
		node := maps.Clone(g.nodes[id])
		var err error
		if node["inputs"], err = json.Marshal(inputs); err != nil {
			return nil, fmt.Errorf("encoding inputs of node %s: %w", id, err)
		}
		if out[id], err = json.Marshal(node); err != nil {
			return nil, fmt.Errorf("encoding node %s: %w", id, err)
		}
	}
	return json.Marshal(out)
}
