package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/atelier-dev/atelier/internal/comfyui"
)

// Status is where a job stands.
type Status string

// Job statuses; the last four are final.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusLost      Status = "lost"
)

// Final reports whether s is an outcome.
func (s Status) Final() bool {
	return s != StatusQueued && s != StatusRunning
}

// JobError says why a job failed, for the user.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// View is a job as the API shows it.
type View struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Progress is 0…1 over the sampler steps.
	Progress float64   `json:"progress"`
	Step     int       `json:"step"`
	Steps    int       `json:"steps"`
	Node     string    `json:"node,omitempty"`
	Images   []string  `json:"images"`
	Error    *JobError `json:"error"`

	Model         string     `json:"model"`
	Workflow      string     `json:"workflow"`
	Loras         []string   `json:"loras"`
	Width         int        `json:"width"`
	Height        int        `json:"height"`
	BatchSize     int        `json:"batch_size"`
	Seed          string     `json:"seed"` // a string: JavaScript cannot hold every uint64
	StepsAsked    int        `json:"steps_requested"`
	Backend       string     `json:"backend,omitempty"`
	PromptID      string     `json:"prompt_id,omitempty"`
	ConfigVersion int64      `json:"config_version"`
	ConfigSource  string     `json:"config_source"`
	CreatedAt     time.Time  `json:"created_at"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

func (v View) errText() string {
	if v.Error == nil {
		return ""
	}
	return v.Error.Message
}

// Job is one generation followed by the manager.
type Job struct {
	id  string
	now func() time.Time // the manager's clock

	mu      sync.Mutex
	view    View
	cj      *comfyui.Job
	changed chan struct{} // closed and replaced on every change
	// sampler steps seen so far: a graph with a refiner runs several
	// samplers, so progress counts over all of them
	doneSteps, curMax int
	progNode          string
	totalSteps        int
}

func newJob(id string, p *Plan, src Source, now func() time.Time) *Job {
	loras := make([]string, len(p.Loras))
	for i, l := range p.Loras {
		loras[i] = l.Name
	}
	return &Job{id: id, now: now, changed: make(chan struct{}), totalSteps: p.Steps,
		view: View{ID: id, Status: StatusQueued, Images: []string{}, Model: p.Model.Name,
			Workflow: p.Workflow.Name, Loras: loras, Width: p.Width, Height: p.Height,
			BatchSize: p.BatchSize, Seed: strconv.FormatUint(p.Seed, 10), StepsAsked: p.Steps,
			Steps: p.Steps, ConfigVersion: src.Version, ConfigSource: src.Source,
			CreatedAt: now().UTC()}}
}

// ID is the job's id.
func (j *Job) ID() string { return j.id }

// View returns a copy of the job's state.
func (j *Job) View() View {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view
	v.Images = slices.Clone(j.view.Images) // never nil: the API promises a list
	return v
}

// Changed returns the job's state and a channel closed at its next change.
func (j *Job) Changed() (View, <-chan struct{}) {
	j.mu.Lock()
	ch := j.changed
	j.mu.Unlock()
	return j.View(), ch
}

func (j *Job) notify() {
	close(j.changed)
	j.changed = make(chan struct{})
}

func (j *Job) attach(cj *comfyui.Job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cj = cj
	j.view.Backend, j.view.PromptID = cj.Backend(), cj.ID()
	j.notify()
}

func (j *Job) comfy() *comfyui.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cj
}

func (j *Job) finishedAt() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.view.FinishedAt == nil {
		return time.Time{}
	}
	return *j.view.FinishedAt
}

// update takes a progress update from the pool.
func (j *Job) update(u comfyui.Update) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.view.Status.Final() {
		return
	}
	if u.State == comfyui.StateRunning {
		if j.view.Status != StatusRunning {
			now := j.now().UTC()
			j.view.StartedAt = &now
		}
		j.view.Status = StatusRunning
		if u.Max > 0 {
			// TODO: the total is the requested steps until a later sampler
			// shows more; when every sampler runs the full count (a hires-fix
			// second pass), progress falls back as the second one starts.
			if j.progNode != "" && u.Node != j.progNode {
				j.doneSteps += j.curMax // the next sampler (a refiner) started
			}
			j.progNode, j.curMax = u.Node, u.Max
			total := max(j.totalSteps, j.doneSteps+u.Max)
			j.view.Step, j.view.Steps = j.doneSteps+u.Value, total
			j.view.Progress = min(float64(j.doneSteps+u.Value)/float64(total), 0.99)
		}
		j.view.Node = u.NodeType
	}
	j.notify()
}

// finish records the outcome.
func (j *Job) finish(res comfyui.Result, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := now.UTC()
	j.view.FinishedAt = &t
	j.view.Node = ""
	switch res.State {
	case comfyui.StateSucceeded:
		j.view.Status, j.view.Progress = StatusSucceeded, 1
		j.view.Step = j.view.Steps
		for n := range res.Images {
			j.view.Images = append(j.view.Images, fmt.Sprintf("/api/images/%s/%d", j.id, n))
		}
		if len(res.Images) == 0 {
			j.view.Status = StatusFailed
			j.view.Error = &JobError{Code: "no_images",
				Message: "ComfyUI finished the job but it produced no image"}
		}
	case comfyui.StateCancelled:
		j.view.Status = StatusCancelled
	case comfyui.StateLost:
		j.view.Status = StatusLost
		j.view.Error = &JobError{Code: "lost", Message: errMessage(res.Err,
			"the ComfyUI backend forgot the job (restarted?)")}
	default:
		j.view.Status = StatusFailed
		code := "failed"
		switch {
		case errors.Is(res.Err, comfyui.ErrBackendGone):
			code = "backend_gone"
		case errors.Is(res.Err, comfyui.ErrInterrupted):
			code = "interrupted"
		}
		j.view.Error = &JobError{Code: code, Message: errMessage(res.Err, "the job failed")}
	}
	j.notify()
}

func errMessage(err error, fallback string) string {
	if err == nil {
		return fallback
	}
	return err.Error()
}

// Cancel asks the backend to drop the job; the outcome arrives as usual.
func (j *Job) Cancel(ctx context.Context) error {
	cj := j.comfy()
	if cj == nil {
		return errors.New("the job was not accepted by a backend yet")
	}
	return cj.Cancel(ctx)
}
