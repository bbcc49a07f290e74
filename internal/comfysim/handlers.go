package comfysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// aiohttpError is the text body aiohttp answers with when a handler raises,
// which ComfyUI does for a body that is not JSON.
const aiohttpError = "500 Internal Server Error\n\nServer got itself in trouble"

// TODO: POST /upload/image, the 0.38 /api/jobs routes and binary preview
// frames on the WebSocket are not simulated, so img2img workflows and a
// client that probes for /api/jobs cannot be tested against the simulator.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		s.mux.HandleFunc(method+" "+path, h)
		s.mux.HandleFunc(method+" /api"+path, h)
	}
	handle("POST /prompt", s.postPrompt)
	handle("GET /prompt", s.getPrompt)
	handle("GET /queue", s.getQueue)
	handle("POST /queue", s.postQueue)
	handle("POST /interrupt", s.postInterrupt)
	handle("GET /history", s.getHistoryAll)
	handle("GET /history/{id}", s.getHistory)
	handle("POST /history", s.postHistory)
	handle("GET /view", s.getView)
	handle("GET /object_info", s.getObjectInfoAll)
	handle("GET /object_info/{class}", s.getObjectInfo)
	handle("GET /system_stats", s.getSystemStats)
	handle("GET /features", s.getFeatures)
	handle("GET /ws", s.handleWS)
	handle("GET /sim/faults", s.getFaults)
	handle("POST /sim/faults", s.postFaults)
	handle("POST /sim/restart", s.postRestart)
	handle("GET /sim/inventory", s.getInventory)
	handle("PUT /sim/inventory", s.putInventory)
	handle("GET /sim/step-delay", s.getStepDelay)
	handle("POST /sim/step-delay", s.postStepDelay)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, aiohttpError, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(data)
}

// fail500 answers like aiohttp when a ComfyUI handler raises.
func fail500(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, aiohttpError)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

// promptRequest is the body of POST /prompt.
type promptRequest struct {
	Prompt    json.RawMessage `json:"prompt"`
	ClientID  string          `json:"client_id"`
	PromptID  json.RawMessage `json:"prompt_id"`
	ExtraData map[string]any  `json:"extra_data"`
	Number    *float64        `json:"number"`
	Front     bool            `json:"front"`
}

func (s *Server) postPrompt(w http.ResponseWriter, r *http.Request) {
	if s.currentFaults().SubmitError {
		s.log.Warn("comfysim fault submit_error: answering POST /prompt with 500")
		fail500(w)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var req promptRequest
	if err := json.Unmarshal(body, &req); err != nil {
		if jsonKind(body) == '{' || !json.Valid(body) {
			s.log.Warn("POST /prompt body is not JSON: answering 500 as ComfyUI does", "err", err)
			fail500(w)
			return
		}
		req = promptRequest{} // a JSON value that is no object has no prompt
	}
	if req.Prompt == nil || jsonKind(req.Prompt) == 'n' {
		writeRejection(w, &apiError{Type: "no_prompt", Message: "No prompt provided",
			Details: "No prompt provided", ExtraInfo: map[string]any{}}, nil)
		return
	}
	id, apiErr := promptID(req.PromptID)
	if apiErr != nil {
		writeRejection(w, apiErr, nil)
		return
	}
	g, apiErr := parseGraph(req.Prompt)
	if apiErr != nil {
		writeRejection(w, apiErr, nil)
		return
	}
	s.mu.Lock()
	inv := s.inv
	s.mu.Unlock()
	good, nodeErrors, apiErr := validatePrompt(g, &inv, s.enc)
	if apiErr != nil {
		s.log.Info("prompt rejected", "prompt_id", id, "type", apiErr.Type, "nodes", len(nodeErrors))
		writeRejection(w, apiErr, nodeErrors)
		return
	}
	j := &job{id: id, clientID: req.ClientID, raw: req.Prompt, g: g, outputs: good,
		extraData: req.ExtraData}
	if j.extraData == nil {
		j.extraData = map[string]any{}
	}
	if req.ClientID != "" {
		j.extraData["client_id"] = req.ClientID
	}
	s.mu.Lock()
	j.number = float64(s.number)
	switch {
	case req.Number != nil:
		j.number = *req.Number
	case req.Front:
		j.number = -float64(s.number)
	}
	s.number++
	s.mu.Unlock()
	s.enqueue(j)
	writeJSON(w, http.StatusOK, object{{"prompt_id", id}, {"number", j.number},
		{"node_errors", nodeErrors}})
}

func writeRejection(w http.ResponseWriter, e *apiError, nodeErrors map[string]*nodeErrorEntry) {
	if nodeErrors == nil {
		nodeErrors = map[string]*nodeErrorEntry{}
	}
	writeJSON(w, http.StatusBadRequest, object{{"error", e}, {"node_errors", nodeErrors}})
}

// promptID takes the client's prompt_id, which ComfyUI 0.38 wants as a
// canonical lowercase UUID, or makes one.
func promptID(raw json.RawMessage) (string, *apiError) {
	if raw == nil || jsonKind(raw) == 'n' {
		return uuid.NewString(), nil
	}
	var id string
	if json.Unmarshal(raw, &id) == nil {
		if u, err := uuid.Parse(id); err == nil && u.String() == id {
			return id, nil
		}
	}
	return "", &apiError{Type: "invalid_prompt_id", Message: "Invalid prompt_id",
		Details:   fmt.Sprintf("prompt_id must be a lowercase UUID, got %s", strings.TrimSpace(string(raw))),
		ExtraInfo: map[string]any{}}
}

func (s *Server) getPrompt(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := s.queueRemainingLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, object{{"exec_info", object{{"queue_remaining", n}}}})
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	running := [][]any{}
	if s.running != nil {
		running = append(running, s.running.queueItem())
	}
	pending := make([][]any, 0, len(s.pending))
	for _, j := range s.pending {
		pending = append(pending, j.queueItem())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, object{{"queue_running", running}, {"queue_pending", pending}})
}

// idList is the body of POST /queue and POST /history.
type idList struct {
	Clear  bool     `json:"clear"`
	Delete []string `json:"delete"`
}

func (s *Server) postQueue(w http.ResponseWriter, r *http.Request) {
	var req idList
	if body, err := readBody(w, r); err != nil || json.Unmarshal(body, &req) != nil {
		fail500(w)
		return
	}
	s.mu.Lock()
	kept := s.pending[:0]
	for _, j := range s.pending {
		if req.Clear || slices.Contains(req.Delete, j.id) {
			j.cancel(errInterrupted)
			continue
		}
		kept = append(kept, j)
	}
	s.pending = kept
	s.mu.Unlock()
	s.broadcastStatus()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) postInterrupt(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PromptID string `json:"prompt_id"`
	}
	body, _ := readBody(w, r)
	json.Unmarshal(body, &req) // like ComfyUI: a body that is no JSON means "whatever runs"
	s.mu.Lock()
	run := s.running
	s.mu.Unlock()
	switch {
	case run == nil:
	case req.PromptID == "" || req.PromptID == run.id:
		run.cancel(errInterrupted)
	default:
		s.log.Info("prompt is not currently running, skipping interrupt", "prompt_id", req.PromptID)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	e, ok := s.history[id]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, object{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]historyEntry{id: e})
}

func (s *Server) getHistoryAll(w http.ResponseWriter, r *http.Request) {
	maxItems, err := strconv.Atoi(r.URL.Query().Get("max_items"))
	if err != nil || maxItems <= 0 {
		maxItems = maxHistory
	}
	s.mu.Lock()
	ids := s.histOrder[max(len(s.histOrder)-maxItems, 0):]
	out := make(map[string]historyEntry, len(ids))
	for _, id := range ids {
		out[id] = s.history[id]
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postHistory(w http.ResponseWriter, r *http.Request) {
	var req idList
	if body, err := readBody(w, r); err != nil || json.Unmarshal(body, &req) != nil {
		fail500(w)
		return
	}
	s.mu.Lock()
	if req.Clear {
		s.history, s.histOrder = map[string]historyEntry{}, nil
	}
	for _, id := range req.Delete {
		delete(s.history, id)
		s.histOrder = slices.DeleteFunc(s.histOrder, func(x string) bool { return x == id })
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getView(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if d := s.currentFaults().ViewDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	name, subfolder, typ := q.Get("filename"), q.Get("subfolder"), q.Get("type")
	if typ == "" {
		typ = "output"
	}
	if name == "" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if name[0] == '/' || strings.Contains(name, "..") || strings.Contains(subfolder, "..") ||
		strings.HasPrefix(subfolder, "/") || (typ != "output" && typ != "temp" && typ != "input") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	data, err := s.files.get(typ, subfolder, name)
	if errors.Is(err, errNoFile) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("reading image for /view", "filename", name, "err", err)
		fail500(w)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Disposition", fmt.Sprintf("filename=%q", name))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func (s *Server) getObjectInfo(w http.ResponseWriter, r *http.Request) {
	c, ok := classes[r.PathValue("class")]
	if !ok {
		writeJSON(w, http.StatusOK, object{})
		return
	}
	inv := s.Inventory()
	writeJSON(w, http.StatusOK, object{{c.name, c.objectInfo(&inv, s.enc)}})
}

func (s *Server) getObjectInfoAll(w http.ResponseWriter, r *http.Request) {
	inv := s.Inventory()
	out := object{}
	for _, n := range classNames() {
		out = append(out, kv{n, classes[n].objectInfo(&inv, s.enc)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSystemStats(w http.ResponseWriter, r *http.Request) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	writeJSON(w, http.StatusOK, object{
		{"system", object{{"os", runtime.GOOS}, {"ram_total", m.Sys}, {"ram_free", m.Sys - m.HeapInuse},
			{"comfyui_version", "0.3.64 (comfysim)"}, {"required_frontend_version", ""},
			{"python_version", "none (simulator)"}, {"pytorch_version", "none (simulator)"},
			{"embedded_python", false}, {"argv", []string{"comfysim"}}}},
		{"devices", []any{object{{"name", "cpu (comfysim, no GPU)"}, {"type", "cpu"},
			{"index", nil}, {"vram_total", 0}, {"vram_free", 0}, {"torch_vram_total", 0},
			{"torch_vram_free", 0}}}},
	})
}

func (s *Server) getFeatures(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, object{{"supports_preview_metadata", true},
		{"max_upload_size", maxBody}})
}

// faultsJSON is Faults on the wire: pointers so a POST changes only the
// members it names, and the view delay as Go duration text.
type faultsJSON struct {
	SilentWebSocket *bool   `json:"silent_websocket,omitempty"`
	SubmitError     *bool   `json:"submit_error,omitempty"`
	FailExecution   *bool   `json:"fail_execution,omitempty"`
	ViewDelay       *string `json:"view_delay,omitempty"`
}

func (f Faults) wire() faultsJSON {
	d := f.ViewDelay.String()
	return faultsJSON{&f.SilentWebSocket, &f.SubmitError, &f.FailExecution, &d}
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults().wire())
}

func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	var req faultsJSON
	if err := decodeStrict(w, r, &req); err != nil {
		simError(w, err)
		return
	}
	f := s.Faults()
	if req.ViewDelay != nil {
		d, err := time.ParseDuration(*req.ViewDelay)
		if err != nil || d < 0 {
			simError(w, fmt.Errorf("view_delay: %q is not a duration such as \"2s\"", *req.ViewDelay))
			return
		}
		f.ViewDelay = d
	}
	setBool(&f.SilentWebSocket, req.SilentWebSocket)
	setBool(&f.SubmitError, req.SubmitError)
	setBool(&f.FailExecution, req.FailExecution)
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f.wire())
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) postRestart(w http.ResponseWriter, r *http.Request) {
	s.Restart()
	writeJSON(w, http.StatusOK, object{{"restarted", true}})
}

func (s *Server) getInventory(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Inventory())
}

func (s *Server) putInventory(w http.ResponseWriter, r *http.Request) {
	var inv Inventory
	if err := decodeStrict(w, r, &inv); err != nil {
		simError(w, err)
		return
	}
	if err := inv.check(); err != nil {
		simError(w, err)
		return
	}
	s.SetInventory(inv)
	writeJSON(w, http.StatusOK, s.Inventory())
}

func (s *Server) getStepDelay(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, object{{"step_delay", s.StepDelay().String()}})
}

func (s *Server) postStepDelay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		StepDelay string `json:"step_delay"`
	}
	if err := decodeStrict(w, r, &req); err != nil {
		simError(w, err)
		return
	}
	d, err := time.ParseDuration(req.StepDelay)
	if err != nil || d < 0 {
		simError(w, fmt.Errorf("step_delay: %q is not a duration such as \"50ms\"", req.StepDelay))
		return
	}
	s.SetStepDelay(d)
	writeJSON(w, http.StatusOK, object{{"step_delay", d.String()}})
}

// decodeStrict reads a /sim/ request body, refusing unknown members so a
// typo in a test does not pass silently.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// simError answers a bad /sim/ request with 400 and what was wrong.
func simError(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, object{{"error", err.Error()}})
}
