package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/atelier-dev/atelier/internal/comfyui"
	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/workflow"
)

// Pool is what the manager needs of the ComfyUI pool.
type Pool interface {
	Submit(ctx context.Context, req comfyui.Request) (*comfyui.Job, error)
}

// Options configure a Manager.
type Options struct {
	Pool   Pool
	Logger *slog.Logger
	// MaxJobs bounds the jobs kept in memory. Default: 1000.
	MaxJobs int
	// TTL is how long a finished job is kept. Default: 1h.
	TTL time.Duration
	// Registerer receives the job metrics; nil = not registered.
	Registerer prometheus.Registerer
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Manager keeps the jobs of this process in memory. A restart forgets
// them (the images stay on ComfyUI).
type Manager struct {
	opt     Options
	log     *slog.Logger
	metrics *metrics

	mu   sync.Mutex
	jobs map[string]*Job

	// graphs are the parsed templates of one release (graphsHash), by
	// workflow name; a new release replaces them, so they do not pile up.
	graphMu    sync.Mutex
	graphsHash string
	graphs     map[string]*workflow.Graph
}

// ErrNotFound is returned for an unknown or expired job id.
var ErrNotFound = errors.New("job not found")

// ErrFull is returned when MaxJobs unfinished jobs are kept already.
var ErrFull = errors.New("too many jobs in flight")

// NewManager returns a Manager.
func NewManager(opt Options) *Manager {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxJobs <= 0 {
		opt.MaxJobs = 1000
	}
	if opt.TTL <= 0 {
		opt.TTL = time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &Manager{opt: opt, log: opt.Logger, jobs: map[string]*Job{}, metrics: newMetrics()}
	if opt.Registerer != nil {
		m.metrics.register(opt.Registerer)
	}
	return m
}

// Source says which config a job was built from.
type Source struct {
	Version int64
	Source  string
}

// Submit resolves r against snap, renders the workflow and submits it.
// Errors: *InvalidError for a request that does not fit the config,
// *comfyui.UnavailableError when no backend can run it, *comfyui.SubmitError
// when ComfyUI refuses the graph, ErrFull.
func (m *Manager) Submit(ctx context.Context, snap *config.Snapshot, src Source,
	r Request) (*Job, error) {
	plan, err := Resolve(snap, r)
	if err != nil {
		return nil, err
	}
	g, err := m.graph(snap, plan.Workflow)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	params := workflow.Params{}
	for k, v := range plan.Workflow.Params {
		params[k] = v
	}
	if err := checkNames(g, params, plan, r); err != nil {
		return nil, err
	}
	graph, err := g.Render(workflow.Request{Prompt: plan.Prompt, NegativePrompt: plan.Negative,
		Seed: plan.Seed, Steps: plan.Steps, CFG: plan.CFG, Guidance: plan.Guidance,
		Sampler: plan.Sampler, Scheduler: plan.Scheduler,
		Width: plan.Width, Height: plan.Height, BatchSize: plan.BatchSize,
		ModelFile: plan.Model.File, Loras: plan.Loras, FilenamePrefix: "atelier/" + id,
		Params: params})
	if err != nil {
		return nil, fmt.Errorf("filling workflow %q: %w", plan.Workflow.Name, err)
	}
	j := newJob(id, plan, src, m.opt.Now)
	if err := m.add(j); err != nil {
		return nil, err
	}
	loras := make([]string, len(plan.Loras))
	for i, l := range plan.Loras {
		loras[i] = l.Name
	}
	cj, err := m.opt.Pool.Submit(ctx, comfyui.Request{Graph: graph, Model: plan.Model.File,
		LoRAs: loras, OnUpdate: j.update})
	if err != nil {
		m.remove(id)
		m.metrics.jobs.WithLabelValues("rejected").Inc()
		return nil, err
	}
	j.attach(cj)
	m.log.Info("job submitted", "job_id", id, "prompt_id", cj.ID(), "backend", cj.Backend(),
		"model", plan.Model.Name, "release_version", src.Version, "config_source", src.Source)
	go m.follow(j, cj)
	return j, nil
}

// checkNames refuses a sampler or scheduler the workflow cannot take
// because its template reads that name through a link from a node the
// engine does not understand (a custom selector node): Render would refuse
// it, and the request or the config is what has to change. A name asked for
// is the request's problem; a model default is the config's, reported on
// the model.
//
// TODO: config validation does not check a model's default sampler and
// scheduler against its workflow, so a config whose workflow reads them
// from a custom node is published and then refuses every request for that
// model here.
func checkNames(g *workflow.Graph, params workflow.Params, p *Plan, r Request) error {
	if p.Sampler == "" && p.Scheduler == "" {
		return nil
	}
	ins, err := g.Inspect(params)
	if err != nil {
		return nil // invalid params: Render reports them
	}
	var ps []FieldError
	for _, n := range []struct {
		point, value string
		asked        bool
	}{
		{workflow.PointSampler, p.Sampler, r.Sampler != nil},
		{workflow.PointScheduler, p.Scheduler, r.Scheduler != nil},
	} {
		pt := ins.Point(n.point)
		if n.value == "" || len(pt.Unresolved) == 0 {
			continue
		}
		why := fmt.Sprintf("workflow %q takes its %s from a node the engine does not "+
			"understand (%s)", p.Workflow.Name, n.point, strings.Join(pt.Unresolved, "; "))
		if n.asked {
			ps = append(ps, FieldError{Field: n.point, Message: fmt.Sprintf(
				"%q cannot be set: %s; leave %s out", n.value, why, n.point)})
			continue
		}
		ps = append(ps, FieldError{Field: "model", Message: fmt.Sprintf("the default %s %q "+
			"of model %q cannot be set: %s; the config must name the point in the "+
			"workflow's params.%s or drop the default", n.point, n.value, p.Model.Name, why,
			n.point)})
	}
	if len(ps) > 0 {
		return &InvalidError{Problems: ps}
	}
	return nil
}

// graph returns the parsed template of w, parsed once per release.
func (m *Manager) graph(snap *config.Snapshot, w config.Workflow) (*workflow.Graph, error) {
	m.graphMu.Lock()
	g, ok := m.graphs[w.Name]
	cached := ok && snap.Hash != "" && snap.Hash == m.graphsHash
	m.graphMu.Unlock()
	if cached {
		return g, nil
	}
	g, err := workflow.Parse(w.WorkflowJSON)
	if err != nil {
		return nil, fmt.Errorf("parsing workflow %q: %w", w.Name, err)
	}
	if snap.Hash == "" {
		return g, nil // a snapshot without a hash cannot be told apart from the next
	}
	m.graphMu.Lock()
	defer m.graphMu.Unlock()
	if m.graphsHash != snap.Hash {
		m.graphsHash, m.graphs = snap.Hash, map[string]*workflow.Graph{}
	}
	m.graphs[w.Name] = g
	return g, nil
}

func (m *Manager) follow(j *Job, cj *comfyui.Job) {
	res, _ := cj.Wait(context.Background())
	j.finish(res, m.opt.Now())
	v := j.View()
	m.metrics.jobs.WithLabelValues(string(v.Status)).Inc()
	if v.StartedAt != nil {
		m.metrics.queueWait.Observe(v.StartedAt.Sub(v.CreatedAt).Seconds())
	}
	if v.FinishedAt != nil {
		m.metrics.duration.Observe(v.FinishedAt.Sub(v.CreatedAt).Seconds())
	}
	level := slog.LevelInfo
	if v.Status != StatusSucceeded && v.Status != StatusCancelled {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "job finished", "job_id", v.ID, "status", v.Status,
		"backend", v.Backend, "images", len(v.Images), "error", v.errText())
}

// add stores j, first dropping expired jobs and, when still full, the
// oldest finished ones.
func (m *Manager) add(j *Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opt.Now()
	var finished []*Job
	for id, old := range m.jobs {
		if at := old.finishedAt(); !at.IsZero() {
			if now.Sub(at) > m.opt.TTL {
				delete(m.jobs, id)
				continue
			}
			finished = append(finished, old)
		}
	}
	if len(m.jobs) >= m.opt.MaxJobs {
		sort.Slice(finished, func(a, b int) bool {
			return finished[a].finishedAt().Before(finished[b].finishedAt())
		})
		for _, old := range finished {
			if len(m.jobs) < m.opt.MaxJobs {
				break
			}
			delete(m.jobs, old.id)
		}
	}
	if len(m.jobs) >= m.opt.MaxJobs {
		return ErrFull
	}
	m.jobs[j.id] = j
	return nil
}

func (m *Manager) remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.jobs, id)
}

// Get returns a job by id.
func (m *Manager) Get(id string) (*Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return nil, ErrNotFound
	}
	if at := j.finishedAt(); !at.IsZero() && m.opt.Now().Sub(at) > m.opt.TTL {
		delete(m.jobs, id)
		return nil, ErrNotFound
	}
	return j, nil
}

// OpenImage streams image n of a job.
func (m *Manager) OpenImage(ctx context.Context, id string, n int) (io.ReadCloser, string, error) {
	j, err := m.Get(id)
	if err != nil {
		return nil, "", err
	}
	v := j.View()
	if n < 0 || n >= len(v.Images) {
		return nil, "", fmt.Errorf("%w: job %s has %d images", ErrNotFound, id, len(v.Images))
	}
	return j.comfy().OpenImage(ctx, n)
}
