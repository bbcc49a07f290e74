package jobs

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/atelier-dev/atelier/internal/comfyui"
	"github.com/atelier-dev/atelier/internal/config"
)

func testJob(steps int) *Job {
	p := &Plan{Model: config.Model{Name: "m"}, Workflow: config.Workflow{Name: "w"},
		Steps: steps, BatchSize: 1, Seed: 7}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	return newJob("j1", p, Source{Version: 2, Source: "cache"}, func() time.Time { return at })
}

// progress is a running update from a sampler node.
func progress(node string, value, max int) comfyui.Update {
	return comfyui.Update{State: comfyui.StateRunning, Node: node, NodeType: "KSamplerAdvanced",
		Value: value, Max: max}
}

func TestJobProgressOverSamplers(t *testing.T) {
	// SDXL base and refiner: 25 steps split 20 + 5 over two samplers.
	j := testJob(25)
	type point struct {
		Step, Steps int
		Progress    string
	}
	var got []point
	record := func() {
		v := j.View()
		got = append(got, point{v.Step, v.Steps, fmt.Sprintf("%.2f", v.Progress)})
	}
	j.update(comfyui.Update{State: comfyui.StateRunning, Node: "4", NodeType: "CheckpointLoader"})
	record()
	for _, u := range []comfyui.Update{progress("10", 1, 20), progress("10", 20, 20),
		progress("11", 1, 5), progress("11", 5, 5)} {
		j.update(u)
		record()
	}
	want := []point{{0, 25, "0.00"}, {1, 25, "0.04"}, {20, 25, "0.80"}, {21, 25, "0.84"},
		{25, 25, "0.99"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	j.finish(comfyui.Result{State: comfyui.StateSucceeded,
		Images: []comfyui.ImageRef{{Filename: "a.png"}}}, time.Now())
	if v := j.View(); v.Progress != 1 || v.Step != 25 || v.Status != StatusSucceeded {
		t.Errorf("after success: %s at %g, step %d", v.Status, v.Progress, v.Step)
	}
	// Updates after the outcome change nothing.
	j.update(progress("11", 1, 5))
	if v := j.View(); v.Status != StatusSucceeded || v.Progress != 1 {
		t.Errorf("a late update changed a finished job: %s at %g", v.Status, v.Progress)
	}
}

func TestJobOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		res    comfyui.Result
		status Status
		code   string
	}{
		{"succeeded without images", comfyui.Result{State: comfyui.StateSucceeded},
			StatusFailed, "no_images"},
		{"cancelled", comfyui.Result{State: comfyui.StateCancelled}, StatusCancelled, ""},
		{"lost", comfyui.Result{State: comfyui.StateLost,
			Err: fmt.Errorf("%w: gone", comfyui.ErrLost)}, StatusLost, "lost"},
		{"backend gone", comfyui.Result{State: comfyui.StateFailed,
			Err: fmt.Errorf("%w: no answer", comfyui.ErrBackendGone)}, StatusFailed, "backend_gone"},
		{"interrupted elsewhere", comfyui.Result{State: comfyui.StateFailed,
			Err: fmt.Errorf("%w", comfyui.ErrInterrupted)}, StatusFailed, "interrupted"},
		{"node failed", comfyui.Result{State: comfyui.StateFailed,
			Err: errors.New("node 3 (KSampler) failed")}, StatusFailed, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := testJob(20)
			j.finish(tt.res, time.Now())
			v := j.View()
			code := ""
			if v.Error != nil {
				code = v.Error.Code
				if v.Error.Message == "" {
					t.Error("an error without a message")
				}
			}
			if v.Status != tt.status || code != tt.code || v.FinishedAt == nil {
				t.Errorf("got %s (%q), finished %v; want %s (%q)", v.Status, code,
					v.FinishedAt, tt.status, tt.code)
			}
			if v.ConfigVersion != 2 || v.ConfigSource != "cache" {
				t.Errorf("config %s version %d, want cache version 2", v.ConfigSource,
					v.ConfigVersion)
			}
		})
	}
}
