package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atelier-dev/atelier/internal/httperr"
)

// MaxBodyBytes limits request bodies; larger ones get 413.
const MaxBodyBytes = 10 << 20

// Options configure a Server.
type Options struct {
	Store Store
	// Logger receives the service's logs. Default: slog.Default().
	Logger *slog.Logger
	// Loopback tells whether the admin listens on a loopback address only;
	// the sync API may then be open while no sync token exists.
	Loopback bool
	// BcryptCost is the password hashing cost. Default: bcrypt.DefaultCost.
	BcryptCost int
	// SessionTTL is how long a console login lasts. Default: 12h.
	SessionTTL time.Duration
	// HeartbeatInterval is the stream heartbeat period. Default: 15s.
	HeartbeatInterval time.Duration
	// RefreshInterval is how often the server re-reads the latest release
	// from the store, a safety net behind NOTIFY. Default: 10s.
	RefreshInterval time.Duration
	// Console is the built admin console (web/dist/admin), nil when the UI
	// was not built.
	Console fs.FS
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Server is the admin service: admin API, sync API and console.
type Server struct {
	opt     Options
	store   Store
	log     *slog.Logger
	hub     *hub
	metrics *metrics
	reg     *prometheus.Registry
	limiter *loginLimiter
	handler http.Handler

	dummyOnce sync.Once
	dummy     string

	// publishMu makes "check the current release, then create the next"
	// one step within this process, so that concurrent publishes of one
	// draft give one release, not ten equal ones.
	publishMu sync.Mutex

	// revoked holds the ids of revoked tokens, so that held streams and
	// long polls can be ended without a database read per waiter; it is
	// filled at start, on every local revocation and on each refresh.
	revoked sync.Map // int64 -> struct{}
	// authChanged is closed and replaced whenever who may read the sync
	// API may have changed (a token created or revoked, a user changed).
	authMu      sync.Mutex
	authChanged chan struct{}
}

// NewServer loads the current release and returns a ready Server. Call Run
// to follow releases published by other processes.
func NewServer(ctx context.Context, opt Options) (*Server, error) {
	if opt.Store == nil {
		return nil, errors.New("admin: a store is required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.SessionTTL == 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.HeartbeatInterval == 0 {
		opt.HeartbeatInterval = 15 * time.Second
	}
	if opt.RefreshInterval == 0 {
		opt.RefreshInterval = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{opt: opt, store: opt.Store, log: opt.Logger, hub: newHub(),
		reg: prometheus.NewRegistry(), limiter: newLoginLimiter(opt.Now),
		authChanged: make(chan struct{})}
	s.metrics = newMetrics(s.reg, s.hub)
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown answers every waiting long poll with 304 and closes streams, so
// that an http.Server can then shut down without waiting for them.
func (s *Server) Shutdown() { s.hub.shutdown() }

// Run follows releases published by other processes sharing the store
// (through NOTIFY when the store supports it, and a periodic re-read) until
// ctx ends.
func (s *Server) Run(ctx context.Context) {
	if n, ok := s.store.(ReleaseNotifier); ok {
		go func() {
			err := n.WatchReleases(ctx, func(int64) {
				if err := s.refresh(ctx); err != nil {
					s.log.Warn("reloading release after notification failed", "err", err)
				}
			})
			if err != nil && ctx.Err() == nil {
				s.log.Error("release notifications stopped", "err", err)
			}
		}()
	}
	t := time.NewTicker(s.opt.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.refresh(ctx); err != nil {
				s.log.Warn("re-reading the latest release failed", "err", err)
			}
		}
	}
}

// refresh makes the store's latest release current in the hub, and
// re-reads revoked tokens (revocations made by other processes).
func (s *Server) refresh(ctx context.Context) error {
	if err := s.loadRevoked(ctx); err != nil {
		return err
	}
	r, err := s.store.LatestRelease(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading latest release: %w", err)
	}
	if c, _ := s.hub.current(); c != nil && c.version == r.Version && c.hash == r.Hash {
		return nil
	}
	p, err := encodeRelease(r)
	if err != nil {
		return err
	}
	if s.hub.set(p) {
		s.metrics.version.Set(float64(r.Version))
	}
	return nil
}

// SyncOpen reports whether the sync API answers without a token: only on
// a loopback listener while no sync token exists.
func (s *Server) SyncOpen(ctx context.Context) (bool, error) {
	if !s.opt.Loopback {
		return false, nil
	}
	n, err := s.store.CountSyncTokens(ctx)
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, min Role, fn func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.instrument(pattern, s.authorize(min, fn)))
	}
	// Public.
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httperr.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", httperr.Func(s.log, s.readyz))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.Handle("POST /api/admin/login", s.instrument("POST /api/admin/login",
		httperr.Func(s.log, s.login)))

	// Any signed-in user.
	h("POST /api/admin/logout", RoleViewer, s.logout)
	h("GET /api/admin/me", RoleViewer, s.me)
	h("GET /api/admin/status", RoleViewer, s.status)

	h("GET /api/admin/draft", RoleViewer, s.getDraft)
	h("GET /api/admin/draft/diff", RoleViewer, s.draftDiff)
	h("POST /api/admin/workflows/inspect", RoleViewer, s.inspectWorkflow)
	h("PUT /api/admin/draft", RoleEditor, s.putDraft)
	h("POST /api/admin/draft/validate", RoleViewer, s.validateConfig)
	h("POST /api/admin/draft/import", RoleEditor, s.importDraft)

	h("GET /api/admin/releases", RoleViewer, s.listReleases)
	h("GET /api/admin/releases/{version}", RoleViewer, s.getRelease)
	h("GET /api/admin/releases/{a}/diff/{b}", RoleViewer, s.diffReleases)
	h("POST /api/admin/releases", RolePublisher, s.publish)
	h("POST /api/admin/releases/{version}/rollback", RolePublisher, s.rollback)

	h("GET /api/admin/audit", RoleViewer, s.listAudit)

	h("GET /api/admin/users", RoleAdmin, s.listUsers)
	h("POST /api/admin/users", RoleAdmin, s.createUser)
	h("PATCH /api/admin/users/{name}", RoleAdmin, s.updateUser)
	h("DELETE /api/admin/users/{name}", RoleAdmin, s.deleteUser)
	h("GET /api/admin/tokens", RoleAdmin, s.listTokens)
	h("POST /api/admin/tokens", RoleAdmin, s.createToken)
	h("DELETE /api/admin/tokens/{id}", RoleAdmin, s.revokeToken)

	// The sync API: sync tokens, or any signed-in user, or nobody while it
	// is open (see SyncOpen).
	for _, ep := range []string{"models", "loras", "workflows", "image-gen", "all"} {
		mux.Handle("GET /api/admin/config-sync/"+ep, s.instrument("GET /api/admin/config-sync/"+ep,
			s.authorizeSync(s.syncSection(ep))))
	}
	mux.Handle("GET /api/admin/config-sync/watch", s.authorizeSync(s.syncWatch))
	mux.Handle("GET /api/admin/config-sync/stream", s.authorizeSync(s.syncStream))
	mux.Handle("GET /api/admin/config-sync/health", s.instrument(
		"GET /api/admin/config-sync/health", s.authorizeSync(s.syncHealth)))

	mux.Handle("/api/", httperr.Unrouted(mux, s.log))
	mux.Handle("/admin/", s.console())
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/", http.StatusFound))

	var handler http.Handler = mux
	handler = limitBody(handler)
	// Cookie-authenticated, state-changing requests from other origins are
	// refused (Sec-Fetch-Site / Origin checks); bearer-token clients such as
	// curl send neither header and pass.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(httperr.Func(s.log, func(http.ResponseWriter, *http.Request) error {
		return httperr.New(http.StatusForbidden, "cross_origin",
			"cross-origin request refused: use the console on this service's own address")
	}))
	handler = cop.Handler(handler)
	return httperr.WithRequestID(handler)
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			httperr.Write(w, r, nil, httperr.New(http.StatusRequestEntityTooLarge, "too_large",
				"request body is larger than the limit of 10 MiB"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness check: store unreachable", "err", err)
		return httperr.New(http.StatusServiceUnavailable, "store_unavailable",
			"the database is unreachable")
	}
	httperr.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// IsLoopback reports whether a listen address binds loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
