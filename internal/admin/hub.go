package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
)

// published is one release as the sync API serves it, encoded once: every
// waiter gets these same bytes.
type published struct {
	version     int64
	hash        string
	etag        string
	publishedAt time.Time
	all         []byte            // the /all body
	sections    map[string][]byte // "models", "loras", "workflows", "image-gen"
	event       []byte            // the SSE event carrying all
}

// syncAll is the /all body: the snapshot with its meta, plus the brief's
// last_updated and config_source.
type syncAll struct {
	*config.Snapshot
	LastUpdated  time.Time `json:"last_updated"`
	ConfigSource string    `json:"config_source"`
}

// encodeRelease builds the sync API's bodies for r.
func encodeRelease(r Release) (*published, error) {
	snap, _, err := config.DecodeJSON(r.Config, "release")
	if err != nil {
		return nil, fmt.Errorf("decoding release %d: %w", r.Version, err)
	}
	snap.Version, snap.Hash, snap.PublishedAt, snap.PublishedBy =
		r.Version, r.Hash, r.PublishedAt.UTC(), r.PublishedBy
	if snap.SchemaVersion == 0 {
		snap.SchemaVersion = config.SchemaVersion // releases store the sections only
	}
	p := &published{version: r.Version, hash: r.Hash, etag: strconv.Quote(r.Hash),
		publishedAt: r.PublishedAt, sections: map[string][]byte{}}
	if p.all, err = marshalLine(syncAll{snap, r.PublishedAt.UTC(), "backend"}); err != nil {
		return nil, err
	}
	meta := func(key string, v any) ([]byte, error) {
		return marshalLine(map[string]any{key: v, "version": r.Version, "hash": r.Hash,
			"last_updated": r.PublishedAt.UTC(), "config_source": "backend"})
	}
	for _, s := range []struct {
		path, key string
		v         any
	}{{"models", "models", snap.Models}, {"loras", "loras", snap.Loras},
		{"workflows", "workflows", snap.Workflows}, {"image-gen", "image_gen", snap.ImageGen}} {
		if p.sections[s.path], err = meta(s.key, s.v); err != nil {
			return nil, err
		}
	}
	var ev bytes.Buffer
	fmt.Fprintf(&ev, "id: %d\nevent: release\ndata: ", r.Version)
	ev.Write(bytes.TrimSuffix(p.all, []byte("\n")))
	ev.WriteString("\n\n")
	p.event = ev.Bytes()
	return p, nil
}

func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding sync body: %w", err)
	}
	return b.Bytes(), nil
}

// hub holds the current release and wakes every waiter when it changes.
// Waiting costs nothing: each waiter blocks on the same channel, which is
// closed (waking all at once) and replaced on every change.
type hub struct {
	cur atomic.Pointer[published]

	mu      sync.Mutex
	changed chan struct{}
	done    chan struct{} // closed on shutdown
	closed  bool

	waiters sync.Map // id -> *Watcher
	nextID  atomic.Int64
}

func newHub() *hub {
	return &hub{changed: make(chan struct{}), done: make(chan struct{})}
}

// current returns the release in force (nil before the first publish) and
// a channel that is closed when it changes.
func (h *hub) current() (*published, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.Load(), h.changed
}

// set makes p current and wakes every waiter, unless p is already current.
// A version lower than the current one (a restored database) is accepted.
func (h *hub) set(p *published) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.cur.Load(); c != nil && c.version == p.version && c.hash == p.hash {
		return false
	}
	h.cur.Store(p)
	close(h.changed)
	h.changed = make(chan struct{})
	return true
}

// shutdown ends every wait: long polls answer 304 and streams close.
func (h *hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Watcher is one main service waiting on the sync API.
type Watcher struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"` // "stream" or "watch"
	Remote    string    `json:"remote"`
	Client    string    `json:"client"` // token name or user
	UserAgent string    `json:"user_agent"`
	Since     time.Time `json:"since"`
	// Version is the latest version it has: the one it asked from, then
	// each one sent to it.
	Version int64 `json:"version"`
}

// heldWatcher is a Watcher whose version moves as releases are sent.
type heldWatcher struct {
	w       Watcher
	version atomic.Int64
}

// addWatcher records w until the returned function is called; the setter
// records each version sent to it.
func (h *hub) addWatcher(w *Watcher) (sent func(int64), remove func()) {
	w.ID = h.nextID.Add(1)
	hw := &heldWatcher{w: *w}
	hw.version.Store(w.Version)
	h.waiters.Store(w.ID, hw)
	return hw.version.Store, func() { h.waiters.Delete(w.ID) }
}

// watchers lists the main services waiting now.
func (h *hub) watchers() []Watcher {
	var out []Watcher
	h.waiters.Range(func(_, v any) bool {
		hw := v.(*heldWatcher)
		w := hw.w
		w.Version = hw.version.Load()
		out = append(out, w)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
