package comfyui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeComfy is a tiny ComfyUI stand-in for answers the simulator does not
// give: older servers' error shapes and odd status codes.
type fakeComfy struct {
	mu       sync.Mutex
	status   int
	body     string
	ctype    string
	requests []string
}

func (f *fakeComfy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(body)))
	f.mu.Unlock()
	switch {
	case r.URL.Path == "/prompt" && r.Method == http.MethodPost:
		w.Header().Set("Content-Type", f.ctype)
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	case r.URL.Path == "/prompt":
		io.WriteString(w, `{"exec_info": {"queue_remaining": 0}}`)
	case r.URL.Path == "/system_stats":
		io.WriteString(w, `{"system": {"comfyui_version": "0.3.10"}, "devices": []}`)
	case r.URL.Path == "/queue" && r.Method == http.MethodGet:
		io.WriteString(w, `{"queue_running": [], "queue_pending": []}`)
	case strings.HasPrefix(r.URL.Path, "/object_info/"):
		io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (f *fakeComfy) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func TestSubmitAnswerShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		check  func(t *testing.T, err error, backend string)
	}{
		{
			name: "400 object shape with node errors", status: 400, ctype: "application/json",
			body: `{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
				"details": "", "extra_info": {}}, "node_errors": {"12": {"errors": [{"type": "value_not_in_list",
				"message": "Value not in list", "details": "ckpt_name: 'x.safetensors' not in (list of length 31)",
				"extra_info": {"input_name": "ckpt_name", "input_config": null, "received_value": "x.safetensors"}}],
				"dependent_outputs": ["9"], "class_type": "CheckpointLoaderSimple"}}}`,
			check: func(t *testing.T, err error, backend string) {
				var se *SubmitError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *SubmitError", err)
				}
				want := &SubmitError{Backend: backend, StatusCode: 400, Type: "prompt_outputs_failed_validation",
					Message: "Prompt outputs failed validation", NodeErrors: []NodeError{{NodeID: "12",
						ClassType: "CheckpointLoaderSimple", Type: "value_not_in_list", Message: "Value not in list",
						Details:   "ckpt_name: 'x.safetensors' not in (list of length 31)",
						InputName: "ckpt_name", Received: "x.safetensors"}}}
				if diff := cmp.Diff(want, se); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if got := err.Error(); got != "model 'x.safetensors' is not installed on "+backend {
					t.Errorf("message = %q", got)
				}
			},
		},
		{
			name: "400 old string shape", status: 400, ctype: "application/json",
			body: `{"error": "no prompt", "node_errors": []}`,
			check: func(t *testing.T, err error, backend string) {
				var se *SubmitError
				if !errors.As(err, &se) || se.Message != "no prompt" || len(se.NodeErrors) != 0 {
					t.Fatalf("err = %#v, want *SubmitError with message %q", err, "no prompt")
				}
				if want := "ComfyUI at " + backend + " rejected the workflow: no prompt"; err.Error() != want {
					t.Errorf("message = %q, want %q", err, want)
				}
			},
		},
		{
			name: "500 text body", status: 500, ctype: "text/plain",
			body: "500 Internal Server Error\n\nServer got itself in trouble",
			check: func(t *testing.T, err error, backend string) {
				var he *HTTPError
				if !errors.As(err, &he) || he.StatusCode != 500 {
					t.Fatalf("err = %v, want *HTTPError 500", err)
				}
				want := "ComfyUI at " + backend +
					" answered HTTP 500: 500 Internal Server Error Server got itself in trouble"
				if err.Error() != want {
					t.Errorf("message = %q, want %q", err, want)
				}
			},
		},
		{
			name: "400 that is not JSON", status: 400, ctype: "text/plain", body: "Bad Request",
			check: func(t *testing.T, err error, backend string) {
				var he *HTTPError
				if !errors.As(err, &he) || he.Body != "Bad Request" {
					t.Fatalf("err = %v, want *HTTPError with the body", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(&fakeComfy{status: tt.status, body: tt.body, ctype: tt.ctype})
			defer ts.Close()
			c, err := NewClient(ts.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Submit(context.Background(), SubmitRequest{Graph: json.RawMessage(`{}`),
				PromptID: "0b0e6a47-6c0e-4d8e-9d1f-2a7f4d4b7c11"})
			tt.check(t, err, ts.URL)
		})
	}
}

func TestPartialAcceptIsAFailureAndIsRemoved(t *testing.T) {
	fake := &fakeComfy{status: 200, ctype: "application/json"}
	ts := httptest.NewServer(fake)
	defer ts.Close()
	p := startPoolEvents(t, []string{ts.URL}, fastOptions(t), false)
	// ComfyUI queued the prompt but dropped output 9, whose KSampler failed.
	fake.mu.Lock()
	fake.body = `{"prompt_id": "P", "number": 3, "node_errors": {"3": {"errors": [{"type":
		"value_bigger_than_max", "message": "Value 100000 bigger than max of 10000", "details": "steps",
		"extra_info": {"input_name": "steps", "received_value": 100000}}], "dependent_outputs": ["9"],
		"class_type": "KSampler"}}}`
	fake.mu.Unlock()
	_, err := p.Submit(context.Background(), Request{Graph: json.RawMessage(`{"9": {"class_type": "SaveImage"}}`)})
	var se *SubmitError
	if !errors.As(err, &se) || !se.Partial {
		t.Fatalf("err = %v, want a partial *SubmitError", err)
	}
	want := "ComfyUI at " + ts.URL + ` dropped outputs of the workflow: node 3 (KSampler), input "steps": ` +
		"Value 100000 bigger than max of 10000"
	if err.Error() != want {
		t.Errorf("message = %q\nwant %q", err, want)
	}
	var deleted bool
	for _, r := range fake.seen() {
		deleted = deleted || r == `POST /queue {"delete":["P"]}`
	}
	if !deleted {
		t.Errorf("the partly accepted prompt was not removed from the queue; requests: %q", fake.seen())
	}
}

func TestParseCombo(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    []string
		wantErr bool
	}{
		{"list form", `[["a.safetensors", "b\\c.safetensors"], {"tooltip": "x"}]`,
			[]string{"a.safetensors", `b\c.safetensors`}, false},
		{"COMBO form", `["COMBO", {"options": ["a.safetensors"], "multiselect": false}]`,
			[]string{"a.safetensors"}, false},
		{"empty list", `[[], {}]`, []string{}, false},
		{"numbers skipped", `[["a", 1, "b"]]`, []string{"a", "b"}, false},
		{"not a combo", `["INT", {"default": 1}]`, nil, true},
		{"not a list", `{"a": 1}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCombo(json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistoryOutcome(t *testing.T) {
	const backend = "http://comfy:8188"
	tests := []struct {
		name      string
		entry     string
		cancelled bool
		state     State
		images    int
		errText   string
	}{
		{"success", `{"outputs": {"9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]},
			"2": {"images": [{"filename": "p.png", "subfolder": "", "type": "temp"}]}},
			"status": {"status_str": "success", "completed": true, "messages": []}}`,
			false, StateSucceeded, 1, ""},
		{"interrupted after our cancel", `{"outputs": {}, "status": {"status_str": "error", "completed": false,
			"messages": [["execution_start", {}], ["execution_interrupted", {"node_id": "3"}]]}}`,
			true, StateCancelled, 0, ""},
		{"interrupted by someone else", `{"outputs": {}, "status": {"status_str": "error", "completed": false,
			"messages": [["execution_interrupted", {"node_id": "3"}]]}}`,
			false, StateFailed, 0, "job interrupted on ComfyUI: ComfyUI at " + backend + " stopped the job"},
		{"execution error", `{"outputs": {}, "status": {"status_str": "error", "completed": false,
			"messages": [["execution_error", {"node_id": "31", "node_type": "KSampler",
			"exception_type": "torch.OutOfMemoryError", "exception_message": "Allocation on device "}]]}}`,
			false, StateFailed, 0,
			"node 31 (KSampler) failed on ComfyUI at " + backend + ": torch.OutOfMemoryError: Allocation on device"},
		{"error without details", `{"outputs": {}, "status": {"status_str": "error", "completed": false,
			"messages": []}}`, false, StateFailed, 0, "ComfyUI at " + backend + ` reported the job as "error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseHistory("id", json.RawMessage(tt.entry))
			if err != nil {
				t.Fatal(err)
			}
			state, images, jobErr := h.outcome(backend, tt.cancelled)
			if state != tt.state || len(images) != tt.images {
				t.Errorf("outcome = %s with %d images, want %s with %d", state, len(images), tt.state, tt.images)
			}
			got := ""
			if jobErr != nil {
				got = jobErr.Error()
			}
			if !strings.HasPrefix(got, tt.errText) || (tt.errText == "") != (got == "") {
				t.Errorf("err = %q, want prefix %q", got, tt.errText)
			}
		})
	}
}

func TestRenderRespellsAndSetsPrefix(t *testing.T) {
	g, err := parseGraph(json.RawMessage(`{
		"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl/base.safetensors"}},
		"2": {"class_type": "LoraLoader", "inputs": {"lora_name": "a/b.safetensors", "model": ["1", 0]}},
		"3": {"class_type": "KSampler", "inputs": {"seed": 18446744073709551615}},
		"4": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["9", 0]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	inv := &Inventory{Checkpoints: []string{`sdxl\base.safetensors`}, LoRAs: []string{"a/b.safetensors"}}
	out, err := g.render(inv, "atelier/job-1")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"1.ckpt_name":       `"sdxl\\base.safetensors"`,
		"2.lora_name":       `"a/b.safetensors"`,
		"3.seed":            `18446744073709551615`,
		"4.filename_prefix": `"atelier/job-1"`,
	}
	for path, want := range checks {
		id, input, _ := strings.Cut(path, ".")
		if g := string(got[id].Inputs[input]); g != want {
			t.Errorf("%s = %s, want %s", path, g, want)
		}
	}
	if again, _ := g.render(&Inventory{}, ""); strings.Contains(string(again), `\\`) {
		t.Errorf("a second render kept the first backend's spelling: %s", again)
	}
}

func TestParseURLs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"http://a:8188", []string{"http://a:8188"}, ""},
		{" http://a:8188/, https://b/comfy ,,http://a:8188", []string{"http://a:8188", "https://b/comfy"}, ""},
		{"", nil, ""},
		{"a:8188", nil, `ComfyUI URL "a:8188": want http://host:port or https://host:port`},
	}
	for _, tt := range tests {
		got, err := ParseURLs(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseURLs(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURLs(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseURLs(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
