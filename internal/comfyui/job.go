package comfyui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// State is where a job stands.
type State string

// Job states. Queued and running are transient, the others final.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
	// StateLost is a job its backend forgot (usually by restarting).
	StateLost State = "lost"
)

// Final reports whether the state is an outcome.
func (s State) Final() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled || s == StateLost
}

// Update is a job's state as it changes: queued, running with progress,
// then the outcome.
type Update struct {
	JobID   string
	Backend string
	State   State
	// Node and NodeType name the node running now, when known.
	Node     string
	NodeType string
	// Value of Max steps are done in Node (samplers report steps).
	Value, Max int
	// Images are set when State is succeeded.
	Images []ImageRef
	// Err says why, when State is failed or lost.
	Err error
}

// Result is a job's outcome.
type Result struct {
	JobID   string
	Backend string
	State   State
	Images  []ImageRef
	// Err is set for failed and lost jobs: a message for the user. It
	// matches ErrLost, ErrBackendGone, ErrInterrupted or ErrPoolClosed with
	// errors.Is, or is an *ExecutionError.
	Err error
}

// Job is a prompt the pool submitted and follows until its outcome.
type Job struct {
	b        *backend
	onUpdate func(Update)
	classes  map[string]string
	events   chan event
	kick     chan struct{}
	done     chan struct{}
	created  time.Time

	mu        sync.Mutex
	id        string
	status    Update
	result    Result
	cancelReq bool
}

func newJob(id string, b *backend, onUpdate func(Update), classes map[string]string) *Job {
	j := &Job{id: id, b: b, onUpdate: onUpdate, classes: classes,
		events: make(chan event, 256), kick: make(chan struct{}, 1),
		done: make(chan struct{}), created: time.Now()}
	j.status = Update{JobID: id, Backend: b.client.Name(), State: StateQueued}
	return j
}

// ID is the job's ComfyUI prompt_id, a lowercase UUID.
func (j *Job) ID() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.id
}

// Backend is the URL of the server running the job.
func (j *Job) Backend() string { return j.b.client.Name() }

// Status returns the latest update.
func (j *Job) Status() Update {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status
}

// Done is closed when the job has its outcome.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait blocks until the outcome or until ctx ends (then it returns ctx's
// error and the job goes on).
func (j *Job) Wait(ctx context.Context) (Result, error) {
	select {
	case <-j.done:
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.result, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Cancel asks the backend to drop the job: it is removed from the queue,
// then interrupted if it runs. The outcome (cancelled, or succeeded when
// the job finished first) arrives through Wait. An error means the backend
// could not be told; the job is still followed.
func (j *Job) Cancel(ctx context.Context) error {
	select {
	case <-j.done:
		return nil
	default:
	}
	j.mu.Lock()
	j.cancelReq = true
	id := j.id
	j.mu.Unlock()
	err := j.b.cancelPrompt(ctx, id)
	kickChan(j.kick)
	if err != nil {
		return fmt.Errorf("cancelling job %s: %w", id, err)
	}
	return nil
}

// OpenImage downloads the job's n-th image (from 0) through /view.
func (j *Job) OpenImage(ctx context.Context, n int) (io.ReadCloser, string, error) {
	j.mu.Lock()
	images := j.result.Images
	j.mu.Unlock()
	if n < 0 || n >= len(images) {
		return nil, "", fmt.Errorf("job %s has no image %d (it has %d)", j.ID(), n, len(images))
	}
	return j.b.client.OpenImage(ctx, images[n])
}

// hint passes an event on without blocking the socket reader; events are
// hints, so a full buffer drops them.
func (j *Job) hint(ev event) {
	select {
	case j.events <- ev:
	default:
	}
}

func (j *Job) cancelRequested() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cancelReq
}

// follow is the job's loop: it turns events into progress updates and
// decides the outcome from /history, polled with backoff, at once after a
// terminal event.
func (j *Job) follow(ctx context.Context) {
	defer j.b.removeJob(j)
	opts := j.b.pool.opts
	j.publish(j.Status())
	delay := opts.PollMin
	timer := time.NewTimer(jitter(delay))
	defer timer.Stop()
	tr := tracker{lastSeen: time.Now()}
	for {
		select {
		case <-ctx.Done():
			j.finish(Result{State: StateFailed, Err: fmt.Errorf(
				"%w: job %s was left running on ComfyUI at %s", ErrPoolClosed, j.ID(), j.Backend())})
			return
		case ev := <-j.events:
			tr.lastSeen = time.Now()
			if j.onEvent(ev) {
				delay = opts.PollMin
				timer.Reset(0)
			}
			continue
		case <-j.kick:
			delay = opts.PollMin
			timer.Reset(0)
			continue
		case <-timer.C:
		}
		if j.check(ctx, &tr) {
			return
		}
		delay = min(delay*2, opts.PollMax)
		timer.Reset(jitter(delay))
	}
}

// tracker is what follow remembers between polls.
type tracker struct {
	// lastSeen is the last time the backend showed it knew the job.
	lastSeen time.Time
	// unreachableSince is when polling started failing; zero when it works.
	unreachableSince time.Time
}

// onEvent applies an event; it reports whether the event ends the job, so
// that history is read now.
func (j *Job) onEvent(ev event) bool {
	st := j.Status()
	switch ev.typ {
	case "execution_start":
		st.State = StateRunning
	case "executing":
		node, ok := ev.data.node()
		if !ok {
			return true // node null: history is written
		}
		st.State, st.Node, st.NodeType, st.Value, st.Max = StateRunning, node, j.classes[node], 0, 0
	case "progress":
		node, _ := ev.data.node()
		st.State, st.Node, st.NodeType = StateRunning, node, j.classes[node]
		st.Value, st.Max = ev.data.Value, ev.data.Max
	case "execution_success", "execution_error", "execution_interrupted":
		return true
	default:
		return false
	}
	j.publish(st)
	return false
}

// check reads history, and the queue while history is empty; it reports
// whether the job ended.
func (j *Job) check(parent context.Context, tr *tracker) bool {
	opts := j.b.pool.opts
	ctx, cancel := context.WithTimeout(parent, opts.RequestTimeout)
	defer cancel()
	id := j.ID()
	h, err := j.b.client.History(ctx, id)
	if err == nil {
		state, images, jobErr := h.outcome(j.Backend(), j.cancelRequested())
		j.finish(Result{State: state, Images: images, Err: jobErr})
		return true
	}
	if parent.Err() != nil {
		return false // the pool is closing; follow ends the job
	}
	if !errors.Is(err, ErrNoHistory) {
		return j.unreachable(tr, err)
	}
	q, err := j.b.queue(ctx)
	if parent.Err() != nil {
		return false
	}
	if err != nil {
		return j.unreachable(tr, err)
	}
	tr.unreachableSince = time.Time{}
	running, pending := q.Has(id)
	switch {
	case running:
		tr.lastSeen = time.Now()
		if st := j.Status(); st.State == StateQueued {
			st.State = StateRunning
			j.publish(st)
		}
	case pending:
		tr.lastSeen = time.Now()
	case j.cancelRequested():
		j.finish(Result{State: StateCancelled})
		return true
	case time.Since(tr.lastSeen) > opts.LostAfter:
		j.finish(Result{State: StateLost, Err: fmt.Errorf(
			"%w: ComfyUI at %s has had job %s neither in its history nor in its queue for %s "+
				"(it was probably restarted)", ErrLost, j.Backend(), id, opts.LostAfter)})
		return true
	}
	return false
}

// unreachable fails the job once polling has failed for UnreachableAfter.
func (j *Job) unreachable(tr *tracker, err error) bool {
	if tr.unreachableSince.IsZero() {
		tr.unreachableSince = time.Now()
		j.b.log.Warn("comfyui stopped answering about a job, retrying", "job", j.ID(), "err", err)
	}
	after := j.b.pool.opts.UnreachableAfter
	if time.Since(tr.unreachableSince) < after {
		return false
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		j.b.markDown(err)
	}
	j.finish(Result{State: StateFailed, Err: fmt.Errorf(
		"%w while running job %s: ComfyUI at %s has not answered for %s: %v",
		ErrBackendGone, j.ID(), j.Backend(), after, err)})
	return true
}

// publish records an update and passes it to the caller's callback.
func (j *Job) publish(u Update) {
	j.mu.Lock()
	u.JobID = j.id
	j.status = u
	j.mu.Unlock()
	if j.onUpdate != nil {
		j.onUpdate(u)
	}
}

// finish records the outcome, closes Done and sends the final update.
func (j *Job) finish(r Result) {
	j.mu.Lock()
	r.JobID, r.Backend = j.id, j.b.client.Name()
	j.result = r
	j.mu.Unlock()
	log := j.b.log.With("job", r.JobID, "state", r.State,
		"took", time.Since(j.created).Round(time.Millisecond))
	if r.Err != nil {
		log.Warn("comfyui job ended", "err", r.Err)
	} else {
		log.Info("comfyui job ended", "images", len(r.Images))
	}
	st := j.Status()
	st.State, st.Images, st.Err = r.State, r.Images, r.Err
	j.publish(st)
	// Out of the backend's count before anyone waiting learns the outcome,
	// so that a caller seeing Done also sees the job no longer in flight.
	j.b.removeJob(j)
	close(j.done)
}
