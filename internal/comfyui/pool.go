package comfyui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options tunes a Pool. Zero fields take the defaults given.
type Options struct {
	// HTTPClient sends every request. Default: a client with no overall
	// timeout (each call has its own, see RequestTimeout).
	HTTPClient *http.Client
	// Logger receives the pool's logs. Default: slog.Default().
	Logger *slog.Logger
	// HealthInterval is the period of the /system_stats probe. Default: 5s.
	HealthInterval time.Duration
	// InventoryInterval is the period of the /object_info re-read.
	// Default: 60s.
	InventoryInterval time.Duration
	// RequestTimeout bounds each API call (not image downloads). Default: 30s.
	RequestTimeout time.Duration
	// PollMin and PollMax bound the /history polling backoff.
	// Defaults: 250ms and 5s.
	PollMin, PollMax time.Duration
	// LostAfter is how long a job may be neither in history nor in the
	// queue before it counts as lost. Default: 60s.
	LostAfter time.Duration
	// UnreachableAfter is how long a backend may fail to answer about a
	// running job before the job fails. Default: 30s.
	UnreachableAfter time.Duration
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HealthInterval, 5*time.Second)
	def(&o.InventoryInterval, 60*time.Second)
	def(&o.RequestTimeout, 30*time.Second)
	def(&o.PollMin, 250*time.Millisecond)
	def(&o.PollMax, 5*time.Second)
	def(&o.LostAfter, 60*time.Second)
	def(&o.UnreachableAfter, 30*time.Second)
	o.PollMax = max(o.PollMax, o.PollMin)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Pool spreads jobs over ComfyUI backends. Create it with NewPool, call
// Start, and Close it when done.
type Pool struct {
	opts     Options
	hc       *http.Client
	log      *slog.Logger
	backends []*backend

	mu      sync.Mutex // serialises backend choice with its in-flight count
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// ParseURLs reads a COMFYUI_URL value: one or more base URLs separated by
// commas. Blanks are skipped and duplicates dropped; a URL that does not
// parse is an error naming it.
func ParseURLs(list string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(list, ",") {
		u := strings.TrimRight(strings.TrimSpace(part), "/")
		if u == "" {
			continue
		}
		if _, err := NewClient(u, nil); err != nil {
			return nil, err
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// NewPool makes a pool of the backends at urls. It sends nothing until
// Start. An empty list is allowed: every Submit then fails with an
// *UnavailableError saying no backend is configured.
func NewPool(urls []string, opts Options) (*Pool, error) {
	opts.setDefaults()
	p := &Pool{opts: opts, hc: opts.HTTPClient, log: opts.Logger}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for i, u := range urls {
		c, err := NewClient(u, p.hc)
		if err != nil {
			return nil, err
		}
		p.backends = append(p.backends, newBackend(p, c, i))
	}
	return p, nil
}

// Start checks every backend once (health, then inventory), waiting for
// those first checks, then keeps checking in the background until ctx ends
// or Close is called. A backend that does not answer holds Start for up to
// RequestTimeout; give ctx a deadline to bound it.
func (p *Pool) Start(ctx context.Context) {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return
	}
	p.started = true
	p.mu.Unlock()
	p.Refresh(ctx)
	stop := context.AfterFunc(ctx, p.cancel)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		<-p.ctx.Done()
		stop()
	}()
	for _, b := range p.backends {
		b.run(p.ctx, &p.wg)
	}
}

// Refresh checks the health and rereads the inventory of every backend now,
// returning when done.
func (p *Pool) Refresh(ctx context.Context) {
	var wg sync.WaitGroup
	for _, b := range p.backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.probe(ctx)
			b.refreshInventory(ctx)
		}()
	}
	wg.Wait()
}

// Close stops the background checks and ends the jobs still followed as
// failed with ErrPoolClosed (they keep running on ComfyUI).
//
// TODO: jobs live only in this process; after a restart of the service
// nothing follows or cancels the jobs it left on ComfyUI.
func (p *Pool) Close() {
	p.mu.Lock()
	p.cancel()
	p.mu.Unlock()
	p.wg.Wait()
}

// Request is one job for the pool.
type Request struct {
	// Graph is the rendered API-format graph, the "prompt" of POST /prompt.
	Graph json.RawMessage
	// Model is the model file the job needs (a checkpoint or a diffusion
	// model), as the config names it; "" when the caller leaves it to the
	// graph's loaders.
	Model string
	// LoRAs are the LoRA files the job needs.
	LoRAs []string
	// FilenamePrefix, when set, replaces filename_prefix on every SaveImage
	// node. ComfyUI writes no new file for a graph it has cached, so it
	// should be unique per job.
	FilenamePrefix string
	// OnUpdate, when set, receives every change of the job's state in
	// order, from one goroutine; it must not block for long.
	OnUpdate func(Update)
}

// need is one file a job needs.
type need struct {
	kind Kind
	name string
}

// needs lists the request's model and LoRAs and every file the graph's
// loaders name, once each.
func needs(req Request, g *apiGraph) []need {
	var out []need
	add := func(k Kind, name string) {
		n := need{k, normalizeName(name)}
		if name != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	add(KindModel, req.Model)
	for _, l := range req.LoRAs {
		add(KindLoRA, l)
	}
	for _, f := range g.files {
		if f.kind == KindCheckpoint || f.kind == KindUNet {
			if normalizeName(f.name) == normalizeName(req.Model) {
				continue // already checked as the model
			}
		}
		add(f.kind, f.name)
	}
	return out
}

// Submit sends a job to a healthy backend that has all its files, the one
// with the fewest jobs in flight. A backend that fails before accepting the
// job is skipped for the next one. Errors: *UnavailableError when no backend
// is suitable, *SubmitError when ComfyUI refuses the graph, or the last
// backend's failure when every suitable one failed.
func (p *Pool) Submit(ctx context.Context, req Request) (*Job, error) {
	if p.ctx.Err() != nil {
		return nil, ErrPoolClosed
	}
	g, err := parseGraph(req.Graph)
	if err != nil {
		return nil, err
	}
	want := needs(req, g)
	var tried []*backend
	var lastErr error
	for {
		b, j, unavailable := p.reserve(want, tried, req, g)
		if b == nil {
			if lastErr != nil {
				return nil, lastErr
			}
			return nil, unavailable
		}
		tried = append(tried, b)
		err := b.submit(ctx, j, g, req.FilenamePrefix)
		if err == nil {
			p.follow(j)
			return j, nil
		}
		if !retryElsewhere(err) || ctx.Err() != nil {
			return nil, err
		}
		p.log.Warn("comfyui backend failed before accepting a job, trying the next one",
			"backend", b.client.Name(), "err", err)
		lastErr = err
	}
}

// follow starts following an accepted job, unless the pool closed
// meanwhile: then the job ends at once with ErrPoolClosed.
func (p *Pool) follow(j *Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		j.b.removeJob(j)
		j.finish(Result{State: StateFailed, Err: fmt.Errorf(
			"%w: job %s was left on ComfyUI at %s", ErrPoolClosed, j.ID(), j.Backend())})
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		j.follow(p.ctx)
	}()
}

// retryElsewhere tells failures another backend may not have: no answer, a
// 5xx, or a file missing that the inventory said was there.
func retryElsewhere(err error) bool {
	var ue *UnreachableError
	var he *HTTPError
	var se *SubmitError
	switch {
	case errors.As(err, &ue):
		return true
	case errors.As(err, &he):
		return he.StatusCode >= 500
	case errors.As(err, &se):
		return !se.Partial && len(se.MissingFiles()) > 0
	}
	return false
}

// reserve picks the best backend not yet tried and counts the job on it,
// or says why no backend fits.
func (p *Pool) reserve(want []need, tried []*backend, req Request, g *apiGraph) (
	*backend, *Job, *UnavailableError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	unavailable := &UnavailableError{}
	var best *backend
	var bestLoad [2]int
	for _, b := range p.backends {
		if slices.Contains(tried, b) {
			continue
		}
		load, problem := b.fits(want)
		if problem != nil {
			unavailable.Problems = append(unavailable.Problems, *problem)
			continue
		}
		if best == nil || load[0] < bestLoad[0] || (load[0] == bestLoad[0] && load[1] < bestLoad[1]) {
			best, bestLoad = b, load
		}
	}
	if best == nil {
		return nil, nil, unavailable
	}
	j := newJob(uuid.NewString(), best, req.OnUpdate, g.classes)
	best.addJob(j)
	return best, j, nil
}

// fits says whether the backend can take a job needing want, and its load
// (jobs in flight, then ComfyUI's queue) when it can.
func (b *backend) fits(want []need) ([2]int, *BackendProblem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	name := b.client.Name()
	switch {
	case !b.checked:
		return [2]int{}, &BackendProblem{Backend: name, Down: true, Reason: "not checked yet"}
	case !b.up:
		return [2]int{}, &BackendProblem{Backend: name, Down: true, Reason: b.reason}
	case b.inv == nil:
		reason := "its model inventory has not been read yet"
		if b.invErr != "" {
			reason = "its model inventory could not be read: " + b.invErr
		}
		return [2]int{}, &BackendProblem{Backend: name, Reason: reason}
	}
	var missing []MissingFile
	for _, n := range want {
		if _, ok := b.inv.Lookup(n.kind, n.name); !ok {
			missing = append(missing, MissingFile{Kind: n.kind, Name: n.name})
		}
	}
	if len(missing) > 0 {
		return [2]int{}, &BackendProblem{Backend: name, Missing: missing}
	}
	return [2]int{b.inFlight, b.queueRemaining}, nil
}

// submit posts the job, rendered for this backend. On failure the job is
// no longer counted here.
func (b *backend) submit(ctx context.Context, j *Job, g *apiGraph, prefix string) error {
	body, err := g.render(b.inventory(), prefix)
	if err != nil {
		b.removeJob(j)
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.pool.opts.RequestTimeout)
	defer cancel()
	res, err := b.client.Submit(ctx, SubmitRequest{Graph: body, PromptID: j.id, ClientID: b.clientID})
	if err != nil {
		b.removeJob(j)
		var ue *UnreachableError
		var se *SubmitError
		switch {
		case errors.As(err, &ue) && ctx.Err() == nil:
			b.markDown(err)
		case errors.As(err, &se) && len(se.MissingFiles()) > 0:
			kickChan(b.invKick) // the inventory was stale
		}
		return err
	}
	if res.PromptID != "" && res.PromptID != j.id {
		b.rekey(j, res.PromptID) // a server that ignores our prompt_id
	}
	if len(res.NodeErrors) > 0 {
		b.removeJob(j)
		b.dropPartial(j.ID())
		return &SubmitError{Backend: b.client.Name(), StatusCode: http.StatusOK,
			NodeErrors: res.NodeErrors, Partial: true}
	}
	b.log.Debug("comfyui job accepted", "job", j.ID(), "number", res.Number)
	return nil
}

// dropPartial removes a prompt ComfyUI queued with some outputs dropped:
// the user asked for all of them, so the job fails instead.
func (b *backend) dropPartial(id string) {
	ctx, cancel := context.WithTimeout(b.pool.ctx, b.pool.opts.RequestTimeout)
	defer cancel()
	if err := b.cancelPrompt(ctx, id); err != nil {
		b.log.Warn("removing a partly accepted job failed; it may still run", "job", id, "err", err)
	}
}

// Backends lists every backend with its health, load and inventory.
func (p *Pool) Backends() []BackendStatus {
	out := make([]BackendStatus, len(p.backends))
	for i, b := range p.backends {
		out[i] = b.status()
	}
	return out
}

// Locate lists the URLs of the healthy backends that have a file. Use
// KindModel for a model file that may be a checkpoint or a diffusion model.
func (p *Pool) Locate(kind Kind, name string) []string {
	var out []string
	for _, b := range p.backends {
		b.mu.Lock()
		if b.up {
			if _, ok := b.inv.Lookup(kind, name); ok {
				out = append(out, b.client.Name())
			}
		}
		b.mu.Unlock()
	}
	return out
}

// OpenImage downloads an image from the backend with the given URL (as
// Job.Backend and BackendStatus.URL give it). The caller closes the body.
func (p *Pool) OpenImage(ctx context.Context, backendURL string, ref ImageRef) (
	io.ReadCloser, string, error) {
	for _, b := range p.backends {
		if b.client.Name() == backendURL {
			return b.client.OpenImage(ctx, ref)
		}
	}
	return nil, "", fmt.Errorf("no ComfyUI backend %q in the pool", backendURL)
}
