// Package configclient is the main service's config client: it serves the
// configuration snapshot from the best of three sources — the admin
// service's sync API (backend), a verified disk cache, and the local YAML
// file — keeps it current over the sync API's event stream (or long poll),
// and reports honestly where the served snapshot came from.
//
// Current is one atomic load. New never blocks longer than StartupWait and
// never fails because the admin service is down.
package configclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Sources of the served snapshot, as Status.Source and the metrics name them.
const (
	// SourceBackend: the admin service is reachable and the snapshot came
	// from it, or it confirmed the snapshot since the connection was made.
	SourceBackend = "backend"
	// SourceCache: the snapshot came from (or is only still backed by) the
	// disk cache, because the admin service is unreachable or has not
	// confirmed it yet.
	SourceCache = "cache"
	// SourceLocal: the snapshot came from the local config file.
	SourceLocal = "local"
	// SourceNone: nothing usable exists; Current returns nil.
	SourceNone = "none"
)

// Transports through which the client follows releases (Status.Transport).
const (
	TransportStream = "stream" // Server-Sent Events
	TransportWatch  = "watch"  // long poll
	TransportNone   = "none"   // no backend configured
)

// Options configure a Client. Zero durations take the defaults of DESIGN
// §1, except StartupWait, where zero means not waiting at all.
type Options struct {
	// URL is the sync API base (BACKEND_CONFIG_URL); "" means local file only.
	URL string
	// Token is the sync API bearer token; never logged.
	Token string
	// CacheDir is the cache folder; "" disables the cache.
	CacheDir string
	// LocalConfig is the local config file; "" means none.
	LocalConfig string
	// CacheTTL is the age after which the served config counts as stale
	// and is revalidated. Default 300s.
	CacheTTL time.Duration
	// SyncInterval is the period of the conditional full fetch. Default 60s.
	SyncInterval time.Duration
	// StartupWait is the longest time New waits for the backend.
	StartupWait time.Duration
	// HeartbeatTimeout is how long the event stream may stay silent before
	// it counts as dead. Default 30s (two 15 s heartbeats).
	HeartbeatTimeout time.Duration
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the client's metrics; nil = not registered.
	Registerer prometheus.Registerer
	// HTTPClient performs sync requests. It must not set a Timeout, which
	// would cut the event stream; the client bounds each request itself.
	HTTPClient *http.Client

	tune *tuning // tests only
}

// tuning holds the client's internal timings; tests shorten them.
type tuning struct {
	connectWait      time.Duration // longest wait for the stream's ": connected"
	minHold          time.Duration // a stream ending sooner is an early disconnect
	earlyLimit       int           // early disconnects in a row before the long poll
	streamRetryAfter time.Duration // long poll time before the stream is tried again
	backoffBase      time.Duration
	backoffCap       time.Duration
	watchTimeout     time.Duration // the timeout asked of /watch
	fetchTimeout     time.Duration // bound of one /all request
	tick             time.Duration // how often the fetch loop checks what is due
	localRetry       time.Duration // how often cache and local are retried with none
}

var defaultTuning = tuning{
	connectWait:      3 * time.Second,
	minHold:          5 * time.Second,
	earlyLimit:       3,
	streamRetryAfter: 10 * time.Minute,
	backoffBase:      500 * time.Millisecond,
	backoffCap:       30 * time.Second,
	watchTimeout:     30 * time.Second,
	fetchTimeout:     10 * time.Second,
	tick:             time.Second,
	localRetry:       5 * time.Second,
}

// Client serves the current configuration snapshot and keeps it current.
// Its methods are safe for concurrent use.
type Client struct {
	opt     Options
	tune    tuning
	log     *slog.Logger
	hc      *http.Client
	base    string
	m       *metrics
	started time.Time

	cur atomic.Pointer[config.Snapshot]

	applyMu sync.Mutex // serializes applies, with their cache writes and notifications
	seq     uint64     // number of applies; guarded by applyMu

	mu sync.Mutex // guards st
	st state

	subsMu sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool

	revalidate chan struct{} // asks the fetch loop for a conditional fetch now
	firstSync  chan struct{} // closed when the first fetch attempt is over
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	closeOnce  sync.Once
}

// New starts a client. It serves at once from the best of the cache and the
// local file, then waits at most opt.StartupWait (or until ctx ends) for
// the backend's first answer. It fails only on invalid Options or metrics
// that cannot be registered, never because the admin service is down. ctx
// bounds only the start-up wait; the client runs until Close.
func New(ctx context.Context, opt Options) (*Client, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	opt.setDefaults()
	c := &Client{
		opt:        opt,
		tune:       defaultTuning,
		log:        opt.Logger,
		hc:         opt.HTTPClient,
		base:       strings.TrimRight(opt.URL, "/"),
		started:    time.Now(),
		subs:       map[*subscriber]struct{}{},
		revalidate: make(chan struct{}, 1),
		firstSync:  make(chan struct{}),
	}
	if opt.tune != nil {
		c.tune = *opt.tune
	}
	c.m = newMetrics(c.secondsSinceSync)
	if err := c.m.register(opt.Registerer); err != nil {
		return nil, err
	}
	c.st.transport = TransportNone
	c.st.loggedSource = SourceNone
	c.loadFloor()
	c.mu.Lock()
	c.noteTransitionLocked("start") // sets the source gauges even when nothing loaded
	c.mu.Unlock()

	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go c.maintainLoop(runCtx)
	if c.base != "" {
		c.setTransport(TransportStream)
		c.wg.Add(1)
		go c.streamLoop(runCtx)
		c.waitStartup(ctx)
	}
	c.logStart()
	return c, nil
}

// logStart says what the client serves after start-up: Warn when it has
// nothing, or when a backend is configured and did not answer.
func (c *Client) logStart() {
	st := c.Status()
	attrs := []any{"config_source", st.Source, "release_version", st.Version,
		"backend_url", redactURL(c.base), "backend_connected", st.BackendConnected}
	level := slog.LevelInfo
	if st.Source == SourceNone || c.base != "" && !st.BackendConnected {
		level = slog.LevelWarn
		if st.LastError != "" {
			attrs = append(attrs, "error", st.LastError)
		}
	}
	c.log.Log(context.Background(), level, "config client started", attrs...)
}

func (c *Client) waitStartup(ctx context.Context) {
	if c.opt.StartupWait <= 0 {
		return
	}
	t := time.NewTimer(c.opt.StartupWait)
	defer t.Stop()
	select {
	case <-c.firstSync:
	case <-t.C:
		c.log.Warn("admin service did not answer within the start-up wait, going on",
			"startup_wait", c.opt.StartupWait)
	case <-ctx.Done():
	}
}

func (o *Options) check() error {
	var errs []error
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("URL %q is not an http(s) URL", o.URL))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"CacheTTL", o.CacheTTL}, {"SyncInterval", o.SyncInterval},
		{"StartupWait", o.StartupWait}, {"HeartbeatTimeout", o.HeartbeatTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	if o.HTTPClient != nil && o.HTTPClient.Timeout > 0 {
		errs = append(errs, errors.New("HTTPClient must not set a Timeout: it would cut "+
			"the event stream"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config client options: %w", err)
	}
	return nil
}

func (o *Options) setDefaults() {
	if o.CacheTTL == 0 {
		o.CacheTTL = 300 * time.Second
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = 60 * time.Second
	}
	if o.HeartbeatTimeout == 0 {
		o.HeartbeatTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient()
	}
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

// redactURL drops user info and the query from a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return s
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// Current returns the served snapshot, or nil when nothing usable exists.
// It is one atomic load. The snapshot is shared: callers must not modify it.
func (c *Client) Current() *config.Snapshot { return c.cur.Load() }

// Source returns where the served snapshot came from: SourceBackend,
// SourceCache, SourceLocal or SourceNone.
func (c *Client) Source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.source(c.cur.Load() != nil)
}

// Close stops syncing and every subscriber's delivery, unregisters the
// metrics and waits for the client's goroutines. Current keeps answering.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.subsMu.Lock()
		c.closed = true
		for s := range c.subs {
			s.stop()
			delete(c.subs, s)
		}
		c.subsMu.Unlock()
		c.m.unregister()
	})
	return nil
}

// loadFloor serves the best of the cache and the local file.
func (c *Client) loadFloor() {
	if c.loadCache() {
		return
	}
	c.loadLocal()
}

// loadCache serves the cache. Without a backend URL the client is "local
// file only", and a cache left from an earlier setup is not used.
func (c *Client) loadCache() bool {
	if c.opt.CacheDir == "" || c.base == "" {
		return false
	}
	e, err := ReadCacheEntry(c.opt.CacheDir)
	if err != nil {
		msg := oneLine(err)
		c.mu.Lock()
		repeated := msg == c.st.cacheLoadErr
		c.st.cacheLoadErr = msg
		c.mu.Unlock()
		if !isNotExist(err) && !repeated { // retried every few seconds while nothing is served
			c.m.rejected.Inc()
			c.log.Warn("config cache unusable, trying the local file", "cache_dir",
				c.opt.CacheDir, "error", msg)
		}
		return false
	}
	if e.Skipped != "" {
		c.m.rejected.Inc()
		c.log.Warn("config cache file damaged, using its backup", "file", e.Path,
			"reason", e.Skipped)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur.Store(e.Snapshot)
	c.st.origin = SourceCache
	c.st.cursor = e.Snapshot.Version
	c.st.verifiedAt = e.FetchedAt
	c.st.lastUpdate = time.Now()
	c.m.version.Set(float64(e.Snapshot.Version))
	c.noteTransitionLocked("loaded from the disk cache")
	return true
}

func (c *Client) loadLocal() bool {
	if c.opt.LocalConfig == "" {
		return false
	}
	snap, err := config.Load(c.opt.LocalConfig)
	if err == nil && len(snap.Models) == 0 {
		err = errors.New("it has no models")
	}
	if err == nil {
		snap.Hash, err = snap.ComputeHash()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		msg := oneLine(err)
		if msg != c.st.localErr {
			c.st.localErr = msg
			c.log.Warn("local config file unusable", "file", c.opt.LocalConfig, "error", msg)
		}
		return false
	}
	c.st.localErr = ""
	c.cur.Store(snap)
	c.st.origin = SourceLocal
	c.st.cursor = 0
	c.st.lastUpdate = time.Now()
	c.m.version.Set(0)
	c.noteTransitionLocked("loaded from " + c.opt.LocalConfig)
	return true
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
