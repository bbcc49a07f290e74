package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Request is what one job asks of a template. Zero values keep the
// template's value, except Seed, which is always set unless KeepSeed is.
type Request struct {
	// Prompt and NegativePrompt replace the text of the encoders; "" keeps
	// the template's text. A negative prompt is ignored when the graph has
	// no negative point (a Flux graph whose negative is zeroed out);
	// Inspection.Warnings says so.
	Prompt, NegativePrompt string
	// Seed goes to every seed input (0 … 2^64-1).
	Seed uint64
	// KeepSeed leaves the template's seeds alone and ignores Seed.
	KeepSeed bool
	// Steps is 1 … 10000; 0 keeps the template's.
	Steps int
	// CFG and Guidance are 0 … 100; nil keeps the template's. A value for a
	// point the graph does not have is ignored (Flux graphs have no cfg
	// with BasicGuider; SD graphs have no guidance).
	CFG, Guidance *float64
	// Sampler and Scheduler are names of ComfyUI's options ("dpmpp_2m",
	// "karras") for every sampler_name and scheduler input; "" keeps the
	// template's. Which names exist is ComfyUI's to check. A graph without
	// the point ignores them (Inspection.Warnings says so); one whose point
	// is behind a link the engine does not understand is refused.
	Sampler, Scheduler string
	// Width and Height are 16 … 16384 pixels; 0 keeps the template's.
	// ModelSamplingFlux nodes get the same size as the latent.
	Width, Height int
	// BatchSize is 1 … 4096; 0 keeps the template's.
	BatchSize int
	// ModelFile is the model file name on ComfyUI; "" keeps the template's.
	ModelFile string
	// Loras are inserted as a chain right after the model loader.
	Loras []Lora
	// ReplaceLoras removes the template's LoRA nodes chained after the
	// loader (Inspection.Loras) before inserting Loras. By default they are
	// kept and the requested chain goes in front of them.
	ReplaceLoras bool
	// FilenamePrefix is the SaveImage prefix, unique per job; it may hold a
	// subfolder ("atelier/job-123"). "" keeps the template's.
	FilenamePrefix string
	// Params are the workflow's explicit injection points.
	Params Params
}

// Lora is one LoRA to apply.
//
// TODO: one strength serves model and CLIP; a separate CLIP strength cannot
// be requested, so a LoRA that wants them apart is applied at one value.
type Lora struct {
	// Name is the file name on ComfyUI (lora_name), which may hold a subfolder.
	Name string
	// Strength (−100 … 100) goes to strength_model, and to strength_clip
	// when a LoraLoader is inserted.
	Strength float64
}

// Limits Render enforces, from ComfyUI's node definitions.
const (
	maxSteps       = 10000
	minSize        = 16
	maxSize        = 16384
	maxBatch       = 4096
	maxCFG         = 100
	maxStrength    = 100
	maxPrefixBytes = 200
	maxNameBytes   = 64
)

// Render fills the template with r and returns the API-format graph as
// compact JSON: nodes and inputs in template order, inserted LoRA nodes
// last, untouched values byte-for-byte as written. The same graph and
// request always give the same bytes, and g itself is never changed. It
// fails when r is out of range, r.Params is invalid, the graph has
// problems (see Inspection.Problems), or r asks for LoRAs and nothing reads
// the loader's MODEL output.
func (g *Graph) Render(r Request) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	ins, err := g.Inspect(r.Params)
	if err != nil {
		return nil, err
	}
	if probs := ins.Problems(); len(probs) > 0 {
		return nil, fmt.Errorf("filling workflow: %w", probs)
	}
	if probs := ins.hiddenNames(r); len(probs) > 0 {
		return nil, fmt.Errorf("filling workflow: %w", probs)
	}
	c := g.clone()
	c.fill(ins, r)
	if !r.ReplaceLoras && len(r.Loras) == 0 {
		return c.appendJSON(make([]byte, 0, 256*len(c.order))), nil
	}
	idx := c.consumerIndex()
	if r.ReplaceLoras {
		if err := c.removeLoras(idx, ins.Loras); err != nil {
			return nil, fmt.Errorf("removing template LoRAs: %w", err)
		}
	}
	if len(r.Loras) > 0 {
		if err := c.insertLoras(idx, ins.Loader, r.Loras); err != nil {
			return nil, fmt.Errorf("inserting LoRAs: %w", err)
		}
	}
	return c.appendJSON(make([]byte, 0, 256*len(c.order))), nil
}

// hiddenNames reports the links that hide a sampler or scheduler point the
// request gives a value for: writing only the inputs discovery found would
// leave part of the graph on the template's choice.
func (ins *Inspection) hiddenNames(r Request) Problems {
	var probs Problems
	for _, n := range []struct{ point, v string }{
		{PointSampler, r.Sampler}, {PointScheduler, r.Scheduler},
	} {
		if n.v == "" {
			continue
		}
		for _, u := range ins.Point(n.point).Unresolved {
			probs = append(probs, Problem{"workflow_json", fmt.Sprintf(
				"%s %q cannot be set: %s; name the point in params.%s", n.point, n.v, u,
				n.point)})
		}
	}
	return probs
}

// fill sets every point the request gives a value for.
func (c *Graph) fill(ins *Inspection, r Request) {
	set := func(name string, raw json.RawMessage) {
		for _, t := range ins.Point(name).Targets {
			c.nodes[t.Node].input(t.Input).set(raw)
		}
	}
	if r.Prompt != "" {
		set(PointPrompt, quote(r.Prompt))
	}
	if r.NegativePrompt != "" {
		set(PointNegativePrompt, quote(r.NegativePrompt))
	}
	if !r.KeepSeed {
		set(PointSeed, strconv.AppendUint(nil, r.Seed, 10))
	}
	if r.Steps > 0 {
		c.scaleSplitSteps(ins.Point(PointSteps).Targets, r.Steps)
		set(PointSteps, formatInt(int64(r.Steps)))
	}
	if r.CFG != nil {
		set(PointCFG, formatFloat(*r.CFG))
	}
	if r.Guidance != nil {
		set(PointGuidance, formatFloat(*r.Guidance))
	}
	if r.Sampler != "" {
		set(PointSampler, quote(r.Sampler))
	}
	if r.Scheduler != "" {
		set(PointScheduler, quote(r.Scheduler))
	}
	if r.Width > 0 {
		set(PointWidth, formatInt(int64(r.Width)))
	}
	if r.Height > 0 {
		set(PointHeight, formatInt(int64(r.Height)))
	}
	if r.BatchSize > 0 {
		set(PointBatchSize, formatInt(int64(r.BatchSize)))
	}
	if r.ModelFile != "" {
		set(PointModel, quote(r.ModelFile))
	}
	if r.FilenamePrefix != "" {
		set(PointOutput, quote(r.FilenamePrefix))
	}
}

// validate reports every out-of-range value in r.
func (r Request) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Steps < 0 || r.Steps > maxSteps {
		bad("steps %d: want 1…%d, or 0 to keep the template's", r.Steps, maxSteps)
	}
	checkFloat := func(name string, v *float64) {
		if v != nil && !(*v >= 0 && *v <= maxCFG) { // also catches NaN
			bad("%s %v: want 0…%d", name, *v, maxCFG)
		}
	}
	checkFloat("cfg", r.CFG)
	checkFloat("guidance", r.Guidance)
	checkName := func(name, v string) {
		switch {
		case len(v) > maxNameBytes:
			bad("%s is %d bytes long: want at most %d", name, len(v), maxNameBytes)
		case strings.ContainsFunc(v, unicode.IsControl):
			bad("%s %q holds a control character", name, v)
		case strings.TrimSpace(v) != v:
			bad("%s %q: want a name without leading or trailing space", name, v)
		}
	}
	checkName("sampler", r.Sampler)
	checkName("scheduler", r.Scheduler)
	checkSize := func(name string, v int) {
		if v != 0 && (v < minSize || v > maxSize) {
			bad("%s %d: want %d…%d pixels, or 0 to keep the template's", name, v, minSize, maxSize)
		}
	}
	checkSize("width", r.Width)
	checkSize("height", r.Height)
	if r.BatchSize < 0 || r.BatchSize > maxBatch {
		bad("batch size %d: want 1…%d, or 0 to keep the template's", r.BatchSize, maxBatch)
	}
	for i, l := range r.Loras {
		if strings.TrimSpace(l.Name) == "" {
			bad("loras[%d]: empty name", i)
		}
		if !(l.Strength >= -maxStrength && l.Strength <= maxStrength) {
			bad("loras[%d] %q: strength %v: want −%d…%d", i, l.Name, l.Strength,
				maxStrength, maxStrength)
		}
	}
	if r.FilenamePrefix != "" {
		if err := checkPrefix(r.FilenamePrefix); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid request: %w", errors.Join(errs...))
}

// checkPrefix refuses a filename prefix that ComfyUI would reject or that
// would leave its output folder.
func checkPrefix(p string) error {
	if len(p) > maxPrefixBytes {
		return fmt.Errorf("filename prefix is %d bytes long: want at most %d", len(p),
			maxPrefixBytes)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) ||
		(len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("filename prefix %q: want a relative path", p)
	}
	if strings.HasSuffix(p, "/") || strings.HasSuffix(p, `\`) {
		return fmt.Errorf("filename prefix %q ends with a separator: want a file name after it", p)
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return fmt.Errorf("filename prefix %q: \"..\" would leave the output folder", p)
		}
	}
	if strings.ContainsFunc(p, unicode.IsControl) {
		return fmt.Errorf("filename prefix %q holds a control character", p)
	}
	return nil
}

// consumerIndex maps each output to the inputs linked to it, in graph
// order. Its pointers stay valid: inputs of existing nodes are never
// appended to.
type consumerIndex map[Link][]*input

func (c *Graph) consumerIndex() consumerIndex {
	idx := consumerIndex{}
	for _, id := range c.order {
		n := c.nodes[id]
		for i := range n.inputs {
			if in := &n.inputs[i]; in.isLink {
				idx[in.link] = append(idx[in.link], in)
			}
		}
	}
	return idx
}

// repoint moves every input linked to from over to to.
func (idx consumerIndex) repoint(from, to Link) {
	for _, in := range idx[from] {
		in.point(to)
	}
	idx[to] = append(idx[to], idx[from]...)
	delete(idx, from)
}

// removeLoras takes the template's LoRA nodes out of the graph, re-pointing
// the users of each one's outputs to its inputs.
func (c *Graph) removeLoras(idx consumerIndex, loras []TemplateLora) error {
	removed := map[string]bool{}
	for _, tl := range loras {
		n := c.nodes[tl.Node]
		for i := range n.inputs { // n's own links no longer count as consumers
			if in := &n.inputs[i]; in.isLink {
				idx[in.link] = slices.DeleteFunc(idx[in.link], func(p *input) bool { return p == in })
			}
		}
		model, ok := n.linkAt("model")
		if !ok { // params replaced the link that put it in the chain
			return fmt.Errorf("node %q (%s): its model input is no link", n.id, n.class)
		}
		idx.repoint(Link{n.id, 0}, model)
		if n.class == classLora {
			clip, ok := n.linkAt("clip")
			if !ok && len(idx[Link{n.id, 1}]) > 0 {
				return fmt.Errorf("node %q (LoraLoader): its CLIP output is used but its "+
					"clip input is no link", n.id)
			}
			if ok {
				idx.repoint(Link{n.id, 1}, clip)
			}
		}
		if err := c.checkUnread(n, removed); err != nil {
			return err
		}
		delete(c.nodes, n.id)
		removed[n.id] = true
	}
	c.order = slices.DeleteFunc(c.order, func(id string) bool { return removed[id] })
	return nil
}

// checkUnread fails when a node other than the removed ones still reads an
// output of n that removeLoras had nothing to re-point to (output 1 of a
// LoraLoaderModelOnly, which has none), so that removing n would leave a
// dangling link.
func (c *Graph) checkUnread(n *node, removed map[string]bool) error {
	for _, id := range c.order {
		if removed[id] || id == n.id {
			continue
		}
		for _, in := range c.nodes[id].inputs {
			if in.isLink && in.link.Node == n.id {
				return fmt.Errorf("node %q (%s): node %q input %q reads its output %d, "+
					"which nothing can replace", n.id, n.class, id, in.name, in.link.Output)
			}
		}
	}
	return nil
}

// insertLoras chains loras after the loader and re-points every former
// consumer of the loader's MODEL (and CLIP) output to the end of the chain.
// It fails when nothing consumes the MODEL output, since the chain would
// then be left dangling and change nothing.
func (c *Graph) insertLoras(idx consumerIndex, l *Loader, loras []Lora) error {
	model := Link{l.Node, l.ModelOutput}
	modelUsers := idx[model]
	if len(modelUsers) == 0 {
		return fmt.Errorf("node %q (%s): %s", l.Node, l.Class, modelUnused)
	}
	var clip Link
	var clipUsers []*input
	if l.CLIPOutput >= 0 {
		clip = Link{l.Node, l.CLIPOutput}
		clipUsers = idx[clip]
	}
	withClip := len(clipUsers) > 0 // the CLIP path after ReplaceLoras, too

	ids := c.newIDs(len(loras))
	for i, lr := range loras {
		n := &node{id: ids[i], class: classLoraModelOnly}
		if withClip {
			n.class = classLora
		}
		strength := formatFloat(lr.Strength)
		n.inputs = []input{
			{name: "lora_name", raw: quote(lr.Name)},
			{name: "strength_model", raw: strength},
		}
		if withClip {
			n.inputs = append(n.inputs, input{name: "strength_clip", raw: strength})
		}
		n.inputs = append(n.inputs, linkInput("model", model))
		if withClip {
			n.inputs = append(n.inputs, linkInput("clip", clip))
		}
		n.fields = []field{
			{key: "inputs"},
			{key: "class_type", raw: quote(n.class)},
			{key: "_meta", raw: fmt.Appendf(nil, `{"title":"LoRA %d (atelier)"}`, i+1)},
		}
		c.nodes[n.id] = n
		c.order = append(c.order, n.id)
		model, clip = Link{n.id, 0}, Link{n.id, 1}
	}
	for _, in := range modelUsers {
		in.point(model)
	}
	for _, in := range clipUsers {
		in.point(clip)
	}
	return nil
}

// modelUnused says why LoRAs cannot go after a loader whose MODEL output
// nothing reads.
const modelUnused = "the model loader's MODEL output is not used by any node; " +
	"the LoRA chain would have no effect"

func linkInput(name string, l Link) input {
	return input{name: name, raw: appendLink(nil, l), isLink: true, link: l}
}

// newIDs returns n unused node ids continuing the graph's numbering: one
// more than the largest numeric id, so "115:89"-style ids are left alone.
func (c *Graph) newIDs(n int) []string {
	var next uint64 = 1
	for _, id := range c.order {
		if v, err := strconv.ParseUint(id, 10, 64); err == nil && v >= next {
			next = v + 1
		}
	}
	ids := make([]string, 0, n)
	for len(ids) < n {
		id := strconv.FormatUint(next, 10)
		if next == 0 || next == math.MaxUint64 { // numbering exhausted
			id = fmt.Sprintf("atelier-lora-%d", len(ids)+1)
		}
		for c.nodes[id] != nil || slices.Contains(ids, id) {
			id += "-x"
		}
		ids = append(ids, id)
		next++
	}
	return ids
}

// scaleSplitSteps keeps a KSamplerAdvanced base/refiner split at the same
// fraction when the step count changes: with steps 25 → 12, a base ending at
// step 20 ends at 10 and the refiner starting at 20 starts at 10. Left as
// they were, a start past the new step count would skip the refiner. Values
// past the template's step count (10000, "to the end") stay as they are;
// values that are links are left alone.
func (c *Graph) scaleSplitSteps(targets []Target, steps int) {
	for _, t := range targets {
		n := c.nodes[t.Node]
		if n.class != "KSamplerAdvanced" || t.Input != "steps" {
			continue
		}
		old, ok := literalInt(n.input("steps"))
		if !ok || old <= 0 {
			continue
		}
		for _, name := range []string{"start_at_step", "end_at_step"} {
			in := n.input(name)
			v, ok := literalInt(in)
			if !ok || v <= 0 || v > old {
				continue
			}
			scaled := (v*int64(steps) + old/2) / old
			in.set(formatInt(scaled))
		}
	}
}

// literalInt reads an input holding a whole number.
func literalInt(in *input) (int64, bool) {
	if in == nil || in.isLink {
		return 0, false
	}
	v, err := strconv.ParseInt(string(in.raw), 10, 64)
	return v, err == nil
}
