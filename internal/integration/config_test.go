// Package integration holds tests that run the admin service, the config
// client and the main service's API together over real HTTP, with a real
// SQLite store: the fallback and hot-update behaviour of DESIGN §4 as a
// main service sees it.
package integration

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/api"
	"github.com/atelier-dev/atelier/internal/config"
	"github.com/atelier-dev/atelier/internal/configclient"
	"github.com/atelier-dev/atelier/internal/store/sqlite"
)

// adminProc is an admin service on a fixed address that tests can stop
// and start again, as an operator restarting the process would.
type adminProc struct {
	t    *testing.T
	addr string
	db   string
	srv  *admin.Server
	http *http.Server
	st   admin.Store
	stop context.CancelFunc
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newAdmin(t *testing.T) *adminProc {
	t.Helper()
	a := &adminProc{t: t, addr: freeAddr(t), db: filepath.Join(t.TempDir(), "admin.db")}
	a.start()
	t.Cleanup(a.kill)
	return a
}

func (a *adminProc) url() string { return "http://" + a.addr + "/api/admin/config-sync" }

func (a *adminProc) start() {
	a.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, a.db)
	if err != nil {
		a.t.Fatal(err)
	}
	srv, err := admin.NewServer(ctx, admin.Options{Store: st, Loopback: true,
		Logger: slog.New(slog.DiscardHandler), HeartbeatInterval: 500 * time.Millisecond})
	if err != nil {
		a.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the port may linger for a moment after a stop
		if ln, err = net.Listen("tcp", a.addr); err == nil {
			break
		}
		if i > 50 {
			a.t.Fatalf("listening on %s again: %v", a.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	go srv.Run(ctx)
	a.srv, a.st, a.stop = srv, st, cancel
	a.http = &http.Server{Handler: srv.Handler()}
	go a.http.Serve(ln)
}

// kill stops the admin service abruptly: open streams are cut.
func (a *adminProc) kill() {
	if a.http == nil {
		return
	}
	a.srv.Shutdown()
	a.http.Close()
	a.stop()
	a.st.Close()
	a.http = nil
}

func (a *adminProc) publish(snap *config.Snapshot, msg string) int64 {
	a.t.Helper()
	rel, err := a.srv.Publish(context.Background(), snap, "test", msg)
	if err != nil {
		a.t.Fatal(err)
	}
	return rel.Version
}

func starter(t *testing.T) (*config.Snapshot, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := config.WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, config.LocalConfigName)
	s, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return s, file
}

type mainProc struct {
	client *configclient.Client
	ts     *httptest.Server
}

func newMain(t *testing.T, opt configclient.Options) *mainProc {
	t.Helper()
	if opt.SyncInterval == 0 {
		opt.SyncInterval = time.Second
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = time.Minute
	}
	opt.Logger = slog.New(slog.DiscardHandler)
	c, err := configclient.New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api.New(api.Options{Config: c}).Handler())
	t.Cleanup(func() {
		ts.Close()
		c.Close()
	})
	return &mainProc{client: c, ts: ts}
}

func (m *mainProc) get(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := http.Get(m.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or the bound passes.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type modelsAnswer struct {
	Models []struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
	} `json:"models"`
	ConfigSource  string `json:"config_source"`
	ConfigVersion int64  `json:"config_version"`
}

func TestPublishAppliedWithinASecond(t *testing.T) {
	a := newAdmin(t)
	snap, local := starter(t)
	a.publish(snap, "first")
	m := newMain(t, configclient.Options{URL: a.url(), CacheDir: t.TempDir(),
		LocalConfig: local, StartupWait: 5 * time.Second})
	if st := m.client.Status(); st.Source != "backend" || st.Version != 1 {
		t.Fatalf("after start: source %q version %d", st.Source, st.Version)
	}
	var calls atomic.Int32
	got := make(chan int64, 4)
	cancel := m.client.Subscribe(func(old, new *config.Snapshot) {
		calls.Add(1)
		got <- new.Version
	})
	defer cancel()

	next := snap.Sections()
	next.Models = append([]config.Model(nil), snap.Models...)
	next.Models[0].DisplayName = "Renamed"
	v := a.publish(&next, "rename")
	published := time.Now()
	select {
	case gv := <-got:
		if gv != v {
			t.Errorf("subscriber got version %d, want %d", gv, v)
		}
		d := time.Since(published)
		t.Logf("publish → applied in %v", d)
		if d > time.Second {
			t.Errorf("applied %v after publish; want within a second", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("release never applied")
	}
	time.Sleep(300 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("subscriber called %d times, want once", n)
	}
	var models modelsAnswer
	m.get(t, "/api/models", &models)
	if models.ConfigVersion != v || models.Models[0].DisplayName != "Renamed" ||
		models.ConfigSource != "backend" {
		t.Errorf("/api/models after publish: %+v", models)
	}
}

func TestAdminDownAtStart(t *testing.T) {
	snap, local := starter(t)
	cache := t.TempDir()

	// A first run fills the cache from a live admin service.
	a := newAdmin(t)
	a.publish(snap, "first")
	first := newMain(t, configclient.Options{URL: a.url(), CacheDir: cache, LocalConfig: local,
		StartupWait: 5 * time.Second})
	eventually(t, 5*time.Second, "cache written", func() bool {
		_, err := configclient.ReadCache(cache)
		return err == nil
	})
	first.client.Close()
	a.kill()

	// A silent admin: accepts connections, never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held sync.WaitGroup
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held.Add(1)
			go func() { defer held.Done(); io.Copy(io.Discard, c) }()
		}
	}()

	const wait = 500 * time.Millisecond
	for _, tt := range []struct {
		name, url, cache, source string
	}{
		{"refused, with cache", a.url(), cache, "cache"},
		{"refused, no cache", a.url(), t.TempDir(), "local"},
		{"silent, with cache", "http://" + silent.Addr().String() + "/api/admin/config-sync",
			cache, "cache"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			m := newMain(t, configclient.Options{URL: tt.url, CacheDir: tt.cache,
				LocalConfig: local, StartupWait: wait})
			took := time.Since(start)
			if took > wait+100*time.Millisecond {
				t.Errorf("start took %v; want at most CONFIG_STARTUP_WAIT (%v) + 100ms", took, wait)
			}
			if code := m.get(t, "/api/models", nil); code != http.StatusOK {
				t.Errorf("/api/models: %d", code)
			}
			if st := m.client.Status(); st.Source != tt.source || st.BackendConnected {
				t.Errorf("source %q connected %v, want %q and false", st.Source,
					st.BackendConnected, tt.source)
			}
		})
	}
}

func TestAdminKilledAndBack(t *testing.T) {
	a := newAdmin(t)
	snap, local := starter(t)
	a.publish(snap, "first")
	m := newMain(t, configclient.Options{URL: a.url(), CacheDir: t.TempDir(), LocalConfig: local,
		StartupWait: 5 * time.Second})
	a.kill()
	eventually(t, 10*time.Second, "source becomes cache", func() bool {
		return m.client.Status().Source == "cache"
	})
	for _, p := range []string{"/api/models", "/api/loras?model=flux1-dev", "/api/image-gen",
		"/api/workflows", "/api/config/status", "/readyz"} {
		if code := m.get(t, p, nil); code != http.StatusOK {
			t.Errorf("%s with the admin down: %d", p, code)
		}
	}
	if st := m.client.Status(); st.BackendConnected {
		t.Error("backend_connected still true with the admin down")
	}

	// Back, with a release published while this main service was cut off.
	a.start()
	next := snap.Sections()
	next.Models = append([]config.Model(nil), snap.Models...)
	next.Models[0].SortOrder = 7
	v := a.publish(&next, "meanwhile")
	eventually(t, 15*time.Second, "backend again with the new release", func() bool {
		st := m.client.Status()
		return st.Source == "backend" && st.Version == v && st.BackendConnected
	})
}

func TestNoUsableConfigThenAdminComesUp(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "local_config.yaml")
	if err := os.WriteFile(local, []byte("models: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newAdmin(t)
	url := a.url()
	a.kill()
	m := newMain(t, configclient.Options{URL: url, CacheDir: t.TempDir(), LocalConfig: local,
		StartupWait: 200 * time.Millisecond})
	var body struct {
		Error struct{ Code, Message string }
	}
	resp, err := http.Get(m.ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || body.Error.Message == "" {
		t.Fatalf("/readyz with nothing usable: %d %+v", resp.StatusCode, body)
	}
	t.Logf("readyz says: %s", body.Error.Message)
	if code := m.get(t, "/api/models", nil); code != http.StatusServiceUnavailable {
		t.Errorf("/api/models with nothing usable: %d, want 503", code)
	}
	a.start()
	snap, _ := starter(t)
	a.publish(snap, "first")
	eventually(t, 30*time.Second, "ready without restart", func() bool {
		return m.get(t, "/readyz", nil) == http.StatusOK
	})
	if st := m.client.Status(); st.Source != "backend" {
		t.Errorf("source %q after the admin came up", st.Source)
	}
}

func TestManySubscribersAndReaders(t *testing.T) {
	a := newAdmin(t)
	snap, local := starter(t)
	a.publish(snap, "v1")
	m := newMain(t, configclient.Options{URL: a.url(), CacheDir: t.TempDir(), LocalConfig: local,
		StartupWait: 5 * time.Second})
	const subs, releases = 200, 5
	var counts [subs]atomic.Int32
	for i := range subs {
		cancel := m.client.Subscribe(func(old, new *config.Snapshot) {
			if old != nil && new.Version < old.Version {
				t.Errorf("subscriber %d saw version go from %d to %d", i, old.Version, new.Version)
			}
			counts[i].Add(1)
		})
		defer cancel()
	}
	ctx, stop := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range 8 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for ctx.Err() == nil {
				if s := m.client.Current(); s == nil || len(s.Models) == 0 {
					t.Error("Current() returned an empty snapshot")
					return
				}
			}
		}()
	}
	last := int64(1)
	for i := range releases {
		next := snap.Sections()
		next.Models = append([]config.Model(nil), snap.Models...)
		next.Models[0].SortOrder = 10 + i
		last = a.publish(&next, "bump")
		time.Sleep(50 * time.Millisecond)
	}
	eventually(t, 10*time.Second, "last release applied", func() bool {
		return m.client.Status().Version == last
	})
	stop()
	readers.Wait()
	eventually(t, 5*time.Second, "every subscriber saw the last release", func() bool {
		for i := range subs {
			if counts[i].Load() == 0 {
				return false
			}
		}
		return true
	})
}

// BenchmarkCurrent measures the read every request makes, Current(),
// against a read-locked pointer as the baseline, in the same run:
//
//	go test -run '^$' -bench Current -benchmem ./internal/integration/
func BenchmarkCurrent(b *testing.B) {
	snap, local := starterBench(b)
	c, err := configclient.New(context.Background(), configclient.Options{LocalConfig: local,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.Run("client.Current", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if c.Current() == nil {
					b.Fatal("no config")
				}
			}
		})
	})
	b.Run("baseline.RWMutex", func(b *testing.B) {
		var mu sync.RWMutex
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.RLock()
				s := snap
				mu.RUnlock()
				if s == nil {
					b.Fatal("no config")
				}
			}
		})
	})
}

func starterBench(b *testing.B) (*config.Snapshot, string) {
	dir := b.TempDir()
	if _, err := config.WriteStarter(dir, false); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, config.LocalConfigName)
	s, err := config.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	return s, file
}
