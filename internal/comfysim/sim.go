// Package comfysim is a ComfyUI protocol simulator: an http.Handler that
// answers the HTTP and WebSocket API of ComfyUI (validation and error shapes,
// queue, history, events, /view, /object_info) and "renders" cheap PNG
// images, so the service can be tested and tried without a GPU. It produces
// no real images.
//
// Besides ComfyUI's routes it serves test controls under /sim/:
//
//	GET|POST /sim/faults      Faults as JSON; POST merges the members given
//	POST     /sim/restart     forget queue, history and cache; drop sockets
//	GET|PUT  /sim/inventory   Inventory as JSON
//	GET|POST /sim/step-delay  {"step_delay": "50ms"}
package comfysim

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// maxHistory is how many finished prompts ComfyUI keeps (FIFO).
const maxHistory = 10000

// maxBody is ComfyUI's default request body limit.
const maxBody = 100 << 20

// Options configures a Server. The zero value is usable.
type Options struct {
	// Inventory is the model files the server has; nil means DefaultInventory.
	Inventory *Inventory
	// StepDelay is how long each sampler step takes. Default: 0 (no wait).
	StepDelay time.Duration
	// OutputDir is where images are written (output/ and temp/ under it).
	// Default: "" keeps them in memory, the newest 2000 files.
	OutputDir string
	// ComboEncoding picks the /object_info encoding of combo inputs.
	// Default: ComboMixed, both encodings as a late-2025 server mixes them.
	ComboEncoding ComboEncoding
	// Logger receives the simulator's logs. Default: slog.Default().
	Logger *slog.Logger
}

// Faults are failure modes a test can switch on and off while the server
// runs, with SetFaults or POST /sim/faults. Over HTTP they are
// {"silent_websocket", "submit_error", "fail_execution": bool,
// "view_delay": "2s"}; a POST changes only the members it names.
type Faults struct {
	// SilentWebSocket keeps sockets open but sends nothing on them.
	SilentWebSocket bool
	// SubmitError answers POST /prompt with HTTP 500 and a text body.
	SubmitError bool
	// FailExecution makes sampler nodes raise, ending prompts with
	// execution_error.
	FailExecution bool
	// ViewDelay holds every /view answer this long.
	ViewDelay time.Duration
}

// Server is the simulator. Create it with New, serve it as an http.Handler,
// and Close it when done.
type Server struct {
	log   *slog.Logger
	enc   ComboEncoding
	files fileStore
	mux   *http.ServeMux
	done  chan struct{}
	wg    sync.WaitGroup

	mu         sync.Mutex
	wake       *sync.Cond
	closed     bool
	gen        int
	inv        Inventory
	faults     Faults
	stepDelay  time.Duration
	number     int
	seq        int
	pending    []*job
	running    *job
	history    map[string]historyEntry
	histOrder  []string
	cache      map[string]cacheEntry
	sockets    map[string]*socket
	allSockets map[*socket]struct{}
}

// New starts a simulator with its queue worker. It logs a warning that it is
// a simulator, so nobody mistakes its pictures for ComfyUI's.
func New(opts Options) *Server {
	inv := DefaultInventory()
	if opts.Inventory != nil {
		inv = opts.Inventory.clone()
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		log: log, enc: opts.ComboEncoding, done: make(chan struct{}),
		inv: inv, stepDelay: opts.StepDelay,
		history: map[string]historyEntry{}, sockets: map[string]*socket{},
		allSockets: map[*socket]struct{}{},
	}
	s.wake = sync.NewCond(&s.mu)
	s.files = newMemStore()
	if opts.OutputDir != "" {
		s.files = dirStore{root: opts.OutputDir}
	}
	s.routes()
	s.wg.Add(1)
	go s.worker()
	log.Warn("comfysim is a ComfyUI simulator: it produces no real images",
		"checkpoints", len(inv.Checkpoints), "unets", len(inv.UNets), "loras", len(inv.LoRAs),
		"step_delay", opts.StepDelay)
	return s
}

// ServeHTTP serves ComfyUI's API (every route also under /api/) and /sim/.
// After Close it answers 503 to everything, like a server going away.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "comfysim is closed", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Close stops the worker, abandons the running prompt and closes every
// WebSocket. It does not stop an http.Server serving s.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.running != nil {
		s.running.cancel(errClosed)
	}
	for _, j := range s.pending {
		j.cancel(errClosed)
	}
	s.wake.Broadcast()
	s.mu.Unlock()
	close(s.done)
	s.closeSockets()
	s.wg.Wait()
}

// SetFaults replaces the fault switches.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	s.log.Warn("comfysim faults set", "silent_websocket", f.SilentWebSocket,
		"submit_error", f.SubmitError, "fail_execution", f.FailExecution, "view_delay", f.ViewDelay)
}

// Faults returns the fault switches in force.
func (s *Server) Faults() Faults { return s.currentFaults() }

func (s *Server) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetStepDelay changes how long each sampler step takes, from the next step.
func (s *Server) SetStepDelay(d time.Duration) {
	s.mu.Lock()
	s.stepDelay = max(d, 0)
	s.mu.Unlock()
}

// StepDelay returns the per-step delay in force.
func (s *Server) StepDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stepDelay
}

// SetInventory replaces the model files the server has; validation and
// /object_info use it from the next request.
func (s *Server) SetInventory(inv Inventory) {
	s.mu.Lock()
	s.inv = inv.clone()
	s.mu.Unlock()
}

// Inventory returns a copy of the model files the server has.
func (s *Server) Inventory() Inventory {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inv.clone()
}

// Restart behaves like a ComfyUI process restart: the queue, the history and
// the cache are forgotten, the running prompt vanishes without an event, and
// every WebSocket is closed. Stored images stay, as files on disk would.
func (s *Server) Restart() {
	s.mu.Lock()
	s.gen++
	if s.running != nil {
		s.running.cancel(errRestarted)
		s.running = nil
	}
	for _, j := range s.pending {
		j.cancel(errRestarted)
	}
	s.pending = nil
	s.history = map[string]historyEntry{}
	s.histOrder = nil
	s.cache = nil
	s.mu.Unlock()
	s.closeSockets()
	s.log.Warn("comfysim restarted: queue and history forgotten")
}

// enqueue adds an accepted prompt to the queue.
func (s *Server) enqueue(j *job) {
	s.mu.Lock()
	j.gen = s.gen
	s.seq++
	j.seq = s.seq
	j.ctx, j.cancel = context.WithCancelCause(context.Background())
	s.pending = append(s.pending, j)
	sortPending(s.pending)
	s.wake.Signal()
	s.mu.Unlock()
	s.broadcastStatus()
}

// worker runs one prompt at a time, like ComfyUI's prompt worker.
func (s *Server) worker() {
	defer s.wg.Done()
	for {
		j := s.next()
		if j == nil {
			return
		}
		s.execute(j)
		s.mu.Lock()
		if s.running == j {
			s.running = nil
		}
		s.mu.Unlock()
		j.cancel(nil)
		s.broadcastStatus()
	}
}

func (s *Server) next() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.pending) == 0 && !s.closed {
		s.wake.Wait()
	}
	if s.closed {
		return nil
	}
	j := s.pending[0]
	s.pending = s.pending[1:]
	s.running = j
	return j
}

// writeHistory stores a finished prompt, unless the server restarted since
// the prompt was queued. It reports whether it stored it.
func (s *Server) writeHistory(j *job, e historyEntry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.gen != s.gen {
		return false
	}
	if _, ok := s.history[j.id]; !ok {
		s.histOrder = append(s.histOrder, j.id)
	}
	s.history[j.id] = e
	for len(s.histOrder) > maxHistory {
		delete(s.history, s.histOrder[0])
		s.histOrder = s.histOrder[1:]
	}
	return true
}

func (s *Server) queueRemainingLocked() int {
	n := len(s.pending)
	if s.running != nil {
		n++
	}
	return n
}
