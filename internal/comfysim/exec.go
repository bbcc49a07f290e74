package comfysim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// maxBatchPixels bounds what one SaveImage may draw, so a request for a
// 16384×16384 batch of 64 answers like a GPU that runs out of memory instead
// of taking the simulator's host down.
const maxBatchPixels = 48 << 20

// Causes that end a running prompt.
var (
	errInterrupted = errors.New("interrupted")
	errRestarted   = errors.New("server restarted")
	errClosed      = errors.New("server closed")
)

// job is one accepted prompt, queued or running.
type job struct {
	number    float64
	seq       int
	id        string
	clientID  string
	raw       json.RawMessage
	extraData map[string]any
	g         *graph
	outputs   []string
	gen       int
	ctx       context.Context
	cancel    context.CancelCauseFunc
}

// queueItem is the five-element list ComfyUI shows in /queue and history.
func (j *job) queueItem() []any {
	return []any{j.number, j.id, j.raw, j.extraData, j.outputs}
}

// value is what flows along a link while the simulator "executes" a graph.
type value struct {
	typ   string
	sig   string
	w, h  int
	batch int
	steps int
	prim  any
}

// nodeFailure is an exception raised while running a node.
type nodeFailure struct {
	excType string
	message string
}

func (f *nodeFailure) Error() string { return f.excType + ": " + f.message }

// runState is the execution of one job.
type runState struct {
	s        *Server
	j        *job
	values   map[string][]value
	sigs     map[string]string
	executed []string
	outputs  map[string]json.RawMessage
	messages [][2]any
}

// execute runs a job and writes its history, sending the events in ComfyUI's
// order: execution_start, execution_cached, then per node executing,
// progress and executed, then execution_success (or _error/_interrupted),
// then the history entry, then executing with node null.
func (s *Server) execute(j *job) {
	order := executionOrder(j.g, j.outputs)
	rs := &runState{s: s, j: j, values: map[string][]value{}, sigs: map[string]string{},
		outputs: map[string]json.RawMessage{}}
	for _, id := range order {
		rs.sigs[id] = rs.signature(id)
	}
	cache := s.cacheSnapshot()
	var cached []string
	for _, id := range order {
		if _, ok := cache[rs.sigs[id]]; ok {
			cached = append(cached, id)
		}
	}
	rs.event("execution_start", object{{"prompt_id", j.id}, {"timestamp", nowMillis()}}, true)
	rs.event("execution_cached", object{{"nodes", orEmptyList(cached)}, {"prompt_id", j.id},
		{"timestamp", nowMillis()}}, true)
	var failedNode string
	var err error
	for _, id := range order {
		if c, ok := cache[rs.sigs[id]]; ok {
			rs.useCached(id, c)
			continue
		}
		if err = rs.runNode(id); err != nil {
			failedNode = id
			break
		}
		rs.executed = append(rs.executed, id)
	}
	if cause := context.Cause(j.ctx); errors.Is(cause, errRestarted) || errors.Is(cause, errClosed) {
		return // a restarted server forgets the job: no event, no history
	}
	s.storeCache(rs, order)
	rs.finish(failedNode, err)
}

// finish sends the terminal event, writes history, then executing null.
func (rs *runState) finish(failedNode string, err error) {
	j := rs.j
	status := "success"
	switch {
	case err == nil:
		rs.event("execution_success", object{{"prompt_id", j.id}, {"timestamp", nowMillis()}}, true)
	case errors.Is(err, errInterrupted):
		status = "error"
		n := j.g.nodes[failedNode]
		rs.event("execution_interrupted", object{{"prompt_id", j.id}, {"node_id", failedNode},
			{"node_type", n.classType}, {"executed", orEmptyList(rs.executed)},
			{"timestamp", nowMillis()}}, true)
	default:
		status = "error"
		rs.event("execution_error", rs.errorData(failedNode, err), true)
	}
	entry := historyEntry{
		Prompt:  j.queueItem(),
		Outputs: rs.outputs,
		Status: historyStatus{StatusStr: status, Completed: err == nil,
			Messages: rs.messages},
		Meta: rs.meta(),
	}
	if !rs.s.writeHistory(j, entry) {
		return
	}
	rs.event("executing", object{{"node", nil}, {"prompt_id", j.id}}, false)
}

func (rs *runState) errorData(nodeID string, err error) object {
	f := &nodeFailure{excType: "Exception", message: err.Error()}
	errors.As(err, &f)
	n := rs.j.g.nodes[nodeID]
	return object{{"prompt_id", rs.j.id}, {"node_id", nodeID}, {"node_type", n.classType},
		{"executed", orEmptyList(rs.executed)}, {"exception_message", f.message},
		{"exception_type", f.excType}, {"traceback", []string{}},
		{"current_inputs", map[string]any{}}, {"current_outputs", map[string]any{}},
		{"timestamp", nowMillis()}}
}

// meta is the history "meta" member: one entry per node with UI output.
func (rs *runState) meta() map[string]any {
	m := map[string]any{}
	for id := range rs.outputs {
		m[id] = object{{"node_id", id}, {"display_node", id}, {"parent_node", nil},
			{"real_node_id", id}}
	}
	return m
}

// event sends a per-prompt event; recorded ones also go into the history's
// status messages, as ComfyUI records its execution_* events.
func (rs *runState) event(typ string, data object, record bool) {
	if record {
		rs.messages = append(rs.messages, [2]any{typ, data})
	}
	rs.s.sendFor(rs.j, typ, data)
}

// useCached replays a node served from the cache: no executing event, but
// an output node still reports its (old) files.
func (rs *runState) useCached(id string, c cacheEntry) {
	rs.values[id] = c.values
	if c.ui != nil {
		rs.outputs[id] = c.ui
		rs.event("executed", object{{"node", id}, {"display_node", id}, {"output", c.ui},
			{"prompt_id", rs.j.id}}, false)
	}
}

// executionOrder lists the nodes the outputs need, each after its inputs.
func executionOrder(g *graph, outputs []string) []string {
	var order []string
	seen := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		n := g.nodes[id]
		for _, in := range n.class.inputs {
			if l, ok, err := parseLink(n.inputs[in.name]); ok && err == nil {
				visit(l.node)
			}
		}
		order = append(order, id)
	}
	for _, o := range outputs {
		visit(o)
	}
	return order
}

// signature identifies a node by its class, literal inputs and the
// signatures of its inputs, like ComfyUI's cache key.
func (rs *runState) signature(id string) string {
	n := rs.j.g.nodes[id]
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", n.classType)
	for _, in := range n.class.inputs {
		raw, ok := n.inputs[in.name]
		if !ok {
			continue
		}
		fmt.Fprintf(h, "%s=", in.name)
		if l, isLink, err := parseLink(raw); isLink && err == nil {
			fmt.Fprintf(h, "link:%s:%d\x00", rs.sigs[l.node], l.slot)
			continue
		}
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			buf.Write(raw)
		}
		h.Write(buf.Bytes())
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// inputs resolves a node's inputs: links to upstream values, literals to
// converted Go values.
func (rs *runState) inputs(n *promptNode) (map[string]value, error) {
	out := map[string]value{}
	for _, in := range n.class.inputs {
		raw, ok := n.inputs[in.name]
		if !ok {
			continue
		}
		if l, isLink, _ := parseLink(raw); isLink {
			out[in.name] = rs.values[l.node][l.slot]
			continue
		}
		switch in.typ {
		case typeInt, typeFloat:
			v, _ := decodeAny(raw)
			num, _ := toNumber(v, in.typ == typeInt)
			out[in.name] = value{typ: in.typ, prim: num}
		case typeString, typeCombo, typeBoolean:
			v, _ := decodeAny(raw)
			out[in.name] = value{typ: in.typ, prim: v}
		default:
			// ComfyUI's validation lets a literal through here and the node
			// then fails when it runs.
			return nil, &nodeFailure{excType: "AttributeError",
				message: fmt.Sprintf("input '%s' needs a link to a %s output, got a literal value",
					in.name, in.typ)}
		}
	}
	return out, nil
}

// runNode executes one node: samplers report progress per step, output
// nodes draw and store images.
func (rs *runState) runNode(id string) error {
	n := rs.j.g.nodes[id]
	rs.event("executing", object{{"node", id}, {"display_node", id}, {"prompt_id", rs.j.id}}, false)
	if err := context.Cause(rs.j.ctx); err != nil {
		return err
	}
	in, err := rs.inputs(n)
	if err != nil {
		return err
	}
	sig := rs.sigs[id]
	var out []value
	switch n.classType {
	case "EmptyLatentImage", "EmptySD3LatentImage":
		out = []value{{typ: "LATENT", sig: sig, w: intOf(in["width"]) / 8 * 8,
			h: intOf(in["height"]) / 8 * 8, batch: intOf(in["batch_size"])}}
	case "KSampler", "KSamplerAdvanced", "SamplerCustomAdvanced":
		out, err = rs.sample(id, n, in)
	case "BasicScheduler":
		out = []value{{typ: "SIGMAS", sig: sig, steps: intOf(in["steps"])}}
	case "SaveImage", "PreviewImage":
		err = rs.save(id, n, in)
	case "PrimitiveInt", "PrimitiveFloat", "PrimitiveString", "PrimitiveBoolean":
		out = []value{{typ: n.class.outputs[0], sig: sig, prim: in["value"].prim}}
	default:
		out = genericOutputs(n.class, sig, in)
	}
	if err != nil {
		return err
	}
	rs.values[id] = out
	return nil
}

// genericOutputs gives every output a signature, and passes the size of a
// latent or image input on (VAEDecode turns a LATENT into an IMAGE of the
// same size).
func genericOutputs(c *nodeClass, sig string, in map[string]value) []value {
	var src value
	for _, spec := range c.inputs {
		if v := in[spec.name]; v.typ == "LATENT" || v.typ == "IMAGE" {
			src = v
			break
		}
	}
	out := make([]value, len(c.outputs))
	for i, t := range c.outputs {
		out[i] = value{typ: t, sig: fmt.Sprintf("%s/%d", sig, i), w: src.w, h: src.h, batch: src.batch}
	}
	return out
}

func intOf(v value) int {
	if n, ok := v.prim.(number); ok {
		return int(n.int64())
	}
	return 0
}

// sample runs a sampler: one progress event per step, each after the
// configured delay, stopping at an interrupt.
func (rs *runState) sample(id string, n *promptNode, in map[string]value) ([]value, error) {
	steps := intOf(in["steps"])
	switch n.classType {
	case "KSamplerAdvanced":
		steps = min(steps, intOf(in["end_at_step"])) - intOf(in["start_at_step"])
	case "SamplerCustomAdvanced":
		steps = in["sigmas"].steps
	}
	if rs.s.currentFaults().FailExecution {
		return nil, &nodeFailure{excType: "RuntimeError",
			message: "simulated failure (comfysim fault fail_execution is on)"}
	}
	for step := 1; step <= steps; step++ {
		if err := rs.s.stepWait(rs.j.ctx); err != nil {
			return nil, err
		}
		rs.event("progress", object{{"value", step}, {"max", steps}, {"prompt_id", rs.j.id},
			{"node", id}}, false)
	}
	lat := in["latent_image"]
	sig := rs.sigs[id]
	out := []value{{typ: "LATENT", sig: sig, w: lat.w, h: lat.h, batch: lat.batch}}
	if n.classType == "SamplerCustomAdvanced" {
		out = append(out, value{typ: "LATENT", sig: sig + "/1", w: lat.w, h: lat.h, batch: lat.batch})
	}
	return out, nil
}

// save draws one PNG per image of the batch and stores it under the
// filename_prefix (SaveImage) or a random temp name (PreviewImage).
func (rs *runState) save(id string, n *promptNode, in map[string]value) error {
	img := in["images"]
	if img.w*img.h*max(img.batch, 1) > maxBatchPixels {
		return &nodeFailure{excType: "torch.OutOfMemoryError", message: fmt.Sprintf(
			"Allocation on device: %d images of %dx%d do not fit (simulated limit %d pixels)",
			img.batch, img.w, img.h, maxBatchPixels)}
	}
	typ, prefix := "output", "ComfyUI"
	if n.classType == "PreviewImage" {
		typ, prefix = "temp", "ComfyUI_temp_"+randomLetters(5)
	} else if p, ok := in["filename_prefix"].prim.(string); ok {
		prefix = p
	}
	subfolder, base, err := splitPrefix(prefix, img.w, img.h)
	if err != nil {
		return &nodeFailure{excType: "Exception", message: err.Error()}
	}
	counter, err := nextCounter(rs.s.files, typ, subfolder, base)
	if err != nil {
		return &nodeFailure{excType: "OSError", message: err.Error()}
	}
	var images []any
	for b := range img.batch {
		data, err := renderPNG(img.w, img.h, imageKey(img.sig, b))
		if err != nil {
			return &nodeFailure{excType: "OSError", message: err.Error()}
		}
		name := fmt.Sprintf("%s_%05d_.png", base, counter)
		if err := rs.s.files.put(typ, subfolder, name, data); err != nil {
			return &nodeFailure{excType: "OSError", message: err.Error()}
		}
		counter++
		images = append(images, object{{"filename", name}, {"subfolder", subfolder}, {"type", typ}})
	}
	// TODO: ComfyUI embeds the prompt and workflow as PNG text chunks; these
	// images carry none, so a test cannot read a graph back from a picture.
	ui, _ := json.Marshal(object{{"images", images}})
	rs.outputs[id] = ui
	rs.values[id] = nil
	rs.event("executed", object{{"node", id}, {"display_node", id}, {"output", json.RawMessage(ui)},
		{"prompt_id", rs.j.id}}, false)
	return nil
}

func randomLetters(n int) string {
	const letters = "abcdefghijklmnopqrstupvxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// cacheEntry is what the simulator keeps of a node it ran, to serve the same
// node again from the cache as ComfyUI does.
type cacheEntry struct {
	values []value
	ui     json.RawMessage
}

// storeCache keeps the nodes of this prompt that completed, replacing the
// previous prompt's, like ComfyUI's default cache.
func (s *Server) storeCache(rs *runState, order []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs.j.gen != s.gen {
		return
	}
	next := map[string]cacheEntry{}
	for _, id := range order {
		vals, ran := rs.values[id]
		if !ran {
			continue
		}
		next[rs.sigs[id]] = cacheEntry{values: vals, ui: rs.outputs[id]}
	}
	s.cache = next
}

func (s *Server) cacheSnapshot() map[string]cacheEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache
}

// stepWait sleeps one step's delay, or returns the cause that stopped the job.
func (s *Server) stepWait(ctx context.Context) error {
	s.mu.Lock()
	d := s.stepDelay
	s.mu.Unlock()
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// historyEntry is one member of GET /history/{id}.
type historyEntry struct {
	Prompt  []any                      `json:"prompt"`
	Outputs map[string]json.RawMessage `json:"outputs"`
	Status  historyStatus              `json:"status"`
	Meta    map[string]any             `json:"meta"`
}

type historyStatus struct {
	StatusStr string   `json:"status_str"`
	Completed bool     `json:"completed"`
	Messages  [][2]any `json:"messages"`
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// sortPending orders the queue as ComfyUI's heap does: by number, then by
// arrival.
func sortPending(q []*job) {
	slices.SortStableFunc(q, func(a, b *job) int {
		switch {
		case a.number < b.number:
			return -1
		case a.number > b.number:
			return 1
		default:
			return a.seq - b.seq
		}
	})
}
