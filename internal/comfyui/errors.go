package comfyui

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrNoHistory is History's answer while ComfyUI has no entry for a
	// prompt: unknown, queued, running, or forgotten by a restart.
	ErrNoHistory = errors.New("no history entry yet")
	// ErrImageNotFound is OpenImage's answer to a 404 from /view.
	ErrImageNotFound = errors.New("image not found")
	// ErrLost marks a job its backend no longer knows: not in history and
	// not in the queue for longer than Options.LostAfter (usually a restart).
	ErrLost = errors.New("job lost by ComfyUI")
	// ErrBackendGone marks a job whose backend stopped answering while it
	// ran, for longer than Options.UnreachableAfter.
	ErrBackendGone = errors.New("ComfyUI backend stopped answering")
	// ErrInterrupted marks a job stopped on the server by someone else.
	ErrInterrupted = errors.New("job interrupted on ComfyUI")
	// ErrPoolClosed ends the jobs still followed when the pool closes.
	ErrPoolClosed = errors.New("comfyui pool closed")
)

// NodeError is one validation error ComfyUI reported on a node.
type NodeError struct {
	NodeID    string
	ClassType string
	Type      string // value_not_in_list, required_input_missing, ...
	Message   string
	Details   string
	InputName string
	// Received is the refused value as text (a string as it is, anything
	// else as JSON).
	Received string
}

// Missing returns the file a loader could not find when the error is a
// value_not_in_list on a loader's file input.
func (e NodeError) Missing() (MissingFile, bool) {
	if e.Type != "value_not_in_list" {
		return MissingFile{}, false
	}
	kind, ok := kindOfInput(e.InputName)
	if !ok {
		return MissingFile{}, false
	}
	return MissingFile{Kind: kind, Name: e.Received}, true
}

// explain says what went wrong in words a user understands, naming the
// node, its class, the input and the value.
func (e NodeError) explain(backend string) string {
	if m, ok := e.Missing(); ok {
		return m.notOn(backend)
	}
	where := fmt.Sprintf("node %s (%s)", e.NodeID, e.ClassType)
	switch e.Type {
	case "required_input_missing":
		return fmt.Sprintf("%s: required input %q is missing", where, e.InputName)
	case "value_not_in_list":
		return fmt.Sprintf("%s: %s %q is not one of the values ComfyUI allows", where, e.InputName, e.Received)
	case "value_smaller_than_min", "value_bigger_than_max", "invalid_input_type":
		return fmt.Sprintf("%s, input %q: %s", where, e.InputName, e.Message)
	}
	msg := e.Message
	if e.Details != "" {
		msg += ": " + e.Details
	}
	if e.InputName != "" {
		return fmt.Sprintf("%s, input %q: %s", where, e.InputName, msg)
	}
	return where + ": " + msg
}

// parseNodeErrors reads node_errors, which is an object of nodes (a list,
// empty, in the 2024 shape).
func parseNodeErrors(raw json.RawMessage) []NodeError {
	var nodes map[string]struct {
		Errors []struct {
			Type      string `json:"type"`
			Message   string `json:"message"`
			Details   string `json:"details"`
			ExtraInfo struct {
				InputName     string          `json:"input_name"`
				ReceivedValue json.RawMessage `json:"received_value"`
			} `json:"extra_info"`
		} `json:"errors"`
		ClassType string `json:"class_type"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &nodes) != nil {
		return nil
	}
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if numericLess(a, b) {
			return -1
		}
		if numericLess(b, a) {
			return 1
		}
		return 0
	})
	var out []NodeError
	for _, id := range ids {
		n := nodes[id]
		for _, e := range n.Errors {
			out = append(out, NodeError{NodeID: id, ClassType: n.ClassType, Type: e.Type,
				Message: e.Message, Details: e.Details, InputName: e.ExtraInfo.InputName,
				Received: valueText(e.ExtraInfo.ReceivedValue)})
		}
	}
	return out
}

func valueText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// SubmitError is ComfyUI refusing a workflow: a 400 (either shape), or a 200
// whose node_errors show that some outputs were dropped (Partial).
type SubmitError struct {
	Backend    string
	StatusCode int
	// Type is the top-level error type (no_prompt, invalid_prompt,
	// missing_node_type, prompt_no_outputs, prompt_outputs_failed_validation,
	// ...); empty for the 2024 string shape and for Partial.
	Type       string
	Message    string
	Details    string
	NodeErrors []NodeError
	// Partial is set when ComfyUI accepted the prompt but dropped outputs;
	// the pool has removed the prompt again.
	Partial bool
}

// Error explains the refusal for a user: missing files as "LoRA 'x' is not
// installed on <backend>", other node errors with node, class and input.
func (e *SubmitError) Error() string {
	if len(e.NodeErrors) > 0 {
		var msgs []string
		allMissing := true
		for _, ne := range e.NodeErrors {
			msgs = append(msgs, ne.explain(e.Backend))
			_, missing := ne.Missing()
			allMissing = allMissing && missing
		}
		msgs = slices.Compact(msgs)
		text := strings.Join(msgs, "; ")
		switch {
		case allMissing:
			return text
		case e.Partial:
			return fmt.Sprintf("ComfyUI at %s dropped outputs of the workflow: %s", e.Backend, text)
		default:
			return fmt.Sprintf("ComfyUI at %s rejected the workflow: %s", e.Backend, text)
		}
	}
	switch e.Type {
	case "no_prompt":
		return fmt.Sprintf("ComfyUI at %s received no prompt: %s", e.Backend, e.Message)
	case "prompt_no_outputs":
		return fmt.Sprintf("the workflow has no output node such as SaveImage, "+
			"so ComfyUI at %s has nothing to run", e.Backend)
	case "missing_node_type":
		return fmt.Sprintf("ComfyUI at %s: %s (%s)", e.Backend, e.Message, e.Details)
	}
	msg := e.Message
	if e.Details != "" {
		msg += ": " + e.Details
	}
	return fmt.Sprintf("ComfyUI at %s rejected the workflow: %s", e.Backend, msg)
}

// MissingFiles lists the model files ComfyUI said it does not have.
func (e *SubmitError) MissingFiles() []MissingFile {
	var out []MissingFile
	for _, ne := range e.NodeErrors {
		if m, ok := ne.Missing(); ok {
			out = append(out, m)
		}
	}
	return out
}

// HTTPError is an answer ComfyUI gave outside its JSON error shapes, such as
// a 500 with aiohttp's text body.
type HTTPError struct {
	Backend    string
	StatusCode int
	Body       string
}

func (e *HTTPError) Error() string {
	body := strings.Join(strings.Fields(e.Body), " ")
	if body == "" {
		return fmt.Sprintf("ComfyUI at %s answered HTTP %d", e.Backend, e.StatusCode)
	}
	return fmt.Sprintf("ComfyUI at %s answered HTTP %d: %s", e.Backend, e.StatusCode, truncate(body, 300))
}

// UnreachableError is a request that got no HTTP answer at all.
type UnreachableError struct {
	Backend string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("ComfyUI at %s is unreachable: %v", e.Backend, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ExecutionError is a node that raised while ComfyUI ran the job.
type ExecutionError struct {
	Backend       string
	NodeID        string
	NodeType      string
	ExceptionType string
	Message       string
}

func (e *ExecutionError) Error() string {
	return fmt.Sprintf("node %s (%s) failed on ComfyUI at %s: %s: %s",
		e.NodeID, e.NodeType, e.Backend, e.ExceptionType, strings.TrimSpace(e.Message))
}

// MissingFile is a model file a backend does not have.
type MissingFile struct {
	Kind Kind
	Name string
}

func (m MissingFile) notOn(backend string) string {
	return fmt.Sprintf("%s '%s' is not installed on %s", m.Kind.label(), m.Name, backend)
}

// BackendProblem says why one backend cannot take a job.
type BackendProblem struct {
	Backend string
	// Down is set when the backend failed its last health check.
	Down   bool
	Reason string
	// Missing lists the files the job needs that the backend lacks.
	Missing []MissingFile
}

func (p BackendProblem) String() string {
	if p.Down {
		return fmt.Sprintf("ComfyUI at %s is down (%s)", p.Backend, p.Reason)
	}
	if len(p.Missing) == 0 {
		return fmt.Sprintf("ComfyUI at %s cannot take the job (%s)", p.Backend, p.Reason)
	}
	parts := make([]string, len(p.Missing))
	for i, m := range p.Missing {
		parts[i] = m.notOn(p.Backend)
	}
	return strings.Join(parts, "; ")
}

// UnavailableError says that no backend can run a job, and why for each
// one. The main service answers it with 503.
type UnavailableError struct {
	Problems []BackendProblem
}

func (e *UnavailableError) Error() string {
	if len(e.Problems) == 0 {
		return "no ComfyUI backend is configured"
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "no ComfyUI backend can run this job: " + strings.Join(parts, "; ")
}

// Missing lists every file missing on some backend, once.
func (e *UnavailableError) Missing() []MissingFile {
	var out []MissingFile
	for _, p := range e.Problems {
		for _, m := range p.Missing {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}
