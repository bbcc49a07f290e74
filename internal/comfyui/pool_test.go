package comfyui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/comfysim"
	"github.com/google/go-cmp/cmp"
)

func inventory(ckpts, loras []string) *comfysim.Inventory {
	return &comfysim.Inventory{Checkpoints: ckpts, LoRAs: loras}
}

func TestSubmitSucceedsWithProgressAndImages(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, []string{"a.safetensors", "b.safetensors"}),
		2*time.Millisecond)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	rec := newRecorder()
	j, err := p.Submit(context.Background(), Request{
		Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", loras: []string{"a.safetensors", "b.safetensors"},
			width: 640, height: 384, batch: 2, steps: 5, seed: 1<<64 - 1, prompt: "a red fox"}),
		Model: "sdxl.safetensors", LoRAs: []string{"a.safetensors", "b.safetensors"},
		FilenamePrefix: "atelier/job1", OnUpdate: rec.record,
	})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	res := wait(t, j)
	if res.State != StateSucceeded || res.Err != nil {
		t.Fatalf("result = %s (%v), want succeeded", res.State, res.Err)
	}
	wantImages := []ImageRef{
		{NodeID: "9", Filename: "job1_00001_.png", Subfolder: "atelier", Type: "output"},
		{NodeID: "9", Filename: "job1_00002_.png", Subfolder: "atelier", Type: "output"},
	}
	if diff := cmp.Diff(wantImages, res.Images); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	for n := range res.Images {
		body, ctype, err := j.OpenImage(context.Background(), n)
		if err != nil {
			t.Fatalf("OpenImage(%d): %v", n, err)
		}
		if ctype != "image/png" {
			t.Errorf("content type = %q, want image/png", ctype)
		}
		if w, h := pngSize(t, body); w != 640 || h != 384 {
			t.Errorf("image %d is %dx%d, want 640x384", n, w, h)
		}
	}

	updates := rec.all()
	var steps []int
	var states []State
	for _, u := range updates {
		if len(states) == 0 || states[len(states)-1] != u.State {
			states = append(states, u.State)
		}
		if u.Node == "3" && u.Max == 5 {
			steps = append(steps, u.Value)
		}
	}
	if diff := cmp.Diff([]State{StateQueued, StateRunning, StateSucceeded}, states); diff != "" {
		t.Errorf("state sequence (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5}, slices.Compact(steps)); diff != "" {
		t.Errorf("KSampler progress (-want +got):\n%s", diff)
	}
	if last := updates[len(updates)-1]; last.State != StateSucceeded || len(last.Images) != 2 {
		t.Errorf("last update = %+v, want succeeded with 2 images", last)
	}
	if st := p.Backends()[0]; st.InFlight != 0 {
		t.Errorf("in flight after the job = %d, want 0", st.InFlight)
	}
}

func TestMissingFilesAreNamed(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, []string{"a.safetensors"}), 0)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	tests := []struct {
		name  string
		model string
		loras []string
		want  string
	}{
		{"missing LoRA", "sdxl.safetensors", []string{"a.safetensors", "gone.safetensors"},
			"LoRA 'gone.safetensors' is not installed on " + s.URL()},
		{"missing model", "flux.safetensors", nil,
			"model 'flux.safetensors' is not installed on " + s.URL()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Submit(context.Background(), Request{
				Graph: txt2img(graphSpec{ckpt: tt.model, loras: tt.loras}), Model: tt.model, LoRAs: tt.loras})
			var ue *UnavailableError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UnavailableError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}

	t.Run("stale inventory answered by ComfyUI", func(t *testing.T) {
		// The pool still believes the LoRA is there; ComfyUI's own
		// value_not_in_list must come back in the same words.
		s.SetInventory(comfysim.Inventory{Checkpoints: []string{"sdxl.safetensors"}})
		_, err := p.Submit(context.Background(), Request{
			Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", loras: []string{"a.safetensors"}}),
			Model: "sdxl.safetensors", LoRAs: []string{"a.safetensors"}})
		var se *SubmitError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want *SubmitError", err)
		}
		want := "LoRA 'a.safetensors' is not installed on " + s.URL()
		if err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		if diff := cmp.Diff([]MissingFile{{KindLoRA, "a.safetensors"}}, se.MissingFiles()); diff != "" {
			t.Errorf("missing files (-want +got):\n%s", diff)
		}
	})
}

func TestValidationErrorsFromSimulator(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 0)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	base := func(edit func(g map[string]map[string]any)) json.RawMessage {
		var g map[string]map[string]any
		json.Unmarshal(txt2img(graphSpec{ckpt: "sdxl.safetensors"}), &g)
		edit(g)
		raw, _ := json.Marshal(g)
		return raw
	}
	tests := []struct {
		name  string
		graph json.RawMessage
		want  string
	}{
		{"value below min", base(func(g map[string]map[string]any) {
			g["5"]["inputs"].(map[string]any)["width"] = 8
		}), `node 5 (EmptyLatentImage), input "width": Value 8 smaller than min of 16`},
		{"seed -1", base(func(g map[string]map[string]any) {
			g["3"]["inputs"].(map[string]any)["seed"] = -1
		}), `node 3 (KSampler), input "seed": Value -1 smaller than min of 0`},
		{"sampler not in a long list", base(func(g map[string]map[string]any) {
			g["3"]["inputs"].(map[string]any)["sampler_name"] = "warp"
		}), `node 3 (KSampler): sampler_name "warp" is not one of the values ComfyUI allows`},
		{"required input missing", base(func(g map[string]map[string]any) {
			delete(g["3"]["inputs"].(map[string]any), "steps")
		}), `node 3 (KSampler): required input "steps" is missing`},
		{"unknown node class", base(func(g map[string]map[string]any) {
			g["10"] = node("FancyUpscaler", map[string]any{})
		}), "Node 'FancyUpscaler' not found. The custom node may not be installed. (Node ID '#10')"},
		{"no output node", base(func(g map[string]map[string]any) {
			delete(g, "9")
		}), "the workflow has no output node such as SaveImage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Submit(context.Background(), Request{Graph: tt.graph, Model: "sdxl.safetensors"})
			var se *SubmitError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SubmitError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExecutionErrorFailsJob(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 0)
	s.SetFaults(comfysim.Faults{FailExecution: true})
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	j, err := p.Submit(context.Background(), Request{Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors"})})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	res := wait(t, j)
	var ee *ExecutionError
	if res.State != StateFailed || !errors.As(res.Err, &ee) {
		t.Fatalf("result = %s (%v), want failed with *ExecutionError", res.State, res.Err)
	}
	if want := "node 3 (KSampler) failed on ComfyUI at " + s.URL() + ": RuntimeError:"; !strings.HasPrefix(
		res.Err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", res.Err, want)
	}
}

func TestCancel(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 20*time.Millisecond)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	submit := func(rec *recorder, seed uint64) *Job {
		j, err := p.Submit(context.Background(), Request{OnUpdate: rec.record,
			Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", steps: 10000, seed: seed})})
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		return j
	}
	runningRec := newRecorder()
	running := submit(runningRec, 1)
	pending := submit(newRecorder(), 2) // queued behind the first
	runningRec.waitProgress(t)

	for _, tc := range []struct {
		name string
		job  *Job
	}{{"pending job", pending}, {"running job", running}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.job.Cancel(context.Background()); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			if res := wait(t, tc.job); res.State != StateCancelled || res.Err != nil {
				t.Errorf("result = %s (%v), want cancelled", res.State, res.Err)
			}
		})
	}
	if st := p.Backends()[0]; st.InFlight != 0 {
		t.Errorf("in flight after cancelling = %d, want 0", st.InFlight)
	}
}

func TestSilentWebSocketStillSucceeds(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), time.Millisecond)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	s.SetFaults(comfysim.Faults{SilentWebSocket: true})
	rec := newRecorder()
	j, err := p.Submit(context.Background(), Request{OnUpdate: rec.record,
		Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", steps: 20})})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if res := wait(t, j); res.State != StateSucceeded || len(res.Images) != 1 {
		t.Fatalf("result = %s with %d images (%v), want succeeded with 1", res.State, len(res.Images), res.Err)
	}
	for _, u := range rec.all() {
		if u.Max != 0 {
			t.Fatalf("got a progress update %+v through a silent socket", u)
		}
	}
}

func TestRestartLosesJob(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 20*time.Millisecond)
	opts := fastOptions(t)
	opts.LostAfter = 300 * time.Millisecond
	p := startPool(t, []string{s.URL()}, opts)
	rec := newRecorder()
	j, err := p.Submit(context.Background(), Request{OnUpdate: rec.record,
		Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", steps: 10000})})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	rec.waitProgress(t)
	s.Restart()
	res := wait(t, j)
	if res.State != StateLost || !errors.Is(res.Err, ErrLost) {
		t.Fatalf("result = %s (%v), want lost", res.State, res.Err)
	}
	if !strings.Contains(res.Err.Error(), s.URL()) {
		t.Errorf("err = %q, want it to name the backend", res.Err)
	}
}

func TestBackendDyingMidJobFailsIt(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 20*time.Millisecond)
	opts := fastOptions(t)
	opts.UnreachableAfter = 300 * time.Millisecond
	p := startPool(t, []string{s.URL()}, opts)
	rec := newRecorder()
	j, err := p.Submit(context.Background(), Request{OnUpdate: rec.record,
		Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", steps: 10000})})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	rec.waitProgress(t)
	s.kill()
	res := wait(t, j)
	if res.State != StateFailed || !errors.Is(res.Err, ErrBackendGone) {
		t.Fatalf("result = %s (%v), want failed with ErrBackendGone", res.State, res.Err)
	}
	if !strings.Contains(res.Err.Error(), "ComfyUI at "+s.URL()+" has not answered") {
		t.Errorf("err = %q, want it to say which backend stopped answering", res.Err)
	}
	if st := p.Backends()[0]; st.Up {
		t.Errorf("backend still up after dying: %+v", st)
	}
}

func TestPoolSelection(t *testing.T) {
	t.Run("by inventory", func(t *testing.T) {
		a := newSim(t, inventory([]string{"sdxl.safetensors"}, []string{"style.safetensors"}), 0)
		b := newSim(t, inventory([]string{"flux.safetensors"}, []string{"flux/detail.safetensors"}), 0)
		p := startPool(t, []string{a.URL(), b.URL()}, fastOptions(t))
		for _, tc := range []struct {
			model, lora, want string
		}{
			{"flux.safetensors", "flux/detail.safetensors", b.URL()},
			{"sdxl.safetensors", "style.safetensors", a.URL()},
		} {
			j, err := p.Submit(context.Background(), Request{Model: tc.model, LoRAs: []string{tc.lora},
				Graph: txt2img(graphSpec{ckpt: tc.model, loras: []string{tc.lora}})})
			if err != nil {
				t.Fatalf("Submit(%s): %v", tc.model, err)
			}
			if j.Backend() != tc.want {
				t.Errorf("%s went to %s, want %s", tc.model, j.Backend(), tc.want)
			}
			if res := wait(t, j); res.State != StateSucceeded {
				t.Errorf("%s: %s (%v)", tc.model, res.State, res.Err)
			}
		}
		_, err := p.Submit(context.Background(), Request{Model: "flux.safetensors",
			LoRAs: []string{"style.safetensors"}, Graph: txt2img(graphSpec{ckpt: "flux.safetensors"})})
		want := "no ComfyUI backend can run this job: model 'flux.safetensors' is not installed on " +
			a.URL() + "; LoRA 'style.safetensors' is not installed on " + b.URL()
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	})

	t.Run("fewest jobs in flight", func(t *testing.T) {
		a := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 20*time.Millisecond)
		b := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 20*time.Millisecond)
		p := startPool(t, []string{a.URL(), b.URL()}, fastOptions(t))
		var got []string
		for seed := range uint64(2) {
			j, err := p.Submit(context.Background(), Request{Model: "sdxl.safetensors",
				Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", steps: 10000, seed: seed})})
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			defer j.Cancel(context.Background())
			got = append(got, j.Backend())
		}
		want := []string{a.URL(), b.URL()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("backends chosen (-want +got):\n%s", diff)
		}
	})

	t.Run("down backend skipped", func(t *testing.T) {
		dead := newSim(t, nil, 0)
		dead.kill()
		live := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 0)
		p := startPool(t, []string{dead.URL(), live.URL()}, fastOptions(t))
		j, err := p.Submit(context.Background(), Request{Model: "sdxl.safetensors",
			Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors"})})
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		if j.Backend() != live.URL() {
			t.Errorf("job went to %s, want %s", j.Backend(), live.URL())
		}
		if st := p.Backends()[0]; st.Up || st.Reason == "" {
			t.Errorf("dead backend status = %+v, want down with a reason", st)
		}
		if got := p.Locate(KindModel, "sdxl.safetensors"); !slices.Equal(got, []string{live.URL()}) {
			t.Errorf("Locate = %v, want only %s", got, live.URL())
		}
	})

	t.Run("every backend down", func(t *testing.T) {
		dead := newSim(t, nil, 0)
		dead.kill()
		p := startPool(t, []string{dead.URL()}, fastOptions(t))
		_, err := p.Submit(context.Background(), Request{Graph: txt2img(graphSpec{ckpt: "x"})})
		var ue *UnavailableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "ComfyUI at "+dead.URL()+" is down") {
			t.Errorf("err = %v, want *UnavailableError saying %s is down", err, dead.URL())
		}
	})

	t.Run("backend failing before accepting is skipped", func(t *testing.T) {
		bad := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 0)
		bad.SetFaults(comfysim.Faults{SubmitError: true})
		good := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 0)
		p := startPool(t, []string{bad.URL(), good.URL()}, fastOptions(t))
		j, err := p.Submit(context.Background(), Request{Model: "sdxl.safetensors",
			Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors"})})
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		if j.Backend() != good.URL() {
			t.Errorf("job went to %s, want %s", j.Backend(), good.URL())
		}
		if res := wait(t, j); res.State != StateSucceeded {
			t.Errorf("result = %s (%v)", res.State, res.Err)
		}
	})

	t.Run("no backend configured", func(t *testing.T) {
		p := startPool(t, nil, fastOptions(t))
		_, err := p.Submit(context.Background(), Request{Graph: txt2img(graphSpec{ckpt: "x"})})
		if err == nil || err.Error() != "no ComfyUI backend is configured" {
			t.Errorf("err = %v, want no ComfyUI backend is configured", err)
		}
	})
}

func TestNamesWithBackslashesUseTheBackendSpelling(t *testing.T) {
	// A Windows server lists sub\file; the config says sub/file. ComfyUI
	// validates the exact string, so the job only runs if the pool respells.
	s := newSim(t, &comfysim.Inventory{Checkpoints: []string{`sdxl\base.safetensors`},
		LoRAs: []string{`styles\ink.safetensors`}}, 0)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	j, err := p.Submit(context.Background(), Request{Model: "sdxl/base.safetensors",
		LoRAs: []string{"styles/ink.safetensors"},
		Graph: txt2img(graphSpec{ckpt: "sdxl/base.safetensors", loras: []string{"styles/ink.safetensors"}})})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if res := wait(t, j); res.State != StateSucceeded {
		t.Errorf("result = %s (%v), want succeeded", res.State, res.Err)
	}
	if got := p.Locate(KindLoRA, "styles/ink.safetensors"); len(got) != 1 {
		t.Errorf("Locate(styles/ink) = %v, want the backend", got)
	}
}

func TestSameSeedAndPromptGiveSameImage(t *testing.T) {
	s := newSim(t, inventory([]string{"sdxl.safetensors"}, nil), 0)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	render := func(seed uint64, prompt, prefix string) []byte {
		j, err := p.Submit(context.Background(), Request{FilenamePrefix: prefix,
			Graph: txt2img(graphSpec{ckpt: "sdxl.safetensors", seed: seed, prompt: prompt})})
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		if res := wait(t, j); res.State != StateSucceeded {
			t.Fatalf("result = %s (%v)", res.State, res.Err)
		}
		body, _, err := j.OpenImage(context.Background(), 0)
		if err != nil {
			t.Fatalf("OpenImage: %v", err)
		}
		defer body.Close()
		data, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("reading image: %v", err)
		}
		return data
	}
	first := render(42, "a fox", "a")
	if again := render(42, "a fox", "b"); !bytes.Equal(first, again) {
		t.Error("same seed and prompt gave different images")
	}
	if other := render(43, "a fox", "c"); bytes.Equal(first, other) {
		t.Error("another seed gave the same image")
	}
	if other := render(42, "a wolf", "d"); bytes.Equal(first, other) {
		t.Error("another prompt gave the same image")
	}
}

// TestSharedWorkflows runs the public example workflows through the
// simulator: with their files installed they run, and the stale export
// without weight_dtype is refused the way ComfyUI refuses it.
func TestSharedWorkflows(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "workflows")
	files, _ := filepath.Glob(filepath.Join(dir, "api_*.json"))
	if len(files) == 0 {
		t.Skipf("no API workflows in %s; skipping the real-file run", dir)
	}
	inv := comfysim.DefaultInventory()
	inv.LoRAs = append(inv.LoRAs, "https://huggingface.co/fofr/flux-condensation/blob/main/lora.safetensors")
	s := newSim(t, &inv, 0)
	p := startPool(t, []string{s.URL()}, fastOptions(t))
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			graph, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			j, err := p.Submit(context.Background(), Request{Graph: graph, FilenamePrefix: "shared/" + name})
			if strings.Contains(name, "STALE-missing-weight_dtype") {
				var se *SubmitError
				if !errors.As(err, &se) || len(se.NodeErrors) != 1 ||
					se.NodeErrors[0].Type != "required_input_missing" ||
					se.NodeErrors[0].InputName != "weight_dtype" {
					t.Fatalf("err = %v, want required_input_missing on weight_dtype", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			res := wait(t, j)
			if res.State != StateSucceeded || len(res.Images) == 0 {
				t.Fatalf("result = %s with %d images (%v), want succeeded", res.State, len(res.Images), res.Err)
			}
			body, _, err := j.OpenImage(context.Background(), 0)
			if err != nil {
				t.Fatalf("OpenImage: %v", err)
			}
			w, h := pngSize(t, body)
			if want := latentSize(t, graph); w != want || h != want {
				t.Errorf("image is %dx%d, want %dx%d", w, h, want, want)
			}
		})
	}
}

// latentSize reads the (square) width of the graph's empty latent.
func latentSize(t *testing.T, graph []byte) int {
	var g map[string]struct {
		Class  string `json:"class_type"`
		Inputs struct {
			Width int `json:"width"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(graph, &g); err != nil {
		t.Fatal(err)
	}
	for _, n := range g {
		if strings.HasPrefix(n.Class, "Empty") {
			return n.Inputs.Width
		}
	}
	t.Fatal("no empty latent in the graph")
	return 0
}
