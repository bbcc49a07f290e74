package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/atelier-dev/atelier/internal/httperr"
)

// SessionCookie is the console session cookie's name.
const SessionCookie = "atelier_session"

var roleRank = map[Role]int{RoleViewer: 1, RoleEditor: 2, RolePublisher: 3, RoleAdmin: 4}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if roleRank[r] == 0 {
		return "", fmt.Errorf("unknown role %q (viewer, editor, publisher or admin)", s)
	}
	return r, nil
}

// Allows reports whether r includes min.
func (r Role) Allows(min Role) bool { return roleRank[r] >= roleRank[min] && roleRank[r] > 0 }

// principal is who a request acts as.
type principal struct {
	Name string
	Role Role
	// Via is "session", "api", "sync" or "open" (the open sync API).
	Via     string
	TokenID int64
}

type principalKey struct{}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// authenticate finds who sent r. ok is false when no credentials were
// sent; err is an *httperr.Error when credentials were sent but are bad.
func (s *Server) authenticate(r *http.Request) (p principal, ok bool, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, found := strings.CutPrefix(h, "Bearer ")
		if !found || strings.TrimSpace(tok) == "" {
			s.metrics.authFailures.WithLabelValues("malformed_header").Inc()
			return p, true, httperr.New(http.StatusUnauthorized, "unauthorized",
				"Authorization header must be \"Bearer <token>\"")
		}
		t, err := s.store.TokenByHash(r.Context(), hashSecret(strings.TrimSpace(tok)))
		if errors.Is(err, ErrNotFound) || (err == nil && t.RevokedAt != nil) {
			s.metrics.authFailures.WithLabelValues("bad_token").Inc()
			return p, true, httperr.New(http.StatusUnauthorized, "unauthorized",
				"the bearer token is unknown or revoked")
		}
		if err != nil {
			return p, true, err
		}
		now := s.opt.Now()
		if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
			if err := s.store.TouchToken(r.Context(), t.ID, now); err != nil {
				s.log.Warn("recording token use failed", "token_id", t.ID, "err", err)
			}
		}
		if _, gone := s.revoked.Load(t.ID); gone {
			// Revoked by another process since the last refresh of the set.
			return p, true, httperr.New(http.StatusUnauthorized, "unauthorized",
				"the bearer token is unknown or revoked")
		}
		return principal{Name: "token:" + t.Name, Role: t.Role, Via: string(t.Kind),
			TokenID: t.ID}, true, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return p, false, nil
	}
	sess, err := s.store.GetSession(r.Context(), hashSecret(c.Value), s.opt.Now())
	if errors.Is(err, ErrNotFound) {
		s.metrics.authFailures.WithLabelValues("bad_session").Inc()
		return p, true, httperr.New(http.StatusUnauthorized, "session_expired",
			"your session has expired or is not valid; sign in again")
	}
	if err != nil {
		return p, true, err
	}
	u, err := s.store.GetUser(r.Context(), sess.User)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		return p, true, httperr.New(http.StatusUnauthorized, "unauthorized",
			"this account no longer exists or is disabled")
	}
	if err != nil {
		return p, true, err
	}
	return principal{Name: u.Name, Role: u.Role, Via: "session"}, true, nil
}

// authorize lets through requests from users or API tokens whose role
// includes min. Sync tokens are refused: they read the sync API only.
func (s *Server) authorize(min Role, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return httperr.Func(s.log, func(w http.ResponseWriter, r *http.Request) error {
		p, ok, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if !ok {
			s.metrics.authFailures.WithLabelValues("missing").Inc()
			if r.Method != http.MethodGet {
				s.audit(r, "anonymous", "access.denied", r.Method+" "+r.URL.Path,
					"refused: not signed in (401)")
			}
			return httperr.ErrUnauthorized
		}
		if p.Via == string(TokenSync) {
			s.metrics.authFailures.WithLabelValues("forbidden").Inc()
			s.audit(r, p.Name, "access.denied", r.Method+" "+r.URL.Path,
				"refused: sync tokens may only read the sync API (403)")
			return httperr.New(http.StatusForbidden, "forbidden",
				"sync tokens may only read the sync API")
		}
		if !p.Role.Allows(min) {
			s.metrics.authFailures.WithLabelValues("forbidden").Inc()
			s.audit(r, p.Name, "access.denied", r.Method+" "+r.URL.Path,
				fmt.Sprintf("refused: needs the %s role, has %s (403)", min, p.Role))
			return httperr.New(http.StatusForbidden, "forbidden",
				fmt.Sprintf("this needs the %s role; you are %s", min, p.Role))
		}
		return fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// authorizeSync lets through sync tokens, signed-in users and API tokens,
// and anyone while the sync API is open.
func (s *Server) authorizeSync(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return httperr.Func(s.log, func(w http.ResponseWriter, r *http.Request) error {
		p, ok, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if !ok {
			open, err := s.SyncOpen(r.Context())
			if err != nil {
				return err
			}
			if !open {
				s.metrics.authFailures.WithLabelValues("missing").Inc()
				return httperr.New(http.StatusUnauthorized, "unauthorized",
					"the sync API needs a sync token (Authorization: Bearer …)")
			}
			p = principal{Name: "anonymous", Role: RoleViewer, Via: "open"}
		}
		return fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// hashSecret is how tokens and session ids are stored: they are long
// random strings, so a plain SHA-256 is enough and lets us look them up.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).
		EncodeToString(b[:]))
}

// HashPassword hashes a password with bcrypt at cost (0 = default).
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if err := checkPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

func checkPassword(p string) error {
	switch {
	case len(p) < 8:
		return errors.New("password must be at least 8 characters")
	case len(p) > 72:
		return errors.New("password must be at most 72 bytes (bcrypt's limit)")
	}
	return nil
}

var userNamePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@-]{0,63}$`)

// CheckUserName checks a user name: 1-64 letters (any script), digits,
// '.', '_', '@' or '-', starting with a letter or digit.
func CheckUserName(n string) error {
	if !userNamePattern.MatchString(n) {
		return fmt.Errorf("user name %q must be 1-64 letters, digits, '.', '_', '@' or '-', "+
			"starting with a letter or digit", clip(n, 80))
	}
	return nil
}

// loginLimiter throttles failed logins per source address and per user
// name: after a few failures each further attempt must wait, doubling up
// to a cap. A success clears the user's and the address's record.
type loginLimiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failures
}

type failures struct {
	count int
	last  time.Time
	until time.Time
}

const (
	freeFailures  = 5
	failureWindow = 15 * time.Minute
	maxLockout    = 15 * time.Minute
)

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, m: map[string]*failures{}}
}

// wait returns how long the keys must still wait before another attempt.
func (l *loginLimiter) wait(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var d time.Duration
	for _, k := range keys {
		if f := l.m[k]; f != nil && f.until.After(now) {
			d = max(d, f.until.Sub(now))
		}
	}
	return d
}

func (l *loginLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		f := l.m[k]
		if f == nil || now.Sub(f.last) > failureWindow {
			f = &failures{}
			l.m[k] = f
		}
		f.count++
		f.last = now
		if f.count > freeFailures {
			lock := time.Second << min(f.count-freeFailures-1, 10)
			f.until = now.Add(min(lock, maxLockout))
		}
	}
	if len(l.m) > 10000 { // forget stale records so the map cannot grow without bound
		for k, f := range l.m {
			if now.Sub(f.last) > failureWindow {
				delete(l.m, k)
			}
		}
	}
}

func (l *loginLimiter) succeed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.m, k)
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// dummyHash is a real hash of no password, compared against when a user
// is unknown, made once on first use.
func (s *Server) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, _ := bcrypt.GenerateFromPassword([]byte("no user has this password"), s.cost())
		s.dummy = string(h)
	})
	return s.dummy
}

func (s *Server) cost() int {
	if s.opt.BcryptCost == 0 {
		return bcrypt.DefaultCost
	}
	return s.opt.BcryptCost
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httperr.DecodeJSON(w, r, 64<<10, &req); err != nil {
		return err
	}
	ipKey, userKey := "ip:"+remoteIP(r), "user:"+strings.ToLower(req.Name)
	if d := s.limiter.wait(ipKey, userKey); d > 0 {
		secs := int(d/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.metrics.authFailures.WithLabelValues("throttled").Inc()
		return httperr.New(http.StatusTooManyRequests, "too_many_attempts",
			fmt.Sprintf("too many failed sign-ins; try again in %d s", secs))
	}
	u, err := s.store.GetUser(r.Context(), req.Name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	// Compare against a fixed hash when the user is unknown, so timing
	// does not tell which names exist.
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummyHash()
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(req.Password)) != nil ||
		errors.Is(err, ErrNotFound) || u.Disabled {
		s.limiter.fail(ipKey, userKey)
		s.metrics.authFailures.WithLabelValues("bad_password").Inc()
		name := clip(req.Name, 64)
		s.audit(r, name, "login.failed", "user:"+name, "wrong name or password")
		return httperr.New(http.StatusUnauthorized, "bad_credentials", "wrong name or password")
	}
	s.limiter.succeed(ipKey, userKey)
	secret := newSecret("")
	now := s.opt.Now()
	sess := Session{IDHash: hashSecret(secret), User: u.Name, CreatedAt: now,
		ExpiresAt: now.Add(s.opt.SessionTTL)}
	if err := s.store.CreateSession(r.Context(), sess); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/",
		Expires: sess.ExpiresAt, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil})
	s.audit(r, u.Name, "login", "user:"+u.Name, "signed in")
	httperr.JSON(w, http.StatusOK, map[string]any{"name": u.Name, "role": u.Role,
		"expires_at": sess.ExpiresAt.UTC()})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.store.DeleteSession(r.Context(), hashSecret(c.Value)); err != nil &&
			!errors.Is(err, ErrNotFound) {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	p := principalFrom(r.Context())
	s.audit(r, p.Name, "logout", "user:"+p.Name, "signed out")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	httperr.JSON(w, http.StatusOK, map[string]any{"name": p.Name, "role": p.Role, "via": p.Via})
	return nil
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// audit appends an entry; a failure to record is logged, not returned,
// because the change it describes has already happened.
func (s *Server) audit(r *http.Request, actor, action, target, summary string) {
	s.appendAudit(r.Context(), remoteIP(r), actor, action, target, summary)
}

// appendAudit records one entry from source (an address, or "local" for
// tools on this machine); a failure is logged, not returned.
func (s *Server) appendAudit(ctx context.Context, source, actor, action, target,
	summary string) {
	e := AuditEntry{Time: s.opt.Now(), Actor: actor, Source: source, Action: action,
		Target: target, Summary: summary}
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("writing audit entry failed", "action", action, "actor", actor, "err", err)
	}
}

// loadRevoked reads the revoked tokens into the in-memory set.
func (s *Server) loadRevoked(ctx context.Context) error {
	ts, err := s.store.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("reading tokens: %w", err)
	}
	changed := false
	for _, t := range ts {
		if t.RevokedAt != nil {
			if _, known := s.revoked.LoadOrStore(t.ID, struct{}{}); !known {
				changed = true
			}
		}
	}
	if changed {
		s.authChange()
	}
	return nil
}

// authChange wakes every held stream and long poll to check its reader
// may still read.
func (s *Server) authChange() {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	close(s.authChanged)
	s.authChanged = make(chan struct{})
}

func (s *Server) authWatch() <-chan struct{} {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	return s.authChanged
}

// stillAllowed reports whether the reader of a held sync request may still
// read: its token not revoked, its session alive, or the API still open.
func (s *Server) stillAllowed(r *http.Request) bool {
	p := principalFrom(r.Context())
	switch p.Via {
	case "open":
		open, err := s.SyncOpen(r.Context())
		return err == nil && open
	case string(TokenAPI), string(TokenSync):
		_, gone := s.revoked.Load(p.TokenID)
		return !gone
	}
	_, ok, err := s.authenticate(r)
	return ok && err == nil
}
