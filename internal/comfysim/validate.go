package comfysim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// apiError is one error in ComfyUI's shape, at the top of a 400 answer or
// inside node_errors.
type apiError struct {
	Type      string         `json:"type"`
	Message   string         `json:"message"`
	Details   string         `json:"details"`
	ExtraInfo map[string]any `json:"extra_info"`
}

// nodeErrorEntry is one member of node_errors.
type nodeErrorEntry struct {
	Errors           []apiError `json:"errors"`
	DependentOutputs []string   `json:"dependent_outputs"`
	ClassType        string     `json:"class_type"`
}

// promptNode is one node of a submitted API-format graph.
type promptNode struct {
	id        string
	classType string
	class     *nodeClass
	title     string
	inputKeys []string
	inputs    map[string]json.RawMessage
}

// graph is a parsed prompt, its nodes in the order they were sent.
type graph struct {
	order []string
	nodes map[string]*promptNode
}

// parseGraph reads the "prompt" member. It fails, as ComfyUI does, with
// invalid_prompt for a node without class_type and missing_node_type for a
// class the server does not have.
func parseGraph(raw json.RawMessage) (*graph, *apiError) {
	keys, members, err := decodeOrdered(raw)
	if err != nil {
		return nil, &apiError{Type: "invalid_prompt",
			Message: "Cannot execute because the prompt is not a JSON object.",
			Details: err.Error(), ExtraInfo: map[string]any{}}
	}
	g := &graph{order: keys, nodes: make(map[string]*promptNode, len(keys))}
	for _, id := range keys {
		n, apiErr := parseNode(id, members[id])
		if apiErr != nil {
			return nil, apiErr
		}
		g.nodes[id] = n
	}
	return g, nil
}

func parseNode(id string, raw json.RawMessage) (*promptNode, *apiError) {
	missingClass := &apiError{Type: "invalid_prompt",
		Message: "Cannot execute because a node is missing the class_type property.",
		Details: fmt.Sprintf("Node ID '#%s'", id), ExtraInfo: map[string]any{}}
	_, members, err := decodeOrdered(raw)
	if err != nil {
		return nil, missingClass
	}
	var classType string
	if json.Unmarshal(members["class_type"], &classType) != nil || members["class_type"] == nil {
		return nil, missingClass
	}
	n := &promptNode{id: id, classType: classType, class: classes[classType],
		inputs: map[string]json.RawMessage{}}
	var meta struct {
		Title string `json:"title"`
	}
	if json.Unmarshal(members["_meta"], &meta) == nil {
		n.title = meta.Title
	}
	if raw := members["inputs"]; raw != nil && jsonKind(raw) == '{' {
		n.inputKeys, n.inputs, _ = decodeOrdered(raw)
	}
	if n.class == nil {
		title := n.title
		if title == "" {
			title = classType
		}
		return nil, &apiError{Type: "missing_node_type",
			Message:   fmt.Sprintf("Node '%s' not found. The custom node may not be installed.", classType),
			Details:   fmt.Sprintf("Node ID '#%s'", id),
			ExtraInfo: map[string]any{"node_id": id, "class_type": classType, "node_title": title}}
	}
	return n, nil
}

// linkRef is an input fed by another node's output.
type linkRef struct {
	node string
	slot int
}

// parseLink reads [node id, output index]. ok is false when raw is no list;
// err says why a list is not a usable link.
func parseLink(raw json.RawMessage) (l linkRef, ok bool, err error) {
	if jsonKind(raw) != '[' {
		return linkRef{}, false, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != 2 {
		return linkRef{}, true, errBadLink
	}
	if err := json.Unmarshal(parts[0], &l.node); err != nil {
		// ComfyUI looks the id up as given; a number is no key of the prompt.
		return linkRef{}, true, fmt.Errorf("%s", strings.TrimSpace(string(parts[0])))
	}
	if err := json.Unmarshal(parts[1], &l.slot); err != nil {
		return linkRef{}, true, fmt.Errorf("list indices must be integers or slices, not %s",
			pyTypeName(parts[1]))
	}
	return l, true, nil
}

var errBadLink = fmt.Errorf("bad linked input")

func pyTypeName(raw json.RawMessage) string {
	switch jsonKind(raw) {
	case '"':
		return "str"
	case '0':
		return "float"
	case '{':
		return "dict"
	case '[':
		return "list"
	case 't', 'f':
		return "bool"
	default:
		return "NoneType"
	}
}

// validationResult is the memo of one node, as validate_inputs keeps it.
type validationResult struct {
	ok      bool
	reasons []apiError
}

// validator checks a graph against the node classes and the inventory,
// mirroring ComfyUI's validate_prompt/validate_inputs.
type validator struct {
	g         *graph
	inv       *Inventory
	enc       ComboEncoding
	validated map[string]validationResult
	order     []string // validated ids in the order they were finished
	visiting  map[string]bool
}

// validatePrompt returns the outputs to run and node_errors, or the top-level
// error that makes ComfyUI refuse the prompt with 400.
func validatePrompt(g *graph, inv *Inventory, enc ComboEncoding) (
	good []string, nodeErrors map[string]*nodeErrorEntry, top *apiError) {
	var outputs []string
	for _, id := range g.order {
		if g.nodes[id].class.outputNode {
			outputs = append(outputs, id)
		}
	}
	if len(outputs) == 0 {
		return nil, map[string]*nodeErrorEntry{}, &apiError{Type: "prompt_no_outputs",
			Message: "Prompt has no outputs", Details: "", ExtraInfo: map[string]any{}}
	}
	v := &validator{g: g, inv: inv, enc: enc, validated: map[string]validationResult{},
		visiting: map[string]bool{}}
	nodeErrors = map[string]*nodeErrorEntry{}
	var failed []string
	for _, o := range outputs {
		if v.node(o) {
			good = append(good, o)
			continue
		}
		for _, r := range v.validated[o].reasons {
			failed = append(failed, r.Message+": "+r.Details)
		}
		// Like ComfyUI, every failed node validated so far is charged to
		// this output, whether or not the output depends on it.
		for _, id := range v.order {
			res := v.validated[id]
			if res.ok || len(res.reasons) == 0 {
				continue
			}
			e := nodeErrors[id]
			if e == nil {
				e = &nodeErrorEntry{Errors: res.reasons, DependentOutputs: []string{},
					ClassType: g.nodes[id].classType}
				nodeErrors[id] = e
			}
			e.DependentOutputs = append(e.DependentOutputs, o)
		}
	}
	if len(good) == 0 {
		return nil, nodeErrors, &apiError{Type: "prompt_outputs_failed_validation",
			Message: "Prompt outputs failed validation", Details: strings.Join(failed, "\n"),
			ExtraInfo: map[string]any{}}
	}
	return good, nodeErrors, nil
}

// node validates one node and everything upstream of it.
func (v *validator) node(id string) bool {
	if res, done := v.validated[id]; done {
		return res.ok
	}
	n := v.g.nodes[id]
	if v.visiting[id] {
		v.finish(id, validationResult{reasons: []apiError{{Type: "exception_during_validation",
			Message:   "Exception when validating node",
			Details:   fmt.Sprintf("dependency cycle through node '%s'", id),
			ExtraInfo: map[string]any{"exception_type": "RecursionError"}}}})
		return false
	}
	v.visiting[id] = true
	valid := true
	var reasons []apiError
	for _, in := range n.class.inputs {
		raw, present := n.inputs[in.name]
		if !present {
			if !in.optional {
				reasons = append(reasons, apiError{Type: "required_input_missing",
					Message: "Required input is missing", Details: in.name,
					ExtraInfo: map[string]any{"input_name": in.name}})
			}
			continue
		}
		l, isLink, err := parseLink(raw)
		if isLink {
			ok, r := v.checkLink(in, raw, l, err)
			valid = valid && ok
			reasons = append(reasons, r...)
			continue
		}
		if e := v.checkLiteral(in, raw); e != nil {
			reasons = append(reasons, *e)
		}
	}
	delete(v.visiting, id)
	if _, done := v.validated[id]; done { // a cycle came back here
		return false
	}
	v.finish(id, validationResult{ok: valid && len(reasons) == 0, reasons: reasons})
	return v.validated[id].ok
}

func (v *validator) finish(id string, r validationResult) {
	if _, done := v.validated[id]; !done {
		v.order = append(v.order, id)
	}
	v.validated[id] = r
}

// checkLink validates a linked input: its shape, the source's output type,
// and the source node itself (whose errors are reported on the source).
func (v *validator) checkLink(in inputSpec, raw json.RawMessage, l linkRef, err error) (
	bool, []apiError) {
	config := in.describe(v.inv, v.enc)
	received, _ := decodeAny(raw)
	if err == errBadLink {
		return false, []apiError{{Type: "bad_linked_input",
			Message: "Bad linked input, must be a length-2 list of [node_id, slot_index]",
			Details: in.name, ExtraInfo: map[string]any{"input_name": in.name,
				"input_config": config, "received_value": received}}}
	}
	src := v.g.nodes[l.node]
	switch {
	case err == nil && src == nil:
		err = fmt.Errorf("'%s'", l.node)
	case err == nil && (l.slot < 0 || l.slot >= len(src.class.outputs)):
		err = fmt.Errorf("tuple index out of range")
	}
	if err != nil {
		return false, []apiError{{Type: "exception_during_inner_validation",
			Message: "Exception when validating inner node", Details: err.Error(),
			ExtraInfo: map[string]any{"input_name": in.name, "input_config": config,
				"exception_message": err.Error(), "exception_type": "KeyError",
				"traceback": []string{}, "linked_node": received}}}
	}
	got := src.class.outputs[l.slot]
	if !typesMatch(got, in.typ) {
		return false, []apiError{{Type: "return_type_mismatch",
			Message: "Return type mismatch between linked nodes",
			Details: fmt.Sprintf("%s, received_type(%s) mismatch input_type(%s)", in.name, got, in.typ),
			ExtraInfo: map[string]any{"input_name": in.name, "input_config": config,
				"received_type": got, "linked_node": received}}}
	}
	return v.node(l.node), nil
}

func typesMatch(received, want string) bool {
	if received == want || received == "*" || want == "*" {
		return true
	}
	if want == typeCombo {
		return received == typeString
	}
	return false
}

// checkLiteral converts a literal as ComfyUI does (int(), float(), str())
// and checks min, max and combo options; step is not checked, as in ComfyUI.
func (v *validator) checkLiteral(in inputSpec, raw json.RawMessage) *apiError {
	val, err := decodeAny(raw)
	if err != nil {
		val = string(raw)
	}
	config := in.describe(v.inv, v.enc)
	switch in.typ {
	case typeInt, typeFloat:
		num, err := toNumber(val, in.typ == typeInt)
		if err != nil {
			return &apiError{Type: "invalid_input_type",
				Message: fmt.Sprintf("Failed to convert an input value to a %s value", in.typ),
				Details: fmt.Sprintf("%s, %s, %s", in.name, pyStr(val), err),
				ExtraInfo: map[string]any{"input_name": in.name, "input_config": config,
					"received_value": val, "exception_message": err.Error()}}
		}
		return checkRange(in, num, config)
	case typeCombo:
		opts := in.options(v.inv)
		s, isString := val.(string)
		if isString && contains(opts, s) {
			return nil
		}
		listInfo, inputConfig := pyRepr(opts), any(config)
		if len(opts) > 20 {
			listInfo, inputConfig = fmt.Sprintf("(list of length %d)", len(opts)), nil
		}
		return &apiError{Type: "value_not_in_list", Message: "Value not in list",
			Details: fmt.Sprintf("%s: '%s' not in %s", in.name, pyStr(val), listInfo),
			ExtraInfo: map[string]any{"input_name": in.name, "input_config": inputConfig,
				"received_value": val}}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pyStr is Python's str() of a decoded JSON value (no quotes for strings).
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// number is a converted INT or FLOAT value.
type number struct {
	f     *big.Float
	isInt bool
}

func (n number) String() string {
	if n.isInt {
		i, _ := n.f.Int(nil)
		return i.String()
	}
	return pyFloat(n.f)
}

func (n number) int64() int64 {
	i, _ := n.f.Int(nil)
	if !i.IsInt64() {
		if i.Sign() < 0 {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	return i.Int64()
}

func (n number) float64() float64 {
	f, _ := n.f.Float64()
	return f
}

// toNumber mimics Python's int(val) / float(val) on a decoded JSON value.
func toNumber(val any, isInt bool) (number, error) {
	f := new(big.Float).SetPrec(256)
	switch x := val.(type) {
	case json.Number:
		if _, ok := f.SetString(string(x)); !ok {
			return number{}, fmt.Errorf("could not convert %s", x)
		}
	case bool:
		if x {
			f.SetInt64(1)
		}
	case string:
		s := strings.TrimSpace(x)
		if isInt {
			i, ok := new(big.Int).SetString(s, 10)
			if !ok {
				return number{}, fmt.Errorf("invalid literal for int() with base 10: %s", pyQuote(x))
			}
			f.SetInt(i)
		} else if _, ok := f.SetString(s); !ok {
			return number{}, fmt.Errorf("could not convert string to float: %s", pyQuote(x))
		}
	case nil:
		kind := "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'"
		if !isInt {
			kind = "float() argument must be a string or a real number, not 'NoneType'"
		}
		return number{}, fmt.Errorf("%s", kind)
	default:
		return number{}, fmt.Errorf("argument must be a string or a real number, not 'dict'")
	}
	if isInt && !f.IsInt() {
		i, _ := f.Int(nil) // int() truncates toward zero
		f.SetInt(i)
	}
	return number{f: f, isInt: isInt}, nil
}

func checkRange(in inputSpec, n number, config []any) *apiError {
	extra := func() map[string]any {
		return map[string]any{"input_name": in.name, "input_config": config,
			"received_value": json.Number(n.String())}
	}
	if in.min != "" {
		lo, _ := new(big.Float).SetPrec(256).SetString(string(in.min))
		if n.f.Cmp(lo) < 0 {
			return &apiError{Type: "value_smaller_than_min",
				Message: fmt.Sprintf("Value %s smaller than min of %s", n, in.min),
				Details: in.name, ExtraInfo: extra()}
		}
	}
	if in.max != "" {
		hi, _ := new(big.Float).SetPrec(256).SetString(string(in.max))
		if n.f.Cmp(hi) > 0 {
			return &apiError{Type: "value_bigger_than_max",
				Message: fmt.Sprintf("Value %s bigger than max of %s", n, in.max),
				Details: in.name, ExtraInfo: extra()}
		}
	}
	return nil
}
