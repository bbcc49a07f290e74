package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/atelier-dev/atelier/internal/testlog"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/atelier-dev/atelier/internal/comfysim"
	"github.com/atelier-dev/atelier/internal/comfyui"
	"github.com/atelier-dev/atelier/internal/config"
)

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t) }

// clock is a settable clock for the manager.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// starterSnapshot is the starter config as release 3 would carry it.
func starterSnapshot(t *testing.T) *config.Snapshot {
	t.Helper()
	dir := t.TempDir()
	if _, err := config.WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	s, err := config.Load(filepath.Join(dir, config.LocalConfigName))
	if err != nil {
		t.Fatal(err)
	}
	s.Version = 3
	if s.Hash, err = s.ComputeHash(); err != nil {
		t.Fatal(err)
	}
	return s
}

// starterInventory holds every file the starter config names.
func starterInventory() *comfysim.Inventory {
	return &comfysim.Inventory{
		Checkpoints: []string{"sd_xl_base_1.0.safetensors", "juggernautXL_v9.safetensors"},
		UNets:       []string{"flux1-dev-fp8.safetensors"},
		LoRAs: []string{"flux/detail-tweaker.safetensors", "flux/film-grain.safetensors",
			"sdxl/pixel-art-xl.safetensors", "sdxl/add-detail-xl.safetensors"},
		VAEs:  []string{"ae.safetensors"},
		CLIPs: []string{"t5xxl_fp8_e4m3fn.safetensors", "clip_l.safetensors"},
	}
}

type fixture struct {
	sim   *comfysim.Server
	url   string
	pool  *comfyui.Pool
	mgr   *Manager
	clock *clock
	reg   *prometheus.Registry
}

// newFixture serves a simulator over HTTP, starts a pool on it (waiting for
// its event socket, so that the first job reports progress) and a manager
// with opt's bound and expiry.
func newFixture(t *testing.T, stepDelay time.Duration, opt Options) *fixture {
	t.Helper()
	log := testLogger(t)
	sim := comfysim.New(comfysim.Options{Inventory: starterInventory(), StepDelay: stepDelay,
		Logger: log})
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		ts.CloseClientConnections()
		ts.Close()
	})
	pool, err := comfyui.NewPool([]string{ts.URL}, comfyui.Options{Logger: log,
		HealthInterval: 50 * time.Millisecond, InventoryInterval: 200 * time.Millisecond,
		RequestTimeout: 5 * time.Second, PollMin: 10 * time.Millisecond,
		PollMax: 100 * time.Millisecond, LostAfter: 500 * time.Millisecond,
		UnreachableAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pool.Start(context.Background())
	t.Cleanup(pool.Close)
	waitFor(t, "the pool's event socket", func() bool {
		b := pool.Backends()[0]
		return b.Up && b.EventsConnected
	})
	f := &fixture{sim: sim, url: ts.URL, pool: pool, clock: &clock{now: time.Date(2025, 6, 1,
		12, 0, 0, 0, time.UTC)}, reg: prometheus.NewRegistry()}
	opt.Pool, opt.Logger, opt.Now, opt.Registerer = pool, log, f.clock.Now, f.reg
	f.mgr = NewManager(opt)
	return f
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// follow records every state of j until it is final, for up to 20 s.
func follow(t *testing.T, j *Job) []View {
	t.Helper()
	timeout := time.After(20 * time.Second)
	var views []View
	for {
		v, changed := j.Changed()
		views = append(views, v)
		if v.Status.Final() {
			return views
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("job %s not finished in time; last state %+v", j.ID(), v)
		}
	}
}

func (f *fixture) submit(t *testing.T, body string) *Job {
	t.Helper()
	j, err := f.mgr.Submit(context.Background(), starterSnapshot(t),
		Source{Version: 3, Source: "backend"}, decodeRequest(t, body))
	if err != nil {
		t.Fatalf("Submit(%s): %v", body, err)
	}
	return j
}

func TestManagerGeneratesImages(t *testing.T) {
	f := newFixture(t, 0, Options{})
	j := f.submit(t, `{"prompt":"a red fox","model":"sdxl-base","width":96,"height":64,
		"batch_size":2,"seed":18446744073709551615,"loras":[
		{"name":"sdxl/pixel-art-xl.safetensors"},{"name":"sdxl/add-detail-xl.safetensors"}]}`)
	views := follow(t, j)
	v := views[len(views)-1]
	if v.Status != StatusSucceeded || v.Error != nil {
		t.Fatalf("job ended %s (%+v), want succeeded", v.Status, v.Error)
	}
	want := View{ID: j.ID(), Status: StatusSucceeded, Progress: 1, Step: 25, Steps: 25,
		Images: []string{"/api/images/" + j.ID() + "/0", "/api/images/" + j.ID() + "/1"},
		Model:  "sdxl-base", Workflow: "sdxl-workflow",
		Loras: []string{"sdxl/pixel-art-xl.safetensors", "sdxl/add-detail-xl.safetensors"},
		Width: 96, Height: 64, BatchSize: 2, Seed: "18446744073709551615", StepsAsked: 25,
		Backend: f.url, ConfigVersion: 3, ConfigSource: "backend", CreatedAt: f.clock.Now()}
	got := v
	got.PromptID, got.StartedAt, got.FinishedAt = "", nil, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final view (-want +got):\n%s", diff)
	}
	if v.PromptID == "" || v.StartedAt == nil || v.FinishedAt == nil {
		t.Errorf("prompt_id %q, started_at %v, finished_at %v: want all set", v.PromptID,
			v.StartedAt, v.FinishedAt)
	}
	for n := range 2 {
		body, ctype, err := f.mgr.OpenImage(context.Background(), j.ID(), n)
		if err != nil {
			t.Fatalf("OpenImage(%d): %v", n, err)
		}
		cfg, err := png.DecodeConfig(body)
		body.Close()
		if err != nil || ctype != "image/png" || cfg.Width != 96 || cfg.Height != 64 {
			t.Errorf("image %d: %s %dx%d (%v), want image/png 96x64", n, ctype, cfg.Width,
				cfg.Height, err)
		}
	}
	if _, _, err := f.mgr.OpenImage(context.Background(), j.ID(), 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenImage(2) of a 2-image job: %v, want ErrNotFound", err)
	}
	if _, _, err := f.mgr.OpenImage(context.Background(), "nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenImage of an unknown job: %v, want ErrNotFound", err)
	}
	if n := jobCount(t, f.mgr, "succeeded"); n != 1 {
		t.Errorf("atelier_jobs_total{result=succeeded} = %g, want 1", n)
	}
}

func TestManagerReportsProgress(t *testing.T) {
	f := newFixture(t, 10*time.Millisecond, Options{})
	j := f.submit(t, `{"prompt":"a red fox","model":"flux1-dev","width":64,"height":64,
		"steps":12}`)
	views := follow(t, j)
	if b, _ := json.Marshal(views[0]); !strings.Contains(string(b), `"images":[]`) {
		t.Errorf("an unfinished job encodes as %s, want \"images\":[]", b)
	}
	var statuses []Status
	var between int
	last := -1.0
	for _, v := range views {
		if len(statuses) == 0 || statuses[len(statuses)-1] != v.Status {
			statuses = append(statuses, v.Status)
		}
		if v.Progress < last {
			t.Errorf("progress went back from %g to %g", last, v.Progress)
		}
		last = v.Progress
		if v.Status == StatusRunning && v.Progress > 0 && v.Progress < 1 {
			between++
			if v.Steps != 12 || v.Step < 1 || v.Step > 12 {
				t.Errorf("running at step %d of %d, want 1…12 of 12", v.Step, v.Steps)
			}
		}
	}
	// The job may be running already when Submit returns.
	if statuses[0] == StatusQueued {
		statuses = statuses[1:]
	}
	if diff := cmp.Diff([]Status{StatusRunning, StatusSucceeded}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if between < 2 {
		t.Errorf("saw %d states with progress strictly between 0 and 1, want several", between)
	}
	if v := views[len(views)-1]; v.Progress != 1 || v.Step != 12 {
		t.Errorf("final progress %g at step %d, want 1 at 12", v.Progress, v.Step)
	}
}

func TestManagerBoundAndExpiry(t *testing.T) {
	const ttl = time.Hour
	f := newFixture(t, 0, Options{MaxJobs: 2, TTL: ttl})
	quick := `{"prompt":"a red fox","model":"sdxl-base","width":64,"height":64,"steps":2}`
	long := `{"prompt":"a red fox","model":"sdxl-base","width":64,"height":64,"steps":60}`

	a := f.submit(t, quick)
	follow(t, a)
	f.clock.advance(time.Minute)

	// Full with a finished job: the finished one makes room.
	f.sim.SetStepDelay(50 * time.Millisecond)
	b := f.submit(t, long)
	c := f.submit(t, long)
	if _, err := f.mgr.Get(a.ID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(a) after two more jobs with MaxJobs 2: %v, want ErrNotFound", err)
	}
	// Full with unfinished jobs: refused, and nothing is dropped.
	if j, err := f.mgr.Submit(context.Background(), starterSnapshot(t), Source{},
		decodeRequest(t, quick)); !errors.Is(err, ErrFull) {
		t.Fatalf("Submit with 2 jobs running and MaxJobs 2 = %v, %v; want ErrFull", j, err)
	}
	for _, j := range []*Job{b, c} {
		if _, err := f.mgr.Get(j.ID()); err != nil {
			t.Errorf("Get(%s) after a refused submit: %v", j.ID(), err)
		}
	}
	// Unfinished jobs never expire.
	f.clock.advance(2 * ttl)
	if _, err := f.mgr.Get(b.ID()); err != nil {
		t.Errorf("Get of a running job past the TTL: %v, want it kept", err)
	}

	f.sim.SetStepDelay(0)
	follow(t, b)
	follow(t, c)
	f.clock.advance(ttl - time.Second)
	for _, j := range []*Job{b, c} {
		if _, err := f.mgr.Get(j.ID()); err != nil {
			t.Errorf("Get(%s) just before its TTL: %v", j.ID(), err)
		}
	}
	f.clock.advance(2 * time.Second)
	for _, j := range []*Job{b, c} {
		if _, err := f.mgr.Get(j.ID()); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) past its TTL: %v, want ErrNotFound", j.ID(), err)
		}
	}
	// Expired jobs made room.
	d := f.submit(t, quick)
	follow(t, d)
	e := f.submit(t, quick)
	follow(t, e)
	for _, j := range []*Job{d, e} {
		if _, err := f.mgr.Get(j.ID()); err != nil {
			t.Errorf("Get(%s): %v", j.ID(), err)
		}
	}
}

func TestManagerOutcomes(t *testing.T) {
	f := newFixture(t, 0, Options{})
	body := `{"prompt":"a red fox","model":"sdxl-base","width":64,"height":64,"steps":40}`

	t.Run("cancelled", func(t *testing.T) {
		f.sim.SetStepDelay(50 * time.Millisecond)
		defer f.sim.SetStepDelay(0)
		j := f.submit(t, body)
		waitFor(t, "the job to run", func() bool { return j.View().Progress > 0 })
		if err := j.Cancel(context.Background()); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		v := last(follow(t, j))
		if v.Status != StatusCancelled {
			t.Errorf("status %s (%+v), want cancelled", v.Status, v.Error)
		}
	})
	t.Run("failed", func(t *testing.T) {
		f.sim.SetFaults(comfysim.Faults{FailExecution: true})
		defer f.sim.SetFaults(comfysim.Faults{})
		v := last(follow(t, f.submit(t, body)))
		if v.Status != StatusFailed || v.Error == nil || v.Error.Message == "" {
			t.Errorf("status %s, error %+v; want failed with a message", v.Status, v.Error)
		}
	})
	t.Run("lost", func(t *testing.T) {
		f.sim.SetStepDelay(50 * time.Millisecond)
		defer f.sim.SetStepDelay(0)
		j := f.submit(t, body)
		waitFor(t, "the job to run", func() bool { return j.View().Progress > 0 })
		f.sim.Restart()
		v := last(follow(t, j))
		if v.Status != StatusLost || v.Error == nil || v.Error.Code != "lost" {
			t.Errorf("status %s, error %+v; want lost", v.Status, v.Error)
		}
	})
	for _, r := range []string{"cancelled", "failed", "lost"} {
		if n := jobCount(t, f.mgr, r); n != 1 {
			t.Errorf("atelier_jobs_total{result=%s} = %g, want 1", r, n)
		}
	}
}

func last(vs []View) View { return vs[len(vs)-1] }

// jobCount reads atelier_jobs_total{result}.
func jobCount(t *testing.T, m *Manager, result string) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.metrics.jobs.WithLabelValues(result).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

func TestManagerRefuses(t *testing.T) {
	f := newFixture(t, 0, Options{})
	snap := starterSnapshot(t)
	submit := func(body string) error {
		_, err := f.mgr.Submit(context.Background(), snap, Source{}, decodeRequest(t, body))
		return err
	}
	var inv *InvalidError
	if err := submit(`{"prompt":"a fox","model":"flux2"}`); !errors.As(err, &inv) {
		t.Errorf("unknown model: %v, want *InvalidError", err)
	}

	// A sampler name of the right shape that ComfyUI does not know: its
	// validation, not Resolve, refuses it.
	var sub *comfyui.SubmitError
	err := submit(`{"prompt":"a fox","model":"sdxl-base","width":64,"height":64,
		"sampler":"warp_drive"}`)
	if !errors.As(err, &sub) || !strings.Contains(sub.Error(), "warp_drive") {
		t.Errorf("unknown sampler: %v, want a *comfyui.SubmitError naming it", err)
	}

	// A LoRA the config allows but the backend lacks.
	inventory := starterInventory()
	inventory.LoRAs = []string{"sdxl/add-detail-xl.safetensors"}
	f.sim.SetInventory(*inventory)
	f.pool.Refresh(context.Background())
	var un *comfyui.UnavailableError
	err = submit(`{"prompt":"a fox","model":"sdxl-base","width":64,"height":64,
		"loras":[{"name":"sdxl/pixel-art-xl.safetensors"}]}`)
	if !errors.As(err, &un) {
		t.Fatalf("missing LoRA: %v, want *comfyui.UnavailableError", err)
	}
	if missing := un.Missing(); len(missing) != 1 ||
		missing[0].Name != "sdxl/pixel-art-xl.safetensors" {
		t.Errorf("missing files %+v, want the LoRA", missing)
	}
	if n := jobCount(t, f.mgr, "rejected"); n != 2 { // the sampler and the LoRA
		t.Errorf("atelier_jobs_total{result=rejected} = %g, want 2", n)
	}
}

// withDefaults sets the sampler and scheduler defaults of the named models
// in a starter snapshot, choosing names unlike the templates' own.
func withDefaults(t *testing.T, snap *config.Snapshot, names map[string][2]string) {
	t.Helper()
	for i, m := range snap.Models {
		n, ok := names[m.Name]
		if !ok {
			continue
		}
		d := config.ModelDefaults{}
		if m.Defaults != nil {
			d = *m.Defaults
		}
		d.Sampler, d.Scheduler = n[0], n[1]
		snap.Models[i].Defaults = &d
	}
	var err error
	if snap.Hash, err = snap.ComputeHash(); err != nil {
		t.Fatal(err)
	}
}

// sentNames reads from the simulator's history the graph a job sent and
// returns every sampler and scheduler name in it, keyed "node.input".
func sentNames(t *testing.T, url, promptID string) map[string]string {
	t.Helper()
	resp, err := http.Get(url + "/history/" + promptID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hist map[string]struct {
		Prompt []json.RawMessage `json:"prompt"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&hist); err != nil {
		t.Fatalf("decoding history: %v", err)
	}
	entry, ok := hist[promptID]
	if !ok || len(entry.Prompt) < 3 {
		t.Fatalf("history of %s has no prompt: %+v", promptID, hist)
	}
	var graph map[string]struct {
		Class  string                     `json:"class_type"`
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(entry.Prompt[2], &graph); err != nil {
		t.Fatalf("decoding the graph of %s: %v", promptID, err)
	}
	inputs := map[string][]string{
		"KSampler": {"sampler_name", "scheduler"}, "KSamplerAdvanced": {"sampler_name", "scheduler"},
		"KSamplerSelect": {"sampler_name"}, "BasicScheduler": {"scheduler"},
	}
	out := map[string]string{}
	for id, n := range graph {
		for _, in := range inputs[n.Class] {
			var v string
			if err := json.Unmarshal(n.Inputs[in], &v); err != nil {
				t.Errorf("%s.%s = %s, want a string", id, in, n.Inputs[in])
			}
			out[id+"."+in] = v
		}
	}
	return out
}

// TestManagerSendsSamplerAndScheduler checks that the graph ComfyUI gets
// carries the model's default sampler and scheduler, or the request's.
func TestManagerSendsSamplerAndScheduler(t *testing.T) {
	f := newFixture(t, 0, Options{})
	snap := starterSnapshot(t)
	withDefaults(t, snap, map[string][2]string{
		"sdxl-base": {"euler_ancestral", "exponential"}, "flux1-dev": {"dpmpp_2m", "beta"},
	})
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{"sdxl model defaults", `{"prompt":"a fox","model":"sdxl-base","width":64,"height":64}`,
			map[string]string{"5.sampler_name": "euler_ancestral", "5.scheduler": "exponential"}},
		{"sdxl request overrides", `{"prompt":"a fox","model":"sdxl-base","width":64,
			"height":64,"sampler":"uni_pc","scheduler":"normal"}`,
			map[string]string{"5.sampler_name": "uni_pc", "5.scheduler": "normal"}},
		{"flux model defaults", `{"prompt":"a fox","model":"flux1-dev","width":64,"height":64,
			"steps":2}`,
			map[string]string{"10.sampler_name": "dpmpp_2m", "11.scheduler": "beta"}},
		{"juggernaut keeps the template's", `{"prompt":"a fox","model":"juggernaut-xl",
			"width":64,"height":64,"steps":2}`,
			map[string]string{"5.sampler_name": "dpmpp_2m", "5.scheduler": "karras"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := f.mgr.Submit(context.Background(), snap, Source{Version: 3},
				decodeRequest(t, tt.body))
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			v := last(follow(t, j))
			if v.Status != StatusSucceeded {
				t.Fatalf("job ended %s (%+v), want succeeded", v.Status, v.Error)
			}
			if diff := cmp.Diff(tt.want, sentNames(t, f.url, v.PromptID)); diff != "" {
				t.Errorf("names sent to ComfyUI (-want +got):\n%s", diff)
			}
		})
	}
}

// TestManagerRefusesHiddenNames checks that a sampler the workflow reads
// from a custom node is refused as a request problem, before any backend
// is asked, rather than failing as an internal error.
func TestManagerRefusesHiddenNames(t *testing.T) {
	snap := starterSnapshot(t)
	for i, w := range snap.Workflows {
		if w.Name != "sdxl-workflow" {
			continue
		}
		var g map[string]any
		dec := json.NewDecoder(strings.NewReader(string(w.WorkflowJSON)))
		dec.UseNumber()
		if err := dec.Decode(&g); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range g {
			if n := n.(map[string]any); n["class_type"] == "KSampler" {
				n["inputs"].(map[string]any)["sampler_name"] = []any{"99", 0}
				found = true
			}
		}
		if !found {
			t.Fatal("the starter's sdxl workflow has no KSampler")
		}
		g["99"] = map[string]any{"class_type": "Sampler Selector",
			"inputs": map[string]any{"sampler_name": "euler"}}
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		snap.Workflows[i].WorkflowJSON = b
	}
	var err error
	if snap.Hash, err = snap.ComputeHash(); err != nil {
		t.Fatal(err)
	}
	mgr := NewManager(Options{Logger: testLogger(t)}) // no pool: nothing may be submitted
	tests := []struct {
		name  string
		body  string
		field string
		words []string
	}{
		{"the model's default", `{"prompt":"a fox","model":"sdxl-base"}`, "model",
			[]string{`default sampler "dpmpp_2m" of model "sdxl-base"`, `"sdxl-workflow"`,
				`node "99" (Sampler Selector)`, "params.sampler"}},
		{"the request's sampler", `{"prompt":"a fox","model":"sdxl-base","sampler":"lcm"}`,
			"sampler", []string{`"lcm" cannot be set`, `node "99" (Sampler Selector)`,
				"leave sampler out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := mgr.Submit(context.Background(), snap, Source{}, decodeRequest(t, tt.body))
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Submit = %v, %v; want an *InvalidError", j, err)
			}
			if len(inv.Problems) != 1 || inv.Problems[0].Field != tt.field {
				t.Fatalf("problems %+v, want one on %s", inv.Problems, tt.field)
			}
			for _, w := range tt.words {
				if !strings.Contains(inv.Problems[0].Message, w) {
					t.Errorf("message %q does not say %q", inv.Problems[0].Message, w)
				}
			}
		})
	}
}
