package configclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
)

// fakeSync is a sync API server as /work/notes/syncapi.md describes it:
// /all, the section endpoints, /watch, /stream and /health, with ETags,
// bearer tokens and heartbeats. It keeps its releases across Stop and
// Start, like the admin service with its database, and has switches for
// faults. It stands in for the admin service until that exists.
//
// TODO: run these tests against the real admin service (internal/admin,
// SQLite) once it serves the sync API; until then a difference between this
// fake and the admin service goes unnoticed here.
type fakeSync struct {
	t *testing.T

	mu        sync.Mutex
	releases  []fakeRelease // in publish order; the last is current
	changed   chan struct{} // closed and replaced on every publish
	status    int           // when set, every request gets this status
	streamMod string        // "": normal; "silent": connected, then nothing; "drop": close at once
	token     string
	heartbeat time.Duration

	addr    string
	srv     *httptest.Server
	stopCtx context.Context
	stop    context.CancelFunc

	streams   atomic.Int64 // stream requests served
	watches   atomic.Int64
	fetches   atomic.Int64
	notModif  atomic.Int64
	lastWatch atomic.Int64 // the version the last long poll asked from
}

type fakeRelease struct {
	version int64
	hash    string
	body    []byte // the /all body, one line
	snap    *config.Snapshot
}

const syncPath = "/api/admin/config-sync"

func newFakeSync(t *testing.T) *fakeSync {
	t.Helper()
	f := &fakeSync{t: t, changed: make(chan struct{}), heartbeat: 100 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	f.addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(f.Stop)
	return f
}

// URL is the sync API base, as BACKEND_CONFIG_URL.
func (f *fakeSync) URL() string { return "http://" + f.addr + syncPath }

func (f *fakeSync) serve(ln net.Listener) {
	f.stopCtx, f.stop = context.WithCancel(context.Background())
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.handle))
	f.srv.Listener.Close()
	f.srv.Listener = ln
	f.srv.Start()
}

// Stop kills the server: open streams and polls end, new connections are
// refused.
func (f *fakeSync) Stop() {
	f.mu.Lock()
	srv, stop := f.srv, f.stop
	f.srv = nil
	f.mu.Unlock()
	if srv == nil {
		return
	}
	// As http.Server.Shutdown does: stop accepting first, so that a client
	// reconnecting while the handlers end is refused, not half-served.
	srv.Listener.Close()
	stop()
	srv.CloseClientConnections()
	srv.Close()
}

// KickClients closes every open connection; the server stays up.
func (f *fakeSync) KickClients() {
	f.mu.Lock()
	srv := f.srv
	f.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
	}
}

// Start brings a stopped server back on the same address.
func (f *fakeSync) Start() {
	f.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after Stop
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatalf("restarting fake sync server: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serve(ln)
}

// Publish makes snap (sections only are used) the next release and
// returns it with its meta.
func (f *fakeSync) Publish(snap *config.Snapshot) *config.Snapshot {
	f.t.Helper()
	f.mu.Lock()
	next := int64(1)
	if n := len(f.releases); n > 0 {
		next = f.releases[n-1].version + 1
	}
	f.mu.Unlock()
	return f.PublishAs(next, snap)
}

// PublishAs publishes snap as the given version, which may be lower than
// the current one (a restored database).
func (f *fakeSync) PublishAs(version int64, snap *config.Snapshot) *config.Snapshot {
	f.t.Helper()
	rel := snap.Sections()
	s := &rel
	s.Version = version
	s.PublishedAt = time.Now().UTC().Truncate(time.Millisecond)
	s.PublishedBy = "tester"
	h, err := s.ComputeHash()
	if err != nil {
		f.t.Fatalf("hashing: %v", err)
	}
	s.Hash = h
	f.PublishRaw(version, h, releaseBody(f.t, s))
	f.mu.Lock()
	f.releases[len(f.releases)-1].snap = s
	f.mu.Unlock()
	return s
}

// PublishRaw makes body, whatever it is, the current release's /all body.
func (f *fakeSync) PublishRaw(version int64, hash string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releases = append(f.releases, fakeRelease{version: version, hash: hash, body: body})
	close(f.changed)
	f.changed = make(chan struct{})
}

// releaseBody encodes a release as the sync API does: the snapshot, with
// last_updated and config_source.
func releaseBody(t *testing.T, s *config.Snapshot) []byte {
	t.Helper()
	b, err := json.Marshal(struct {
		*config.Snapshot
		LastUpdated  time.Time `json:"last_updated"`
		ConfigSource string    `json:"config_source"`
	}{s, s.PublishedAt, "backend"})
	if err != nil {
		t.Fatalf("encoding release: %v", err)
	}
	return b
}

// SetStatus makes every request answer status (0: normal service).
func (f *fakeSync) SetStatus(status int) {
	f.mu.Lock()
	f.status = status
	f.mu.Unlock()
}

// SetStreamMode sets how /stream behaves: "", "silent" or "drop".
func (f *fakeSync) SetStreamMode(m string) {
	f.mu.Lock()
	f.streamMod = m
	f.mu.Unlock()
}

func (f *fakeSync) SetToken(tok string) {
	f.mu.Lock()
	f.token = tok
	f.mu.Unlock()
}

func (f *fakeSync) current() (fakeRelease, chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.releases) == 0 {
		return fakeRelease{}, f.changed
	}
	return f.releases[len(f.releases)-1], f.changed
}

// since returns the releases to send to a stream that has version sent:
// every later one in order, or the current one when it is older (restore).
func (f *fakeSync) since(sent int64) []fakeRelease {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRelease
	for _, r := range f.releases {
		if r.version > sent {
			out = append(out, r)
		}
	}
	if n := len(f.releases); len(out) == 0 && n > 0 && f.releases[n-1].version != sent {
		out = append(out, f.releases[n-1])
	}
	return out
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (f *fakeSync) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status, token, stopCtx := f.status, f.token, f.stopCtx
	f.mu.Unlock()
	if status != 0 {
		writeAPIError(w, status, "internal", "injected fault")
		return
	}
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid sync token")
		return
	}
	switch strings.TrimPrefix(r.URL.Path, syncPath) {
	case "/all":
		f.fetches.Add(1)
		f.serveAll(w, r)
	case "/watch":
		f.watches.Add(1)
		f.serveWatch(w, r, stopCtx)
	case "/stream":
		f.streams.Add(1)
		f.serveStream(w, r, stopCtx)
	case "/health":
		cur, _ := f.current()
		fmt.Fprintf(w, `{"status":"ok","store":"ok","version":%d}`, cur.version)
	default:
		writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint")
	}
}

func (f *fakeSync) serveAll(w http.ResponseWriter, r *http.Request) {
	cur, _ := f.current()
	if cur.version == 0 {
		writeAPIError(w, http.StatusNotFound, "no_release", "nothing has been published yet")
		return
	}
	etag := strconv.Quote(cur.hash)
	w.Header().Set("ETag", etag)
	w.Header().Set("X-Config-Version", strconv.FormatInt(cur.version, 10))
	if r.Header.Get("If-None-Match") == etag {
		f.notModif.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(cur.body)
}

func (f *fakeSync) serveWatch(w http.ResponseWriter, r *http.Request, stopCtx context.Context) {
	n, _ := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
	f.lastWatch.Store(n)
	timeout := 30 * time.Second
	if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil {
		timeout = min(d, 120*time.Second)
	}
	cur, changed := f.current()
	if cur.version == n {
		select {
		case <-changed:
			cur, _ = f.current()
		case <-time.After(timeout):
			w.WriteHeader(http.StatusNotModified)
			return
		case <-stopCtx.Done():
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
	}
	if cur.version == 0 {
		writeAPIError(w, http.StatusNotFound, "no_release", "nothing has been published yet")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Config-Version", strconv.FormatInt(cur.version, 10))
	w.Write(cur.body)
}

func (f *fakeSync) serveStream(w http.ResponseWriter, r *http.Request, stopCtx context.Context) {
	sent, err := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
	if id := r.Header.Get("Last-Event-ID"); err != nil && id != "" {
		sent, _ = strconv.ParseInt(id, 10, 64)
	}
	f.mu.Lock()
	mode, every := f.streamMod, f.heartbeat
	f.mu.Unlock()
	fl := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	io.WriteString(w, ": connected\n\n")
	fl.Flush()
	switch mode {
	case "drop":
		return
	case "silent":
		select {
		case <-r.Context().Done():
		case <-stopCtx.Done():
		}
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		_, changed := f.current()
		for _, rel := range f.since(sent) {
			fmt.Fprintf(w, "id: %d\nevent: release\ndata: %s\n\n", rel.version, rel.body)
			sent = rel.version
		}
		fl.Flush()
		select {
		case <-changed:
		case <-tick.C:
			io.WriteString(w, ": heartbeat\n\n")
			fl.Flush()
		case <-r.Context().Done():
			return
		case <-stopCtx.Done():
			return
		}
	}
}

// bufferingProxy is a reverse proxy that delivers a response only once it
// is complete, as a proxy with response buffering on does: streams never
// get through, plain requests and long polls do.
func bufferingProxy(t *testing.T, upstream string) string {
	t.Helper()
	hc := &http.Client{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

// hangingServer accepts connections and never answers, like an admin
// service stuck before its handlers.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String() + syncPath
}

// deadURL is a sync API URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + syncPath
}
