package comfyui

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// backend is one ComfyUI server of the pool: its client, health, inventory,
// event socket and the jobs the pool follows on it.
type backend struct {
	pool     *Pool
	client   *Client
	index    int
	clientID string
	log      *slog.Logger

	probeKick chan struct{}
	invKick   chan struct{}

	mu             sync.Mutex
	checked        bool
	up             bool
	reason         string
	lastCheck      time.Time
	version        string
	queueRemaining int
	inv            *Inventory
	invErr         string
	inFlight       int
	jobs           map[string]*Job
	wsConnected    bool
	queueCache     QueueState
	queueAt        time.Time
}

func newBackend(p *Pool, c *Client, index int) *backend {
	return &backend{pool: p, client: c, index: index,
		clientID:  "atelier-" + uuid.NewString(),
		log:       p.log.With("backend", c.Name()),
		probeKick: make(chan struct{}, 1), invKick: make(chan struct{}, 1),
		jobs: map[string]*Job{}}
}

// BackendStatus is a snapshot of one backend as the pool sees it.
type BackendStatus struct {
	URL string
	// Up is the result of the last health check (false before the first).
	Up        bool
	Reason    string
	LastCheck time.Time
	Version   string
	// InFlight counts the jobs this pool follows on the backend.
	InFlight int
	// QueueRemaining is ComfyUI's own count of running and pending prompts,
	// from every client.
	QueueRemaining int
	// EventsConnected tells whether the event WebSocket is open.
	EventsConnected bool
	Inventory       Inventory
	// InventoryError is the last failure to read the inventory, if the
	// last attempt failed.
	InventoryError string
}

func (b *backend) status() BackendStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := BackendStatus{URL: b.client.Name(), Up: b.up, Reason: b.reason, LastCheck: b.lastCheck,
		Version: b.version, InFlight: b.inFlight, QueueRemaining: b.queueRemaining,
		EventsConnected: b.wsConnected, InventoryError: b.invErr}
	if b.inv != nil {
		st.Inventory = b.inv.clone()
	}
	return st
}

// run keeps the backend's health, inventory and event socket up to date
// until ctx ends.
func (b *backend) run(ctx context.Context, wg *sync.WaitGroup) {
	opts := b.pool.opts
	wg.Add(3)
	go func() {
		defer wg.Done()
		b.every(ctx, opts.HealthInterval, b.probeKick, b.probe)
	}()
	go func() {
		defer wg.Done()
		b.every(ctx, opts.InventoryInterval, b.invKick, b.refreshInventory)
	}()
	go func() {
		defer wg.Done()
		b.listen(ctx)
	}()
}

// every calls f each period, or sooner when kicked, until ctx ends.
func (b *backend) every(ctx context.Context, period time.Duration, kick chan struct{},
	f func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		f(ctx)
	}
}

func kickChan(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// probe checks health on /system_stats and reads the queue depth from
// GET /prompt.
func (b *backend) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, b.pool.opts.RequestTimeout)
	defer cancel()
	version, err := b.client.SystemStats(ctx)
	remaining := 0
	if err == nil {
		remaining, err = b.client.QueueRemaining(ctx)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // the pool is closing; that says nothing about the backend
	}
	b.setHealth(err, func() { b.version, b.queueRemaining = version, remaining })
}

// setHealth records a health result and logs up/down transitions.
func (b *backend) setHealth(err error, onUp func()) {
	b.mu.Lock()
	wasUp, first := b.up, !b.checked
	b.checked, b.lastCheck = true, time.Now()
	b.up = err == nil
	b.reason = ""
	if err != nil {
		b.reason = err.Error()
	} else if onUp != nil {
		onUp()
	}
	up := b.up
	b.mu.Unlock()
	switch {
	case up && (!wasUp || first):
		b.log.Info("comfyui backend up")
		kickChan(b.invKick)
	case !up && (wasUp || first):
		b.log.Warn("comfyui backend down, sending it no jobs", "err", err)
	}
}

// markDown takes a backend out of selection after a request found it
// unreachable; the next health check brings it back.
func (b *backend) markDown(err error) {
	b.setHealth(err, nil)
	kickChan(b.probeKick)
}

// refreshInventory rereads the model lists; a failure keeps the old ones.
func (b *backend) refreshInventory(ctx context.Context) {
	b.mu.Lock()
	up := b.up
	b.mu.Unlock()
	if !up {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.pool.opts.RequestTimeout)
	defer cancel()
	inv, err := b.client.FetchInventory(ctx)
	if err != nil {
		if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
			b.log.Warn("reading comfyui inventory failed, keeping the previous one", "err", err)
			b.mu.Lock()
			b.invErr = err.Error()
			b.mu.Unlock()
		}
		return
	}
	b.mu.Lock()
	old := b.inv
	b.inv, b.invErr = &inv, ""
	b.mu.Unlock()
	if old == nil || old.Size() != inv.Size() {
		b.log.Info("comfyui inventory read", "checkpoints", len(inv.Checkpoints),
			"unets", len(inv.UNets), "loras", len(inv.LoRAs), "vaes", len(inv.VAEs),
			"text_encoders", len(inv.CLIPs))
	}
}

// inventory returns the current inventory, nil before the first read.
func (b *backend) inventory() *Inventory {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inv
}

// queue reads /queue, sharing one answer among the jobs polling within
// PollMin of each other (the answer holds full graphs).
func (b *backend) queue(ctx context.Context) (QueueState, error) {
	b.mu.Lock()
	if time.Since(b.queueAt) < b.pool.opts.PollMin {
		q := b.queueCache
		b.mu.Unlock()
		return q, nil
	}
	b.mu.Unlock()
	q, err := b.client.Queue(ctx)
	if err != nil {
		return QueueState{}, err
	}
	b.mu.Lock()
	b.queueCache, b.queueAt = q, time.Now()
	b.mu.Unlock()
	return q, nil
}

// forgetQueue drops the shared /queue answer after the queue changed.
func (b *backend) forgetQueue() {
	b.mu.Lock()
	b.queueAt = time.Time{}
	b.mu.Unlock()
}

// addJob counts a job in flight and routes its events to it.
func (b *backend) addJob(j *Job) {
	b.mu.Lock()
	b.inFlight++
	b.jobs[j.ID()] = j
	b.queueAt = time.Time{}
	b.mu.Unlock()
}

func (b *backend) removeJob(j *Job) {
	b.mu.Lock()
	if id := j.ID(); b.jobs[id] == j {
		delete(b.jobs, id)
		b.inFlight--
	}
	b.mu.Unlock()
}

// rekey follows a server that answered with its own prompt id.
func (b *backend) rekey(j *Job, id string) {
	b.mu.Lock()
	delete(b.jobs, j.ID())
	b.jobs[id] = j
	b.mu.Unlock()
	j.mu.Lock()
	j.id, j.status.JobID = id, id
	j.mu.Unlock()
}

// cancelPrompt removes a prompt from the queue, then interrupts it if it
// runs. The queue is checked first because older servers ignore the id and
// would stop whatever job runs.
func (b *backend) cancelPrompt(ctx context.Context, id string) error {
	if err := b.client.DeleteQueued(ctx, id); err != nil {
		return err
	}
	b.forgetQueue()
	q, err := b.client.Queue(ctx)
	if err != nil {
		return err
	}
	if running, _ := q.Has(id); running {
		return b.client.Interrupt(ctx, id)
	}
	return nil
}

// jitter spreads retries of many jobs and backends: d ± 20%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}
