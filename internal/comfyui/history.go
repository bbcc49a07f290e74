package comfyui

import (
	"encoding/json"
	"fmt"
	"slices"
)

// ImageRef names an image on a ComfyUI server, as /view wants it.
type ImageRef struct {
	NodeID    string `json:"node_id"`
	Filename  string `json:"filename"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
}

func (r ImageRef) path() string {
	if r.Subfolder == "" {
		return r.Filename
	}
	return r.Subfolder + "/" + r.Filename
}

// HistoryMessage is one [event, data] pair of a history entry's status.
type HistoryMessage struct {
	Event string
	Data  json.RawMessage
}

// History is ComfyUI's record of a finished prompt.
type History struct {
	PromptID string
	// StatusStr is "success" or "error"; an interrupted job says "error"
	// too, and only an execution_interrupted message tells it apart.
	StatusStr string
	Completed bool
	Messages  []HistoryMessage
	// Images lists the images of every output node, node ids in numeric
	// order, each node's images in its order.
	Images    []ImageRef
	hasStatus bool
}

func parseHistory(id string, raw json.RawMessage) (History, error) {
	var e struct {
		Outputs map[string]struct {
			Images []ImageRef `json:"images"`
		} `json:"outputs"`
		Status *struct {
			StatusStr string              `json:"status_str"`
			Completed bool                `json:"completed"`
			Messages  [][]json.RawMessage `json:"messages"`
		} `json:"status"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return History{}, err
	}
	h := History{PromptID: id}
	if e.Status != nil {
		h.hasStatus = true
		h.StatusStr, h.Completed = e.Status.StatusStr, e.Status.Completed
		for _, m := range e.Status.Messages {
			var event string
			if len(m) == 2 && json.Unmarshal(m[0], &event) == nil {
				h.Messages = append(h.Messages, HistoryMessage{Event: event, Data: m[1]})
			}
		}
	}
	nodes := make([]string, 0, len(e.Outputs))
	for n := range e.Outputs {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, compareIDs)
	for _, n := range nodes {
		for _, img := range e.Outputs[n].Images {
			img.NodeID = n
			h.Images = append(h.Images, img)
		}
	}
	return h, nil
}

func (h History) message(event string) (json.RawMessage, bool) {
	for _, m := range h.Messages {
		if m.Event == event {
			return m.Data, true
		}
	}
	return nil, false
}

// outcome decides a job's end from its history entry. cancelled says that
// this service asked for the job to stop.
func (h History) outcome(backend string, cancelled bool) (State, []ImageRef, error) {
	if h.StatusStr == "success" || (!h.hasStatus && len(h.Images) > 0) {
		return StateSucceeded, h.outputImages(), nil
	}
	if _, ok := h.message("execution_interrupted"); ok {
		if cancelled {
			return StateCancelled, nil, nil
		}
		return StateFailed, nil, fmt.Errorf("%w: ComfyUI at %s stopped the job (someone else interrupted it)",
			ErrInterrupted, backend)
	}
	if data, ok := h.message("execution_error"); ok {
		var d struct {
			NodeID        json.RawMessage `json:"node_id"`
			NodeType      string          `json:"node_type"`
			ExceptionType string          `json:"exception_type"`
			Message       string          `json:"exception_message"`
		}
		json.Unmarshal(data, &d)
		return StateFailed, nil, &ExecutionError{Backend: backend, NodeID: valueText(d.NodeID),
			NodeType: d.NodeType, ExceptionType: d.ExceptionType, Message: d.Message}
	}
	return StateFailed, nil, fmt.Errorf("ComfyUI at %s reported the job as %q without saying why",
		backend, h.StatusStr)
}

// outputImages prefers saved images ("output") over previews ("temp").
func (h History) outputImages() []ImageRef {
	var saved []ImageRef
	for _, img := range h.Images {
		if img.Type == "output" || img.Type == "" {
			saved = append(saved, img)
		}
	}
	if len(saved) > 0 {
		return saved
	}
	return h.Images
}
