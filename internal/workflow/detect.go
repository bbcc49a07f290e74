package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Format is the layout of a workflow file.
type Format string

// The formats Detect tells apart.
const (
	// FormatAPI is ComfyUI's API ("prompt") format: an object of nodes keyed by id.
	FormatAPI Format = "api"
	// FormatUI is the editor's format that Save writes and PNGs embed: a
	// nodes array, a links array and layout data.
	FormatUI Format = "ui"
	// FormatUnknown is anything else.
	FormatUnknown Format = "unknown"
)

// ErrUIFormat is returned for a UI-format workflow, which ComfyUI cannot run
// without converting it through a live server's node definitions.
var ErrUIFormat = errors.New("the workflow is in ComfyUI's UI format, not API format")

// ErrUnknownFormat is returned for JSON that is no ComfyUI workflow.
var ErrUnknownFormat = errors.New("not a ComfyUI workflow")

// exportHint tells an operator how to get an API-format file.
const exportHint = `open it in ComfyUI and save it with Workflow > Export (API) ` +
	`(older versions: enable dev mode in the settings, then "Save (API Format)")`

// maxEnvelopeDepth bounds how many envelopes Detect unwraps, so that a
// hostile file cannot make it recurse without end.
const maxEnvelopeDepth = 4

// Detect classifies data and, for API format (bare, or inside an envelope
// {"prompt": …} or {"input": {"workflow": …}}, where the inner graph may also
// be a JSON string), returns the unwrapped API graph bytes. For FormatUI it
// returns no bytes and no error. For data that is not JSON, or JSON of no
// known shape, it returns FormatUnknown and an error saying why. Data that is
// not valid UTF-8 is refused with the place of the first bad byte, rather
// than read with U+FFFD in its place as encoding/json would.
func Detect(data []byte) (Format, []byte, error) {
	if err := checkUTF8(data); err != nil {
		return FormatUnknown, nil, err
	}
	return detect(data, 0)
}

// checkUTF8 reports the first invalid UTF-8 byte of data: its offset from 0,
// and its line and column (in characters) counted from 1.
func checkUTF8(data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	off := 0
	for off < len(data) {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		off += size
	}
	line := bytes.Count(data[:off], []byte("\n")) + 1
	col := utf8.RuneCount(data[bytes.LastIndexByte(data[:off], '\n')+1:off]) + 1
	return fmt.Errorf("reading workflow JSON: invalid UTF-8 byte 0x%02x at byte offset %d "+
		"(line %d, column %d); save the file as UTF-8", data[off], off, line, col)
}

func detect(data []byte, depth int) (Format, []byte, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v) // for the position of the syntax error
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return FormatUnknown, nil, fmt.Errorf("reading workflow JSON: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return FormatUnknown, nil, fmt.Errorf("%w: the top level is %s, not an object",
			ErrUnknownFormat, kindOf(data))
	}
	if len(top) == 0 {
		return FormatUnknown, nil, fmt.Errorf("%w: the object is empty", ErrUnknownFormat)
	}
	if looksUI(top) {
		return FormatUI, nil, nil
	}
	nodes := 0
	for _, v := range top {
		if isNodeObject(v) {
			nodes++
		}
	}
	if nodes == len(top) {
		return FormatAPI, data, nil
	}
	if depth < maxEnvelopeDepth {
		if inner, ok := envelopeContent(top); ok {
			return detect(inner, depth+1)
		}
	}
	if nodes > 0 {
		// Mostly nodes: API format with broken entries, which Parse reports.
		return FormatAPI, data, nil
	}
	return FormatUnknown, nil, fmt.Errorf("%w: no node has a class_type, and there is no "+
		`"nodes" array or {"prompt": …} envelope`, ErrUnknownFormat)
}

// looksUI reports whether top has the UI format's signature: a nodes array,
// or a links array beside last_node_id. An API graph cannot hold an array
// under any key, since its values are node objects.
func looksUI(top map[string]json.RawMessage) bool {
	if isArray(top["nodes"]) {
		return true
	}
	_, hasLast := top["last_node_id"]
	return hasLast && isArray(top["links"])
}

// envelopeContent returns the graph inside {"prompt": X} or
// {"input": {"workflow": X}}; X may be a JSON string holding the graph.
func envelopeContent(top map[string]json.RawMessage) ([]byte, bool) {
	if p, ok := top["prompt"]; ok {
		return unquoteGraph(p)
	}
	in, ok := top["input"]
	if !ok {
		return nil, false
	}
	var input map[string]json.RawMessage
	if json.Unmarshal(in, &input) != nil {
		return nil, false
	}
	if w, ok := input["workflow"]; ok {
		return unquoteGraph(w)
	}
	return nil, false
}

// unquoteGraph returns raw itself when it is an object, or the text of a
// JSON string (APIs such as Replicate's take the workflow as a string).
func unquoteGraph(raw json.RawMessage) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	switch raw[0] {
	case '{':
		return raw, true
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		inner := bytes.TrimSpace([]byte(s))
		return inner, len(inner) > 0 && inner[0] == '{'
	}
	return nil, false
}

// isNodeObject reports whether raw is an object with a string class_type.
func isNodeObject(raw json.RawMessage) bool {
	var n struct {
		ClassType json.RawMessage `json:"class_type"`
	}
	if json.Unmarshal(raw, &n) != nil {
		return false
	}
	ct := bytes.TrimSpace(n.ClassType)
	return len(ct) > 0 && ct[0] == '"'
}

func isArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '['
}
