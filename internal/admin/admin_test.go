package admin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/store/sqlite"
)

// env is an admin server over a real SQLite file and real HTTP, with one
// API token per role.
type env struct {
	t      testing.TB
	srv    *admin.Server
	store  admin.Store
	ts     *httptest.Server
	tokens map[admin.Role]string
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOptions struct {
	loopback bool
	store    admin.Store
	// skipUsers reuses a store that already has user root and tokens.
	skipUsers bool
}

type snapshot = config.Snapshot

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	st := o.store
	if st == nil {
		var err error
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "admin.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := admin.NewServer(ctx, admin.Options{Store: st, Logger: log, BcryptCost: 4,
		Loopback: o.loopback, HeartbeatInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	go srv.Run(runCtx)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Shutdown()
		ts.Close()
		cancel()
	})
	e := &env{t: t, srv: srv, store: st, ts: ts, tokens: map[admin.Role]string{}, logs: logs}
	if o.skipUsers {
		return e
	}
	if err := admin.CreateUser(ctx, st, "root", admin.RoleAdmin, "root-password", 4); err != nil {
		t.Fatal(err)
	}
	c := e.login("root", "root-password")
	for _, role := range []admin.Role{admin.RoleViewer, admin.RoleEditor, admin.RolePublisher,
		admin.RoleAdmin} {
		var out struct{ Token string }
		e.do(c, "POST", "/api/admin/tokens", "", map[string]any{"name": "t-" + string(role),
			"kind": "api", "role": role}, http.StatusCreated, &out)
		e.tokens[role] = out.Token
	}
	return e
}

// login signs in and returns a client holding the session cookie.
func (e *env) login(name, password string) *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	e.do(c, "POST", "/api/admin/login", "", map[string]string{"name": name,
		"password": password}, http.StatusOK, nil)
	return c
}

// do sends a request and checks its status; body may be nil, []byte
// (sent as is) or a value sent as JSON. It returns the response body.
func (e *env) do(c *http.Client, method, path, token string, body any, want int,
	out any, headers ...string) []byte {
	e.t.Helper()
	status, b, _ := e.send(c, method, path, token, body, headers...)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

func (e *env) send(c *http.Client, method, path, token string, body any,
	headers ...string) (int, []byte, http.Header) {
	e.t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// starterYAML returns the `atelier config init` config and its hash as
// `atelier config validate --json` computes it.
func starterYAML(t testing.TB) (dir string, hash string) {
	t.Helper()
	dir = t.TempDir()
	if _, err := config.WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	s, err := config.Load(filepath.Join(dir, config.LocalConfigName))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	return dir, h
}

// importStarter uploads the starter config as multipart (YAML + templates).
func (e *env) importStarter(token string) {
	e.t.Helper()
	dir, _ := starterYAML(e.t)
	body, ctype := multipartDir(e.t, dir)
	e.do(nil, "POST", "/api/admin/draft/import", token, body, http.StatusOK, nil,
		"Content-Type", ctype)
}

func multipartDir(t testing.TB, dir string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	boundary := "atelier-test-boundary"
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.ToSlash(rel)
		if name == config.LocalConfigName {
			name = "config"
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "--%s\r\nContent-Disposition: form-data; name=%q; filename=%q\r\n\r\n",
			boundary, name, filepath.Base(p))
		buf.Write(b)
		buf.WriteString("\r\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&buf, "--%s--\r\n", boundary)
	return buf.Bytes(), "multipart/form-data; boundary=" + boundary
}

type publishAnswer struct {
	Version int64  `json:"version"`
	Hash    string `json:"hash"`
}

func (e *env) publish(msg string) publishAnswer {
	e.t.Helper()
	var out publishAnswer
	e.do(nil, "POST", "/api/admin/releases", e.tokens[admin.RolePublisher],
		map[string]any{"message": msg}, http.StatusCreated, &out)
	return out
}

type draft struct {
	Revision int64           `json:"revision"`
	Config   json.RawMessage `json:"config"`
	Problems config.Problems `json:"problems"`
}

// editDraft applies fn to the draft and saves it.
func (e *env) editDraft(fn func(*config.Snapshot)) int64 {
	e.t.Helper()
	var d draft
	e.do(nil, "GET", "/api/admin/draft", e.tokens[admin.RoleEditor], nil, http.StatusOK, &d)
	s, _, err := config.DecodeJSON(d.Config, "")
	if err != nil {
		e.t.Fatal(err)
	}
	fn(s)
	var out struct{ Revision int64 }
	e.do(nil, "PUT", "/api/admin/draft", e.tokens[admin.RoleEditor], s, http.StatusOK, &out,
		"If-Match", fmt.Sprint(d.Revision))
	return out.Revision
}

func TestPublishFlow(t *testing.T) { publishFlow(t, newEnv(t)) }

// publishFlow is the "done when" walk through the admin service:
// import, publish, watch and stream delivery, rollback, refusals, audit.
func publishFlow(t *testing.T, e *env) {
	_, wantHash := starterYAML(t)

	// Nothing published yet: the sync API says so, never an empty config.
	var errBody struct {
		Error struct{ Code, Message string }
	}
	e.do(nil, "GET", "/api/admin/config-sync/all", e.tokens[admin.RoleViewer], nil,
		http.StatusNotFound, &errBody)
	if errBody.Error.Code != "no_release" {
		t.Errorf("empty store: code %q, want no_release", errBody.Error.Code)
	}

	e.importStarter(e.tokens[admin.RoleEditor])
	v1 := e.publish("first")
	if v1.Version != 1 || v1.Hash != wantHash {
		t.Fatalf("publish: got %+v, want version 1 with hash %s (config validate's)", v1, wantHash)
	}

	// The sync API serves it with the hash as ETag, and 304 on a match.
	status, body, hdr := e.send(nil, "GET", "/api/admin/config-sync/all",
		e.tokens[admin.RoleViewer], nil)
	if status != http.StatusOK || hdr.Get("ETag") != `"`+wantHash+`"` {
		t.Fatalf("all: status %d etag %q", status, hdr.Get("ETag"))
	}
	var all struct {
		config.Snapshot
		ConfigSource string `json:"config_source"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	if all.Version != 1 || all.Hash != wantHash || all.ConfigSource != "backend" ||
		len(all.Models) != 3 {
		t.Errorf("all: version %d hash %s source %q models %d", all.Version, all.Hash,
			all.ConfigSource, len(all.Models))
	}
	if got, _ := all.Snapshot.ComputeHash(); got != wantHash {
		t.Errorf("hash recomputed from /all = %s, want %s", got, wantHash)
	}
	status, _, _ = e.send(nil, "GET", "/api/admin/config-sync/models",
		e.tokens[admin.RoleViewer], nil, "If-None-Match", `"`+wantHash+`"`)
	if status != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", status)
	}

	// A held long poll and an open stream both get version 2 within a second.
	watchDone := make(chan publishAnswer, 1)
	go func() {
		var out publishAnswer
		e.do(nil, "GET", "/api/admin/config-sync/watch?version=1&timeout=10s",
			e.tokens[admin.RoleViewer], nil, http.StatusOK, &out)
		watchDone <- out
	}()
	streamEvents := openStream(t, e, "/api/admin/config-sync/stream?version=1",
		e.tokens[admin.RoleViewer])
	time.Sleep(200 * time.Millisecond) // let both waiters settle
	e.editDraft(func(s *config.Snapshot) { s.Models[0].DisplayName = "Flux Renamed" })
	v2 := e.publish("rename")
	published := time.Now()
	if v2.Version != 2 {
		t.Fatalf("second publish: version %d", v2.Version)
	}
	select {
	case got := <-watchDone:
		if got.Version != 2 {
			t.Errorf("watch delivered version %d, want 2", got.Version)
		}
		if d := time.Since(published); d > time.Second {
			t.Errorf("watch delivered %v after publish, want within 1s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("watch did not deliver version 2")
	}
	select {
	case ev := <-streamEvents:
		if ev.id != "2" || !strings.Contains(ev.data, `"version":2`) {
			t.Errorf("stream event id %q data %.80s", ev.id, ev.data)
		}
		if d := time.Since(published); d > time.Second {
			t.Errorf("stream delivered %v after publish, want within 1s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("stream did not deliver version 2")
	}

	// Rollback to 1 creates version 3 with the content of 1.
	var rb publishAnswer
	e.do(nil, "POST", "/api/admin/releases/1/rollback", e.tokens[admin.RolePublisher],
		map[string]string{"message": "back"}, http.StatusCreated, &rb)
	if rb.Version != 3 || rb.Hash != v1.Hash {
		t.Errorf("rollback: %+v, want version 3 with hash %s", rb, v1.Hash)
	}
	var diff struct {
		Empty bool `json:"empty"`
	}
	e.do(nil, "GET", "/api/admin/releases/1/diff/3", e.tokens[admin.RoleViewer], nil,
		http.StatusOK, &diff)
	if !diff.Empty {
		t.Error("diff 1→3 is not empty after rollback")
	}
	var d12 struct {
		Diff config.Diff `json:"diff"`
	}
	e.do(nil, "GET", "/api/admin/releases/1/diff/2", e.tokens[admin.RoleViewer], nil,
		http.StatusOK, &d12)
	if len(d12.Diff.Models.Changed) != 1 || d12.Diff.Models.Changed[0].Fields[0].Field !=
		"display_name" {
		t.Errorf("diff 1→2: %+v", d12.Diff.Models)
	}

	// Refusals: viewer publish 403, anonymous draft write 401, stale write
	// 409, invalid publish 422 with paths.
	e.do(nil, "POST", "/api/admin/releases", e.tokens[admin.RoleViewer],
		map[string]string{}, http.StatusForbidden, nil)
	e.do(nil, "PUT", "/api/admin/draft", "", all.Snapshot, http.StatusUnauthorized, nil,
		"If-Match", "1")
	var conflict struct {
		Error struct {
			Code    string
			Details struct {
				CurrentRevision int64 `json:"current_revision"`
			}
		}
	}
	e.do(nil, "PUT", "/api/admin/draft", e.tokens[admin.RoleEditor], all.Snapshot,
		http.StatusConflict, &conflict, "If-Match", "0")
	if conflict.Error.Details.CurrentRevision < 1 {
		t.Errorf("409 without current revision: %+v", conflict)
	}
	e.editDraft(func(s *config.Snapshot) { s.Loras[0].BaseModel = "flux2" })
	var invalid struct {
		Error struct{ Details config.Problems }
	}
	e.do(nil, "POST", "/api/admin/releases", e.tokens[admin.RolePublisher],
		map[string]string{"message": "bad"}, http.StatusUnprocessableEntity, &invalid)
	if len(invalid.Error.Details) == 0 || invalid.Error.Details[0].Path != "loras[0].base_model" {
		t.Errorf("422 problems: %+v", invalid.Error.Details)
	}

	// The audit log shows each of those actions.
	var audit struct{ Entries []admin.AuditEntry }
	e.do(nil, "GET", "/api/admin/audit?limit=100", e.tokens[admin.RoleViewer], nil,
		http.StatusOK, &audit)
	seen := map[string]bool{}
	for _, a := range audit.Entries {
		seen[a.Action] = true
		if a.Actor == "" || a.Source == "" || a.Time.IsZero() {
			t.Errorf("audit entry without actor, source or time: %+v", a)
		}
	}
	for _, want := range []string{"login", "token.create", "draft.import", "draft.save",
		"release.publish", "release.rollback"} {
		if !seen[want] {
			t.Errorf("audit log lacks %q; has %v", want, seen)
		}
	}
}

type sseEvent struct{ id, event, data string }

// openStream reads a stream in the background and sends its events.
func openStream(t *testing.T, e *env, path, token string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	out := make(chan sseEvent, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

func TestWatchTimesOutWith304AndShutdownReleasesWaiters(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	e.publish("one")
	status, _, _ := e.send(nil, "GET", "/api/admin/config-sync/watch?version=1&timeout=300ms",
		e.tokens[admin.RoleViewer], nil)
	if status != http.StatusNotModified {
		t.Errorf("watch timeout: status %d, want 304", status)
	}
	// A version the client does not have is answered at once.
	status, _, _ = e.send(nil, "GET", "/api/admin/config-sync/watch?version=0&timeout=30s",
		e.tokens[admin.RoleViewer], nil)
	if status != http.StatusOK {
		t.Errorf("watch with old version: status %d, want 200", status)
	}
	done := make(chan int, 1)
	go func() {
		s, _, _ := e.send(nil, "GET", "/api/admin/config-sync/watch?version=1&timeout=60s",
			e.tokens[admin.RoleViewer], nil)
		done <- s
	}()
	time.Sleep(200 * time.Millisecond)
	e.srv.Shutdown()
	select {
	case s := <-done:
		if s != http.StatusNotModified {
			t.Errorf("watch during shutdown: status %d, want 304", s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("shutdown did not release the long poll")
	}
}

func TestStreamHeartbeatsAndLastEventID(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	e.publish("one")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/admin/config-sync/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[admin.RoleViewer])
	req.Header.Set("Last-Event-ID", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var heartbeats int
	for sc.Scan() && heartbeats < 2 {
		line := sc.Text()
		if strings.HasPrefix(line, "data:") {
			t.Fatalf("stream sent a release the client already has (Last-Event-ID 1): %.60s", line)
		}
		if line == ": heartbeat" {
			heartbeats++
		}
	}
	if heartbeats < 2 {
		t.Errorf("saw %d heartbeats, want 2 (interval 200ms in this test)", heartbeats)
	}
}

func TestSyncAccessModes(t *testing.T) {
	t.Run("closed on a non-loopback listener", func(t *testing.T) {
		e := newEnv(t)
		e.do(nil, "GET", "/api/admin/config-sync/health", "", nil, http.StatusUnauthorized, nil)
	})
	t.Run("open on loopback until a sync token exists", func(t *testing.T) {
		e := newEnv(t, envOptions{loopback: true})
		e.do(nil, "GET", "/api/admin/config-sync/health", "", nil, http.StatusOK, nil)
		var tok struct {
			ID    int64
			Token string
		}
		e.do(nil, "POST", "/api/admin/tokens", e.tokens[admin.RoleAdmin],
			map[string]string{"name": "main-1", "kind": "sync"}, http.StatusCreated, &tok)
		e.do(nil, "GET", "/api/admin/config-sync/health", "", nil, http.StatusUnauthorized, nil)
		e.do(nil, "GET", "/api/admin/config-sync/health", tok.Token, nil, http.StatusOK, nil)
		// A sync token reads nothing but the sync API.
		e.do(nil, "GET", "/api/admin/draft", tok.Token, nil, http.StatusForbidden, nil)
		// Revocation takes effect at once.
		e.do(nil, "DELETE", fmt.Sprintf("/api/admin/tokens/%d", tok.ID),
			e.tokens[admin.RoleAdmin], nil, http.StatusNoContent, nil)
		e.do(nil, "GET", "/api/admin/config-sync/health", tok.Token, nil, http.StatusUnauthorized,
			nil)
	})
}

// TestAccessTable checks every endpoint for every role, no credentials and
// wrong credentials.
func TestAccessTable(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	e.publish("one")
	endpoints := []struct {
		method, path string
		min          admin.Role
	}{
		{"GET", "/api/admin/me", admin.RoleViewer},
		{"GET", "/api/admin/status", admin.RoleViewer},
		{"GET", "/api/admin/draft", admin.RoleViewer},
		{"GET", "/api/admin/draft/diff", admin.RoleViewer},
		{"POST", "/api/admin/workflows/inspect", admin.RoleViewer},
		{"PUT", "/api/admin/draft", admin.RoleEditor},
		{"POST", "/api/admin/draft/validate", admin.RoleViewer},
		{"POST", "/api/admin/draft/import", admin.RoleEditor},
		{"GET", "/api/admin/releases", admin.RoleViewer},
		{"GET", "/api/admin/releases/1", admin.RoleViewer},
		{"GET", "/api/admin/releases/1/diff/1", admin.RoleViewer},
		{"POST", "/api/admin/releases", admin.RolePublisher},
		{"POST", "/api/admin/releases/1/rollback", admin.RolePublisher},
		{"GET", "/api/admin/audit", admin.RoleViewer},
		{"GET", "/api/admin/users", admin.RoleAdmin},
		{"POST", "/api/admin/users", admin.RoleAdmin},
		{"PATCH", "/api/admin/users/nobody", admin.RoleAdmin},
		{"DELETE", "/api/admin/users/nobody", admin.RoleAdmin},
		{"GET", "/api/admin/tokens", admin.RoleAdmin},
		{"POST", "/api/admin/tokens", admin.RoleAdmin},
		{"DELETE", "/api/admin/tokens/999", admin.RoleAdmin},
		{"GET", "/api/admin/config-sync/all", admin.RoleViewer},
		{"GET", "/api/admin/config-sync/health", admin.RoleViewer},
	}
	roles := []admin.Role{admin.RoleViewer, admin.RoleEditor, admin.RolePublisher, admin.RoleAdmin}
	for _, ep := range endpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			if s, _, _ := e.send(nil, ep.method, ep.path, "", nil); s != http.StatusUnauthorized {
				t.Errorf("no auth: status %d, want 401", s)
			}
			if s, _, _ := e.send(nil, ep.method, ep.path, "atl_api_wrong", nil); s !=
				http.StatusUnauthorized {
				t.Errorf("wrong token: status %d, want 401", s)
			}
			for _, role := range roles {
				// An empty body: allowed requests fail validation (4xx other
				// than 401/403) or succeed; refused ones must be 403.
				s, b, _ := e.send(nil, ep.method, ep.path, e.tokens[role], nil)
				allowed := role.Allows(ep.min)
				if !allowed && s != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", role, s)
				}
				if allowed && (s == http.StatusForbidden || s == http.StatusUnauthorized ||
					s >= 500) {
					t.Errorf("%s: status %d, want it allowed; body %s", role, s, b)
				}
			}
		})
	}
}

func TestLoginThrottlingAndAudit(t *testing.T) {
	e := newEnv(t)
	var last int
	for i := 0; i < 8; i++ {
		last, _, _ = e.send(nil, "POST", "/api/admin/login", "",
			map[string]string{"name": "root", "password": "wrong-password"})
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("8th failed login: status %d, want 429", last)
	}
	// Even the right password waits while throttled.
	s, _, hdr := e.send(nil, "POST", "/api/admin/login", "",
		map[string]string{"name": "root", "password": "root-password"})
	if s != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("throttled login: status %d Retry-After %q", s, hdr.Get("Retry-After"))
	}
	var audit struct{ Entries []admin.AuditEntry }
	e.do(nil, "GET", "/api/admin/audit?action=login.failed", e.tokens[admin.RoleViewer], nil,
		http.StatusOK, &audit)
	if len(audit.Entries) < 5 {
		t.Errorf("audit has %d failed logins, want at least 5", len(audit.Entries))
	}
}

func TestSessionCookieAndCrossSiteRefusal(t *testing.T) {
	e := newEnv(t)
	status, _, hdr := e.send(nil, "POST", "/api/admin/login", "",
		map[string]string{"name": "root", "password": "root-password"})
	if status != http.StatusOK {
		t.Fatalf("login: %d", status)
	}
	cookie := hdr.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", admin.SessionCookie + "="} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", cookie, want)
		}
	}
	c := e.login("root", "root-password")
	// A cross-site browser request with the cookie is refused.
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/admin/tokens",
		strings.NewReader(`{"name":"x","kind":"sync"}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", resp.StatusCode)
	}
	e.do(c, "POST", "/api/admin/logout", "", nil, http.StatusNoContent, nil)
	e.do(c, "GET", "/api/admin/me", "", nil, http.StatusUnauthorized, nil)
}

func TestRefusesDroppingEverythingAndUnchanged(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	e.publish("one")
	e.do(nil, "POST", "/api/admin/releases", e.tokens[admin.RolePublisher],
		map[string]string{"message": "again"}, http.StatusConflict, nil)
	e.editDraft(func(s *config.Snapshot) {
		s.Models, s.Loras, s.Workflows = nil, nil, nil
	})
	var out struct{ Error struct{ Code string } }
	e.do(nil, "POST", "/api/admin/releases", e.tokens[admin.RolePublisher],
		map[string]any{"message": "wipe"}, http.StatusConflict, &out)
	if out.Error.Code != "would_drop_all" {
		t.Errorf("code %q, want would_drop_all", out.Error.Code)
	}
	var forced publishAnswer
	e.do(nil, "POST", "/api/admin/releases", e.tokens[admin.RolePublisher],
		map[string]any{"message": "wipe", "force": true}, http.StatusCreated, &forced)
	if forced.Version != 2 {
		t.Errorf("forced publish: version %d", forced.Version)
	}
}

func TestBodyLimitAndBadInput(t *testing.T) {
	e := newEnv(t)
	big := bytes.Repeat([]byte("a"), admin.MaxBodyBytes+1)
	var out struct {
		Error struct{ Code, Message string }
	}
	e.do(nil, "PUT", "/api/admin/draft", e.tokens[admin.RoleEditor], big,
		http.StatusRequestEntityTooLarge, &out, "If-Match", "0")
	if !strings.Contains(out.Error.Message, "10 MiB") {
		t.Errorf("413 message %q does not say the limit", out.Error.Message)
	}
	e.do(nil, "PUT", "/api/admin/draft", e.tokens[admin.RoleEditor], []byte(`{"models": 3}`),
		http.StatusBadRequest, nil, "If-Match", "0")
	e.do(nil, "PUT", "/api/admin/draft", e.tokens[admin.RoleEditor], []byte(`{}`),
		http.StatusPreconditionRequired, nil)
	e.do(nil, "GET", "/api/admin/releases/abc", e.tokens[admin.RoleViewer], nil,
		http.StatusBadRequest, nil)
	e.do(nil, "GET", "/api/admin/releases/42", e.tokens[admin.RoleViewer], nil,
		http.StatusNotFound, nil)
}

func TestLogsCarryNoSecrets(t *testing.T) {
	e := newEnv(t)
	e.send(nil, "POST", "/api/admin/login", "",
		map[string]string{"name": "root", "password": "hunter2-secret"})
	e.send(nil, "GET", "/api/admin/draft", "atl_api_notarealtokenvalue", nil)
	e.do(nil, "GET", "/api/admin/draft", e.tokens[admin.RoleViewer], nil, http.StatusOK, nil)
	logs := e.logs.String()
	for _, secret := range []string{"hunter2-secret", "atl_api_notarealtokenvalue",
		e.tokens[admin.RoleViewer], "root-password"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q:\n%s", secret, logs)
		}
	}
}

func TestMetricsAndHealth(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	e.publish("one")
	e.do(nil, "GET", "/healthz", "", nil, http.StatusOK, nil)
	e.do(nil, "GET", "/readyz", "", nil, http.StatusOK, nil)
	b := e.do(nil, "GET", "/metrics", "", nil, http.StatusOK, nil)
	for _, want := range []string{"atelier_admin_current_version 1",
		"atelier_admin_releases_published_total 1", "atelier_admin_sync_watchers",
		"atelier_admin_auth_failures_total", "atelier_admin_http_request_duration_seconds"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestInspectWorkflowUpload(t *testing.T) {
	e := newEnv(t)
	dir := "../../../shared/workflows"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared workflows not found at %s: %v", dir, err)
	}
	type answer struct {
		Format   string `json:"format"`
		OK       bool   `json:"ok"`
		Message  string `json:"message"`
		Problems []struct{ Field, Message string }
	}
	for _, tt := range []struct {
		file   string
		format string
		ok     bool
		hint   string
	}{
		{"api_sdxl_txt2img__salad.json", "api", true, "every required injection point"},
		{"ui_flux1-dev_fp8-checkpoint__replicate.json", "ui", false, "Export (API)"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var got answer
		e.do(nil, "POST", "/api/admin/workflows/inspect", e.tokens[admin.RoleEditor], b,
			http.StatusOK, &got)
		if got.Format != tt.format || got.OK != tt.ok || !strings.Contains(got.Message, tt.hint) {
			t.Errorf("%s: %+v", tt.file, got)
		}
	}
}

func TestRevocationEndsHeldStreamsAndPolls(t *testing.T) {
	e := newEnv(t, envOptions{loopback: true})
	e.importStarter(e.tokens[admin.RoleEditor])
	e.publish("one")
	var tok struct {
		ID    int64
		Token string
	}
	e.do(nil, "POST", "/api/admin/tokens", e.tokens[admin.RoleAdmin],
		map[string]string{"name": "main-1", "kind": "sync"}, http.StatusCreated, &tok)
	events := openStream(t, e, "/api/admin/config-sync/stream?version=1", tok.Token)
	watch := make(chan int, 1)
	go func() {
		s, _, _ := e.send(nil, "GET", "/api/admin/config-sync/watch?version=1&timeout=20s",
			tok.Token, nil)
		watch <- s
	}()
	time.Sleep(200 * time.Millisecond)
	e.do(nil, "DELETE", fmt.Sprintf("/api/admin/tokens/%d", tok.ID), e.tokens[admin.RoleAdmin],
		nil, http.StatusNoContent, nil)
	select {
	case s := <-watch:
		if s != http.StatusUnauthorized {
			t.Errorf("held long poll after revocation: status %d, want 401", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held long poll not ended by the revocation")
	}
	e.editDraft(func(s *config.Snapshot) { s.Models[0].SortOrder = 5 })
	e.publish("after revocation")
	select {
	case ev, ok := <-events:
		if ok && ev.event != "revoked" {
			t.Errorf("revoked stream received %q (id %s)", ev.event, ev.id)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("revoked stream neither ended nor said so")
	}
}

func TestConcurrentPublishesOfOneDraft(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, _ := e.send(nil, "POST", "/api/admin/releases", e.tokens[admin.RolePublisher],
				map[string]string{"message": "race"})
			statuses <- s
		}()
	}
	wg.Wait()
	close(statuses)
	created := 0
	for s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if created != 1 {
		t.Errorf("%d releases created from one draft, want 1", created)
	}
}

func TestCrossOriginRefusalIsJSONAndRefusalsAreAudited(t *testing.T) {
	e := newEnv(t)
	c := e.login("root", "root-password")
	var out struct{ Error struct{ Code string } }
	e.do(c, "POST", "/api/admin/tokens", "", map[string]string{"name": "x", "kind": "sync"},
		http.StatusForbidden, &out, "Origin", "https://evil.example",
		"Sec-Fetch-Site", "cross-site")
	if out.Error.Code != "cross_origin" {
		t.Errorf("cross-origin refusal code %q", out.Error.Code)
	}
	e.send(nil, "POST", "/api/admin/releases", e.tokens[admin.RoleViewer], map[string]string{})
	e.send(nil, "PUT", "/api/admin/draft", "", []byte(`{}`), "If-Match", "0")
	var audit struct{ Entries []admin.AuditEntry }
	e.do(nil, "GET", "/api/admin/audit?action=access.denied", e.tokens[admin.RoleViewer], nil,
		http.StatusOK, &audit)
	var actors []string
	for _, a := range audit.Entries {
		actors = append(actors, a.Actor)
	}
	if len(audit.Entries) < 2 {
		t.Errorf("access.denied entries by %v, want the viewer's 403 and the anonymous 401",
			actors)
	}
}

func TestImportNamesMissingTemplateParts(t *testing.T) {
	e := newEnv(t)
	dir, _ := starterYAML(t)
	if err := os.Remove(filepath.Join(dir, "workflows", "sdxl.json")); err != nil {
		t.Fatal(err)
	}
	body, ctype := multipartDir(t, dir)
	var out struct {
		Error struct{ Code, Message string }
	}
	e.do(nil, "POST", "/api/admin/draft/import", e.tokens[admin.RoleEditor], body,
		http.StatusBadRequest, &out, "Content-Type", ctype)
	if !strings.Contains(out.Error.Message, "workflows/sdxl.json") {
		t.Errorf("message %q does not name the missing part", out.Error.Message)
	}
}

func TestValidateWithoutSaving(t *testing.T) {
	e := newEnv(t)
	e.importStarter(e.tokens[admin.RoleEditor])
	var d draft
	e.do(nil, "GET", "/api/admin/draft", e.tokens[admin.RoleEditor], nil, http.StatusOK, &d)
	s, _, err := config.DecodeJSON(d.Config, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Models[0].Name = "Bad Name!"
	var out struct {
		Valid    bool
		Problems config.Problems
	}
	e.do(nil, "POST", "/api/admin/draft/validate", e.tokens[admin.RoleEditor], s,
		http.StatusOK, &out)
	if out.Valid || len(out.Problems) == 0 || out.Problems[0].Path != "models[0].name" {
		t.Errorf("validate: %+v", out)
	}
	var after draft
	e.do(nil, "GET", "/api/admin/draft", e.tokens[admin.RoleEditor], nil, http.StatusOK, &after)
	if after.Revision != d.Revision {
		t.Errorf("validate saved the draft: revision %d → %d", d.Revision, after.Revision)
	}
}
