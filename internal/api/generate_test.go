package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/atelier-dev/atelier/internal/comfyui"
	"github.com/atelier-dev/atelier/internal/httperr"
	"github.com/atelier-dev/atelier/internal/jobs"
)

func TestGenerateErrorStatuses(t *testing.T) {
	const sim = "http://sim:8188"
	lora := comfyui.MissingFile{Kind: comfyui.KindLoRA, Name: "flux/grain.safetensors"}
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		words   []string // the public message says these
		details string   // JSON of the details; "" for none
	}{
		{"request does not fit the config",
			&jobs.InvalidError{Problems: []jobs.FieldError{{Field: "steps", Message: "too many"}}},
			http.StatusBadRequest, "invalid_request", []string{"steps: too many"},
			`[{"field":"steps","message":"too many"}]`},
		{"too many jobs", fmt.Errorf("submitting: %w", jobs.ErrFull),
			http.StatusServiceUnavailable, "busy", []string{"too many jobs"}, ""},
		{"no backend configured", &comfyui.UnavailableError{},
			http.StatusServiceUnavailable, "comfyui_unavailable", []string{"no ComfyUI backend"}, `[]`},
		{"every backend down", &comfyui.UnavailableError{Problems: []comfyui.BackendProblem{
			{Backend: sim, Down: true, Reason: "connection refused"}}},
			http.StatusServiceUnavailable, "comfyui_unavailable", []string{sim, "down"},
			`[{"backend":"` + sim + `","down":true,"reason":"connection refused"}]`},
		{"file missing on the only backend up", &comfyui.UnavailableError{
			Problems: []comfyui.BackendProblem{{Backend: sim, Missing: []comfyui.MissingFile{lora}}}},
			http.StatusUnprocessableEntity, "not_installed", []string{lora.Name, sim},
			`[{"backend":"` + sim + `","down":false,` +
				`"missing":[{"kind":"lora","name":"flux/grain.safetensors"}]}]`},
		// The down backend may have the file once it is back: retry later.
		{"one backend down, the other lacks the file", &comfyui.UnavailableError{
			Problems: []comfyui.BackendProblem{{Backend: "http://a", Down: true, Reason: "timeout"},
				{Backend: "http://b", Missing: []comfyui.MissingFile{lora}}}},
			http.StatusServiceUnavailable, "comfyui_unavailable", []string{lora.Name, "http://a"},
			`[{"backend":"http://a","down":true,"reason":"timeout"},{"backend":"http://b",` +
				`"down":false,"missing":[{"kind":"lora","name":"flux/grain.safetensors"}]}]`},
		{"inventory not read yet", &comfyui.UnavailableError{Problems: []comfyui.BackendProblem{
			{Backend: sim, Reason: "its model inventory has not been read yet"}}},
			http.StatusServiceUnavailable, "comfyui_unavailable", []string{"inventory"},
			`[{"backend":"` + sim + `","down":false,` +
				`"reason":"its model inventory has not been read yet"}]`},
		{"ComfyUI lacks a file the inventory listed", &comfyui.SubmitError{Backend: sim,
			StatusCode: 400, NodeErrors: []comfyui.NodeError{{NodeID: "10", ClassType: "LoraLoader",
				Type: "value_not_in_list", InputName: "lora_name", Received: lora.Name}}},
			http.StatusUnprocessableEntity, "not_installed", []string{lora.Name, sim}, ""},
		{"ComfyUI refuses the graph", &comfyui.SubmitError{Backend: sim, StatusCode: 400,
			NodeErrors: []comfyui.NodeError{{NodeID: "14", ClassType: "UNETLoader",
				Type: "required_input_missing", InputName: "weight_dtype"}}},
			http.StatusBadGateway, "comfyui_refused", []string{"UNETLoader", "weight_dtype"}, ""},
		{"backend unreachable", &comfyui.UnreachableError{Backend: sim,
			Err: errors.New("connection reset")},
			http.StatusServiceUnavailable, "comfyui_unavailable", []string{sim}, ""},
		{"backend answers 500", &comfyui.HTTPError{Backend: sim, StatusCode: 500,
			Body: "Server got itself in trouble"},
			http.StatusBadGateway, "comfyui_error", []string{"500"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var he *httperr.Error
			if !errors.As(generateError(tt.err), &he) {
				t.Fatalf("generateError(%v) is not an *httperr.Error", tt.err)
			}
			if he.Status != tt.status || he.Code != tt.code {
				t.Errorf("got %d %s, want %d %s", he.Status, he.Code, tt.status, tt.code)
			}
			for _, w := range tt.words {
				if !strings.Contains(he.Message, w) {
					t.Errorf("message %q does not say %q", he.Message, w)
				}
			}
			got := ""
			if he.Details != nil {
				b, err := json.Marshal(he.Details)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if diff := cmp.Diff(tt.details, got); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateErrorPassesOthersOn(t *testing.T) {
	err := errors.New("parsing workflow \"x\": broken")
	if got := generateError(err); got != err {
		t.Errorf("generateError(%v) = %v, want it unchanged (an internal error)", err, got)
	}
}
