package comfyui

import (
	"context"
	"encoding/json"
	"github.com/atelier-dev/atelier/internal/testlog"
	"image/png"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/comfysim"
)

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t) }

// sim is a simulator served over real HTTP.
type sim struct {
	*comfysim.Server
	ts *httptest.Server
}

func (s *sim) URL() string { return s.ts.URL }

// kill stops the server as a crash would: connections cut, nothing answers.
func (s *sim) kill() {
	s.Server.Close()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

func newSim(t *testing.T, inv *comfysim.Inventory, stepDelay time.Duration) *sim {
	t.Helper()
	s := comfysim.New(comfysim.Options{Inventory: inv, StepDelay: stepDelay, Logger: testLogger(t)})
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		ts.CloseClientConnections()
		ts.Close()
	})
	return &sim{Server: s, ts: ts}
}

// fastOptions are pool options scaled down for tests.
func fastOptions(t *testing.T) Options {
	return Options{Logger: testLogger(t), HealthInterval: 50 * time.Millisecond,
		InventoryInterval: 200 * time.Millisecond, RequestTimeout: 5 * time.Second,
		PollMin: 10 * time.Millisecond, PollMax: 100 * time.Millisecond,
		LostAfter: 10 * time.Second, UnreachableAfter: 10 * time.Second}
}

// startPool starts a pool on urls and waits for every up backend's event
// socket, so that tests see the events of their first job.
func startPool(t *testing.T, urls []string, opts Options) *Pool {
	t.Helper()
	return startPoolEvents(t, urls, opts, true)
}

// startPoolEvents starts a pool; waitEvents false is for fakes without /ws.
func startPoolEvents(t *testing.T, urls []string, opts Options, waitEvents bool) *Pool {
	t.Helper()
	p, err := NewPool(urls, opts)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.Start(context.Background())
	t.Cleanup(p.Close)
	for _, st := range p.Backends() {
		if !st.Up || !waitEvents {
			continue
		}
		for !p.backendStatus(st.URL).EventsConnected {
			select {
			case <-ctx.Done():
				t.Fatalf("event socket to %s never connected", st.URL)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return p
}

func (p *Pool) backendStatus(url string) BackendStatus {
	for _, st := range p.Backends() {
		if st.URL == url {
			return st
		}
	}
	return BackendStatus{}
}

// graphSpec describes a txt2img graph for tests.
type graphSpec struct {
	ckpt          string
	loras         []string
	width, height int
	batch         int
	steps         int
	seed          uint64
	prompt        string
}

// txt2img builds an SD-style API graph: checkpoint, LoRA chain, two text
// encoders, empty latent, KSampler, VAEDecode, SaveImage.
func txt2img(s graphSpec) json.RawMessage {
	if s.batch == 0 {
		s.batch = 1
	}
	if s.steps == 0 {
		s.steps = 3
	}
	if s.width == 0 {
		s.width, s.height = 64, 64
	}
	g := map[string]any{
		"4": node("CheckpointLoaderSimple", map[string]any{"ckpt_name": s.ckpt}),
		"5": node("EmptyLatentImage", map[string]any{"width": s.width, "height": s.height,
			"batch_size": s.batch}),
		"8": node("VAEDecode", map[string]any{"samples": []any{"3", 0}, "vae": []any{"4", 2}}),
		"9": node("SaveImage", map[string]any{"filename_prefix": "test", "images": []any{"8", 0}}),
	}
	model, clip := []any{"4", 0}, []any{"4", 1}
	for i, l := range s.loras {
		id := "lora" + string(rune('a'+i))
		g[id] = node("LoraLoader", map[string]any{"lora_name": l, "strength_model": 0.8,
			"strength_clip": 0.8, "model": model, "clip": clip})
		model, clip = []any{id, 0}, []any{id, 1}
	}
	g["6"] = node("CLIPTextEncode", map[string]any{"text": s.prompt, "clip": clip})
	g["7"] = node("CLIPTextEncode", map[string]any{"text": "", "clip": clip})
	g["3"] = node("KSampler", map[string]any{"seed": s.seed, "steps": s.steps, "cfg": 7,
		"sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": model,
		"positive": []any{"6", 0}, "negative": []any{"7", 0}, "latent_image": []any{"5", 0}})
	raw, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	return raw
}

func node(class string, inputs map[string]any) map[string]any {
	return map[string]any{"class_type": class, "inputs": inputs}
}

// recorder keeps every update of a job.
type recorder struct {
	mu      sync.Mutex
	updates []Update
	running chan struct{}
	once    sync.Once
}

func newRecorder() *recorder { return &recorder{running: make(chan struct{})} }

func (r *recorder) record(u Update) {
	r.mu.Lock()
	r.updates = append(r.updates, u)
	r.mu.Unlock()
	if u.State == StateRunning && u.Max > 0 {
		r.once.Do(func() { close(r.running) })
	}
}

func (r *recorder) all() []Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Update(nil), r.updates...)
}

// waitProgress waits until the job reported a sampler step.
func (r *recorder) waitProgress(t *testing.T) {
	t.Helper()
	select {
	case <-r.running:
	case <-time.After(10 * time.Second):
		t.Fatal("the job never reported progress")
	}
}

func wait(t *testing.T, j *Job) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("waiting for job %s: %v (last status %+v)", j.ID(), err, j.Status())
	}
	return res
}

// pngSize decodes an image and returns its size.
func pngSize(t *testing.T, r io.ReadCloser) (int, int) {
	t.Helper()
	defer r.Close()
	cfg, err := png.DecodeConfig(r)
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	return cfg.Width, cfg.Height
}
