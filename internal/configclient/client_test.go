package configclient

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/google/go-cmp/cmp"
)

// subRecorder records the calls of one subscriber.
type subRecorder struct {
	mu    sync.Mutex
	calls [][2]int64 // old and new version
}

func (r *subRecorder) fn(old, new *config.Snapshot) {
	var o int64 = -1
	if old != nil {
		o = old.Version
	}
	r.mu.Lock()
	r.calls = append(r.calls, [2]int64{o, new.Version})
	r.mu.Unlock()
}

func (r *subRecorder) get() [][2]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func TestPublishIsAppliedWithinASecond(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	cacheDir := t.TempDir()
	c, _, reg := newClient(t, Options{URL: f.URL(), CacheDir: cacheDir,
		StartupWait: 2 * time.Second})

	if st := c.Status(); st.Source != SourceBackend || st.Version != 1 || !st.BackendConnected {
		t.Fatalf("after start: source %q version %d connected %v, want backend 1 true",
			st.Source, st.Version, st.BackendConnected)
	}
	subs := make([]*subRecorder, 3)
	for i := range subs {
		subs[i] = &subRecorder{}
		c.Subscribe(subs[i].fn)
	}
	rel := f.Publish(sections(t, 2))
	eventually(t, time.Second, "release 2 applied", func() bool {
		return c.Current().Version == 2
	})
	if got := c.Current(); got.Hash != rel.Hash {
		t.Errorf("applied hash %s, published %s", got.Hash, rel.Hash)
	}
	eventually(t, time.Second, "every subscriber called", func() bool {
		for _, s := range subs {
			if len(s.get()) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond) // a second call would show by now
	for i, s := range subs {
		if diff := cmp.Diff([][2]int64{{1, 2}}, s.get()); diff != "" {
			t.Errorf("subscriber %d calls (-want +got):\n%s", i, diff)
		}
	}

	st := c.Status()
	if st.Source != SourceBackend || st.Stale || st.Rejected != nil || st.LastError != "" ||
		st.Transport != TransportStream {
		t.Errorf("status after publish: %+v", st)
	}
	cached, err := ReadCache(cacheDir)
	if err != nil || cached.Version != 2 || cached.Hash != rel.Hash {
		t.Errorf("cache after publish: version %v err %v, want release 2", cached, err)
	}
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"atelier_config_applied_version", nil, 2},
		{"atelier_config_source", []string{"source", "backend"}, 1},
		{"atelier_config_source", []string{"source", "cache"}, 0},
		{"atelier_config_backend_up", nil, 1},
		// Release 1 was published before the client started: catching up is
		// not delivery, so only release 2 is observed.
		{"atelier_config_publish_to_apply_seconds", nil, 1},
		{"atelier_config_sync_attempts_total", []string{"result", "applied"}, 2},
		{"atelier_config_rejected_snapshots_total", nil, 0},
		{"atelier_config_cache_write_failures_total", nil, 0},
	} {
		if got, ok := metric(t, reg, m.name, m.labels...); !ok || got != m.want {
			t.Errorf("%s%v = %v (found %v), want %v", m.name, m.labels, got, ok, m.want)
		}
	}
	if got, ok := metric(t, reg, "atelier_config_seconds_since_last_sync"); !ok || got < 0 || got > 5 {
		t.Errorf("seconds since last sync = %v (found %v)", got, ok)
	}
}

func TestStartupWithoutAdmin(t *testing.T) {
	const wait = 500 * time.Millisecond
	cases := []struct {
		name        string
		url         func(t *testing.T) string
		cache       bool
		local       bool
		wantSource  string
		wantVersion int64
	}{
		{"down, cache and local", deadURL, true, true, SourceCache, 4},
		{"down, local only", deadURL, false, true, SourceLocal, 0},
		{"down, nothing", deadURL, false, false, SourceNone, 0},
		{"hanging, cache and local", hangingServer, true, true, SourceCache, 4},
		{"hanging, local only", hangingServer, false, true, SourceLocal, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := Options{URL: tc.url(t), CacheDir: t.TempDir(), StartupWait: wait}
			if tc.cache {
				// Fetched an hour ago: past the default CacheTTL.
				err := writeCacheAt(opt.CacheDir, release(t, 4, 4), time.Now().Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
			}
			if tc.local {
				opt.LocalConfig = writeLocal(t)
			}
			start := time.Now()
			c, _, _ := newClient(t, opt)
			if took := time.Since(start); took > wait+100*time.Millisecond {
				t.Errorf("New took %s, more than the start-up wait %s + 100ms", took, wait)
			}
			st := c.Status()
			if st.Source != tc.wantSource || st.Version != tc.wantVersion || st.BackendConnected {
				t.Errorf("status: source %q version %d connected %v, want %q %d false",
					st.Source, st.Version, st.BackendConnected, tc.wantSource, tc.wantVersion)
			}
			if (c.Current() == nil) != (tc.wantSource == SourceNone) {
				t.Errorf("Current() = %v with source %s", c.Current(), tc.wantSource)
			}
			if tc.wantSource != SourceNone && !st.Stale {
				t.Errorf("status not stale: config older than CacheTTL, admin service unreachable")
			}
		})
	}
}

func TestAdminKilledAndBack(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	c, rec, _ := newClient(t, Options{URL: f.URL(), CacheDir: t.TempDir(),
		StartupWait: 2 * time.Second})
	if got := c.Source(); got != SourceBackend {
		t.Fatalf("source at start %q, want backend", got)
	}

	f.Stop()
	eventually(t, 3*time.Second, "source cache and backend disconnected", func() bool {
		st := c.Status()
		return st.Source == SourceCache && !st.BackendConnected
	})
	if v := c.Current().Version; v != 1 {
		t.Errorf("serving version %d while admin is down, want 1", v)
	}
	time.Sleep(300 * time.Millisecond) // several failed reconnects
	if n := len(rec.find("config source changed", map[string]string{"config_source": "cache"})); n != 1 {
		t.Errorf("backend→cache logged %d times, want once:\n%s", n, rec.text())
	}

	rel := f.Publish(sections(t, 2)) // published while the client cannot see it
	f.Start()
	eventually(t, 3*time.Second, "source backend with release 2", func() bool {
		st := c.Status()
		return st.Source == SourceBackend && st.Version == 2 && st.BackendConnected
	})
	if c.Current().Hash != rel.Hash {
		t.Errorf("hash %s, want %s", c.Current().Hash, rel.Hash)
	}
	backs := rec.find("config source changed", map[string]string{"config_source": "backend"})
	if len(backs) != 2 { // at start and after the restart
		t.Errorf("→backend logged %d times, want 2:\n%s", len(backs), rec.text())
	}
	for _, r := range rec.find("config source changed", nil) {
		if r.attrs["release_version"] == "" || r.attrs["previous_source"] == "" {
			t.Errorf("transition log without version or previous source: %v", r.attrs)
		}
	}
}

func TestBadAnswersAreRejected(t *testing.T) {
	good := func(t *testing.T) []byte { return releaseBody(t, release(t, 2, 2)) }
	cases := []struct {
		name   string
		fault  func(t *testing.T, f *fakeSync)
		reason string // in Status().Rejected.Reason, or LastError when not a rejection
		reject bool
	}{
		{"http 500", func(t *testing.T, f *fakeSync) {
			f.SetStatus(http.StatusInternalServerError)
			f.KickClients() // the stream reconnects into the fault
		}, "http 500", false},
		{"garbage", func(t *testing.T, f *fakeSync) {
			f.PublishRaw(2, "sha256:x", []byte("<html>502 Bad Gateway</html>"))
		}, "not a JSON object", true},
		{"truncated json", func(t *testing.T, f *fakeSync) {
			b := good(t)
			f.PublishRaw(2, "sha256:x", b[:len(b)*2/3])
		}, "truncated", true},
		{"empty body", func(t *testing.T, f *fakeSync) {
			f.PublishRaw(2, "sha256:x", nil)
		}, "empty answer", true},
		{"invalid config", func(t *testing.T, f *fakeSync) {
			s := sections(t, 2)
			s.Loras = slices.Clone(s.Loras)
			s.Loras[0].BaseModel = "no-such-model"
			f.PublishAs(2, s)
		}, "loras[0].base_model", true},
		{"zero models", func(t *testing.T, f *fakeSync) {
			s := sections(t, 2)
			s.Models, s.Loras, s.Workflows = nil, nil, nil
			f.PublishAs(2, s)
		}, "no models", true},
		{"wrong hash", func(t *testing.T, f *fakeSync) {
			s := release(t, 2, 2)
			s.Hash = "sha256:" + strings.Repeat("0", 64)
			f.PublishRaw(2, s.Hash, releaseBody(t, s))
		}, "hash mismatch", true},
	}
	for _, transport := range []string{TransportStream, TransportWatch} {
		for _, tc := range cases {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				testBadAnswer(t, transport, tc.fault, tc.reason, tc.reject)
			})
		}
	}
}

// testBadAnswer serves release 1, injects fault and checks that it is
// reported while release 1 stays served, then that release 3 goes through.
// With TransportWatch the client reaches the server through a buffering
// proxy, so it follows releases over the long poll.
func testBadAnswer(t *testing.T, transport string, fault func(*testing.T, *fakeSync),
	reason string, reject bool) {
	f := newFakeSync(t)
	first := f.Publish(sections(t, 1))
	cacheDir := t.TempDir()
	url := f.URL()
	if transport == TransportWatch {
		url = bufferingProxy(t, "http://"+f.addr) + syncPath
	}
	c, _, reg := newClient(t, Options{URL: url, CacheDir: cacheDir,
		StartupWait: 2 * time.Second, SyncInterval: 200 * time.Millisecond})
	eventually(t, 5*time.Second, "transport "+transport, func() bool {
		return c.Status().Transport == transport
	})
	sub := &subRecorder{}
	c.Subscribe(sub.fn)
	served := c.Current()
	if served == nil || served.Version != 1 {
		t.Fatalf("not serving release 1 at start: %+v", c.Status())
	}

	fault(t, f)
	eventually(t, 2*time.Second, "the fault reported", func() bool {
		st := c.Status()
		if reject {
			return st.Rejected != nil
		}
		return strings.Contains(st.LastError, reason)
	})
	st := c.Status()
	if reject {
		if st.Rejected.Version != 2 || !strings.Contains(st.Rejected.Reason, reason) {
			t.Errorf("rejected = %+v, want version 2 and a reason with %q",
				st.Rejected, reason)
		}
		if n, _ := metric(t, reg, "atelier_config_rejected_snapshots_total"); n < 1 {
			t.Errorf("rejected snapshots metric not counted")
		}
	}
	if c.Current() != served {
		t.Errorf("served snapshot changed to %d %s", c.Current().Version, c.Current().Hash)
	}
	if st.Version != 1 || st.Hash != first.Hash {
		t.Errorf("status version %d hash %s, want the last good 1 %s",
			st.Version, st.Hash, first.Hash)
	}
	if calls := sub.get(); len(calls) != 0 {
		t.Errorf("subscriber called for a rejected answer: %v", calls)
	}
	if cached, err := ReadCache(cacheDir); err != nil || cached.Hash != first.Hash {
		t.Errorf("cache no longer the last good release: %v %v", cached, err)
	}

	// The next good release goes through.
	f.SetStatus(0)
	f.PublishAs(3, sections(t, 3))
	eventually(t, 2*time.Second, "release 3 applied after the fault", func() bool {
		return c.Current().Version == 3
	})
	if st := c.Status(); st.Rejected != nil {
		t.Errorf("rejection still reported after release 3: %+v", st.Rejected)
	}
}

func TestCacheDirUnwritable(t *testing.T) {
	// Tests run as root, which chmod does not stop: make the cache folder's
	// parent a regular file instead.
	parent := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(parent, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	c, rec, reg := newClient(t, Options{URL: f.URL(), CacheDir: filepath.Join(parent, "cache"),
		StartupWait: 2 * time.Second})
	if v := c.Current(); v == nil || v.Version != 1 {
		t.Fatalf("release 1 not served with an unwritable cache: %+v", c.Status())
	}
	f.Publish(sections(t, 2))
	eventually(t, time.Second, "release 2 applied", func() bool { return c.Current().Version == 2 })
	// The cache write follows the apply: wait for its report.
	eventually(t, time.Second, "two cache write failures", func() bool {
		n, _ := metric(t, reg, "atelier_config_cache_write_failures_total")
		return n == 2
	})
	st := c.Status()
	if st.Source != SourceBackend || !strings.Contains(st.CacheError, "not a directory") ||
		!strings.Contains(st.LastError, "writing cache") {
		t.Errorf("status: source %q cache_error %q last_error %q", st.Source, st.CacheError,
			st.LastError)
	}
	if n := len(rec.find("writing config cache failed, serving the release from memory", nil)); n != 1 {
		t.Errorf("cache failure logged %d times, want once (same error)", n)
	}
}

func TestBufferingProxyFallsBackToLongPoll(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	proxy := bufferingProxy(t, "http://"+f.addr)
	c, rec, _ := newClient(t, Options{URL: proxy + syncPath, StartupWait: 2 * time.Second})
	eventually(t, 5*time.Second, "transport watch", func() bool {
		return c.Status().Transport == TransportWatch
	})
	if len(rec.find("event stream not delivered in time (a buffering proxy?), using the long poll", nil)) != 1 {
		t.Errorf("fallback not logged once:\n%s", rec.text())
	}
	time.Sleep(100 * time.Millisecond) // let the first long poll be held
	f.Publish(sections(t, 2))
	eventually(t, 1500*time.Millisecond, "release 2 applied over the long poll", func() bool {
		return c.Current().Version == 2
	})
	if st := c.Status(); st.Source != SourceBackend || !st.BackendConnected {
		t.Errorf("status over the long poll: %+v", st)
	}
	if f.watches.Load() == 0 {
		t.Errorf("no long poll reached the server")
	}
}

func TestLongPollSkipsRejectedRelease(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	proxy := bufferingProxy(t, "http://"+f.addr)
	c, _, _ := newClient(t, Options{URL: proxy + syncPath, StartupWait: 2 * time.Second})
	eventually(t, 5*time.Second, "transport watch", func() bool {
		return c.Status().Transport == TransportWatch
	})
	f.PublishRaw(2, "sha256:x", []byte("garbage"))
	eventually(t, 2*time.Second, "release 2 rejected", func() bool {
		return c.Status().Rejected != nil
	})
	// The poll now waits for the release after 2 instead of bringing 2 back.
	eventually(t, 2*time.Second, "a long poll from version 2", func() bool {
		return f.lastWatch.Load() == 2
	})
	if st := c.Status(); st.Version != 1 {
		t.Errorf("serving %d, want 1", st.Version)
	}
}

func TestEarlyDisconnectsFallBackToLongPoll(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	f.SetStreamMode("drop")
	c, _, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second})
	eventually(t, 5*time.Second, "transport watch", func() bool {
		return c.Status().Transport == TransportWatch
	})
	if n := f.streams.Load(); n < int64(testTuning.earlyLimit) {
		t.Errorf("fell back after %d streams, want at least %d", n, testTuning.earlyLimit)
	}
	time.Sleep(100 * time.Millisecond)
	f.Publish(sections(t, 2))
	eventually(t, 1500*time.Millisecond, "release 2 applied", func() bool {
		return c.Current().Version == 2
	})
}

func TestSilentStreamCountsAsDead(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	f.SetStreamMode("silent")
	c, rec, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second,
		HeartbeatTimeout: 300 * time.Millisecond})
	eventually(t, 5*time.Second, "three stream connections", func() bool {
		return f.streams.Load() >= 3
	})
	var silent bool
	for _, r := range rec.find("admin service unreachable", nil) {
		silent = silent || strings.Contains(r.attrs["error"], "silent for more than 300ms")
	}
	for _, r := range rec.find("config source changed", nil) {
		silent = silent || strings.Contains(r.attrs["error"], "silent for more than 300ms")
	}
	if !silent {
		t.Errorf("no log of the silent stream:\n%s", rec.text())
	}
	if c.Current().Version != 1 {
		t.Errorf("serving %d, want 1", c.Current().Version)
	}
}

func TestVersionGoingBackwardsIsAppliedWithAWarning(t *testing.T) {
	f := newFakeSync(t)
	f.PublishAs(5, sections(t, 5))
	c, rec, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second})
	if c.Current().Version != 5 {
		t.Fatalf("serving %d at start, want 5", c.Current().Version)
	}
	sub := &subRecorder{}
	c.Subscribe(sub.fn)
	f.PublishAs(3, sections(t, 3)) // a restored admin database
	eventually(t, time.Second, "release 3 applied", func() bool { return c.Current().Version == 3 })
	eventually(t, time.Second, "subscriber called", func() bool { return len(sub.get()) == 1 })
	if diff := cmp.Diff([][2]int64{{5, 3}}, sub.get()); diff != "" {
		t.Errorf("subscriber calls (-want +got):\n%s", diff)
	}
	warns := rec.find("admin service version went backwards, applying it",
		map[string]string{"release_version": "3", "previous_version": "5"})
	if len(warns) != 1 || warns[0].level != slog.LevelWarn {
		t.Errorf("backwards warning: %v\n%s", warns, rec.text())
	}
}

func TestStaleAfterTTL(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	c, _, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second,
		CacheTTL: time.Second, SyncInterval: time.Hour})
	time.Sleep(1500 * time.Millisecond) // past the TTL: heartbeats keep it fresh
	if st := c.Status(); st.Stale {
		t.Fatalf("stale with a live stream: %+v", st)
	}
	f.Stop()
	eventually(t, 5*time.Second, "stale", func() bool { return c.Status().Stale })
	f.Start()
	eventually(t, 5*time.Second, "fresh again", func() bool {
		st := c.Status()
		return !st.Stale && st.Source == SourceBackend
	})
}

func TestLocalOnly(t *testing.T) {
	// Without a backend URL a cache left from an earlier setup is not used.
	cacheDir := t.TempDir()
	if err := WriteCache(cacheDir, release(t, 9, 9)); err != nil {
		t.Fatal(err)
	}
	c, _, reg := newClient(t, Options{LocalConfig: writeLocal(t), CacheDir: cacheDir})
	st := c.Status()
	want := Status{Source: SourceLocal, Hash: c.Current().Hash, Transport: TransportNone,
		LastConfigUpdate: st.LastConfigUpdate}
	if diff := cmp.Diff(want, st); diff != "" || st.Hash == "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if v, _ := metric(t, reg, "atelier_config_source", "source", "local"); v != 1 {
		t.Errorf("source{local} metric %v, want 1", v)
	}
}

func TestNothingUsableUntilTheLocalFileAppears(t *testing.T) {
	dir := t.TempDir()
	c, _, reg := newClient(t, Options{LocalConfig: filepath.Join(dir, config.LocalConfigName)})
	if v, _ := metric(t, reg, "atelier_config_source", "source", "none"); v != 1 ||
		c.Current() != nil || c.Source() != SourceNone {
		t.Errorf("source{none} metric %v, Current %v, Source %q", v, c.Current(), c.Source())
	}
	sub := &subRecorder{}
	c.Subscribe(sub.fn)
	if _, err := config.WriteStarter(dir, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "the local file served", func() bool {
		return c.Source() == SourceLocal && c.Current() != nil
	})
	eventually(t, time.Second, "subscriber told", func() bool { return len(sub.get()) == 1 })
}

func TestNoneRecoversWhenAdminComesUp(t *testing.T) {
	f := newFakeSync(t) // up, but nothing published
	c, _, _ := newClient(t, Options{URL: f.URL(), StartupWait: time.Second})
	if st := c.Status(); st.Source != SourceNone || !st.BackendConnected || c.Current() != nil {
		t.Fatalf("with no release anywhere: %+v", st)
	}
	sub := &subRecorder{}
	c.Subscribe(sub.fn)
	f.Publish(sections(t, 1))
	eventually(t, time.Second, "release 1 served", func() bool { return c.Current() != nil })
	eventually(t, time.Second, "subscriber called", func() bool { return len(sub.get()) == 1 })
	if diff := cmp.Diff([][2]int64{{-1, 1}}, sub.get()); diff != "" {
		t.Errorf("subscriber calls (-want +got):\n%s", diff)
	}
}

func TestManySubscribersAndReaders(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 0))
	c, _, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second})

	const nSubs, nReleases = 200, 20
	hashes := sync.Map{} // version → hash, filled before each publish
	var bad atomic.Int64
	type seen struct {
		mu   sync.Mutex
		last int64
	}
	subs := make([]*seen, nSubs)
	for i := range subs {
		s := &seen{last: 1}
		subs[i] = s
		c.Subscribe(func(old, new *config.Snapshot) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if old.Version != s.last || new.Version <= old.Version {
				bad.Add(1)
			}
			s.last = new.Version
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := c.Current()
				if h, ok := hashes.Load(s.Version); ok && h != s.Hash {
					bad.Add(1)
				}
				if i%64 == 0 {
					_ = c.Status()
				}
				runtime.Gosched() // readers spin: leave the two CPUs to the rest too
			}
		}()
	}
	for i := 2; i <= nReleases+1; i++ {
		s := release(t, i, int64(i))
		hashes.Store(s.Version, s.Hash)
		f.PublishAs(int64(i), sections(t, i))
		time.Sleep(5 * time.Millisecond)
	}
	lasts := func() map[int64]int {
		m := map[int64]int{}
		for _, s := range subs {
			s.mu.Lock()
			m[s.last]++
			s.mu.Unlock()
		}
		return m
	}
	deadline := time.Now().Add(5 * time.Second)
	for lasts()[nReleases+1] != nSubs {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: serving %d; subscribers by last version seen: %v\n%+v",
				c.Current().Version, lasts(), c.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	readers.Wait()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d out-of-order deliveries or torn reads", n)
	}
}

func TestSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	c, _, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second})
	release := make(chan struct{})
	slow := &subRecorder{}
	c.Subscribe(func(old, new *config.Snapshot) {
		<-release
		slow.fn(old, new)
	})
	fast := &subRecorder{}
	c.Subscribe(fast.fn)
	f.Publish(sections(t, 2))
	eventually(t, time.Second, "fast subscriber at 2", func() bool { return len(fast.get()) == 1 })
	f.Publish(sections(t, 3))
	eventually(t, time.Second, "fast subscriber at 3", func() bool { return len(fast.get()) == 2 })
	close(release)
	eventually(t, time.Second, "slow subscriber at 3", func() bool {
		calls := slow.get()
		return len(calls) > 0 && calls[len(calls)-1][1] == 3
	})
	// The slow one got 1→2 and then 2→3, or the merged 1→3: never a gap.
	calls := slow.get()
	if calls[0][0] != 1 || (len(calls) == 2 && calls[1][0] != 2) || len(calls) > 2 {
		t.Errorf("slow subscriber calls %v", calls)
	}
}

func TestSubscriberPanicIsContained(t *testing.T) {
	f := newFakeSync(t)
	f.Publish(sections(t, 1))
	c, rec, _ := newClient(t, Options{URL: f.URL(), StartupWait: 2 * time.Second})
	c.Subscribe(func(old, new *config.Snapshot) { panic("boom") })
	other := &subRecorder{}
	cancel := c.Subscribe(other.fn)
	f.Publish(sections(t, 2))
	eventually(t, time.Second, "other subscriber called", func() bool { return len(other.get()) == 1 })
	eventually(t, time.Second, "panic logged", func() bool {
		return len(rec.find("config subscriber panicked", map[string]string{"panic": "boom"})) == 1
	})
	cancel()
	f.Publish(sections(t, 3))
	eventually(t, time.Second, "release 3", func() bool { return c.Current().Version == 3 })
	time.Sleep(100 * time.Millisecond)
	if n := len(other.get()); n != 1 {
		t.Errorf("cancelled subscriber called %d times, want 1", n)
	}
}

func TestTokenIsSentAndNeverLogged(t *testing.T) {
	const token = "sync-token-s3cret"
	f := newFakeSync(t)
	f.SetToken(token)
	f.Publish(sections(t, 1))
	c, rec, _ := newClient(t, Options{URL: f.URL(), Token: token, StartupWait: 2 * time.Second})
	if c.Source() != SourceBackend {
		t.Fatalf("source %q with the right token, want backend", c.Source())
	}
	bad, rec2, _ := newClient(t, Options{URL: f.URL(), Token: "wrong", StartupWait: 2 * time.Second})
	if st := bad.Status(); st.BackendConnected || !strings.Contains(st.LastError, "401") {
		t.Errorf("with a wrong token: %+v", st)
	}
	for _, r := range []*logRecorder{rec, rec2} {
		if strings.Contains(r.text(), token) || strings.Contains(r.text(), "wrong") {
			t.Errorf("a token leaked into the logs:\n%s", r.text())
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"not http", Options{URL: "ftp://x/y"}, "not an http(s) URL"},
		{"no host", Options{URL: "http:///x"}, "not an http(s) URL"},
		{"negative ttl", Options{CacheTTL: -time.Second}, "CacheTTL must not be negative"},
		{"negative wait", Options{StartupWait: -1}, "StartupWait must not be negative"},
		{"client timeout", Options{HTTPClient: &http.Client{Timeout: time.Second}}, "Timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(context.Background(), tc.opt)
			if err == nil {
				c.Close()
				t.Fatalf("New accepted %+v", tc.opt)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestMetricsRegisterOncePerRegistry(t *testing.T) {
	c, _, reg := newClient(t, Options{LocalConfig: writeLocal(t)})
	if _, err := New(context.Background(), Options{Registerer: reg, Logger: quiet}); err == nil ||
		!strings.Contains(err.Error(), "already registered") {
		t.Errorf("second client on one registry: %v", err)
	}
	c.Close()
	c2, err := New(context.Background(), Options{Registerer: reg, Logger: quiet})
	if err != nil {
		t.Fatalf("registry not free after Close: %v", err)
	}
	c2.Close()
}

var quiet = slog.New(slog.DiscardHandler)

func TestStatusJSONKeys(t *testing.T) {
	st := Status{Rejected: &Rejection{}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var rej map[string]json.RawMessage
	if err := json.Unmarshal(m["rejected"], &rej); err != nil {
		t.Fatal(err)
	}
	got := [][]string{keys(m), keys(rej)}
	want := [][]string{{"backend_connected", "cache_error", "hash", "last_config_update",
		"last_error", "last_sync_attempt", "last_sync_success", "local_error", "published_at",
		"rejected",
		"source", "stale", "transport", "version"}, {"at", "reason", "version"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status JSON keys (-want +got):\n%s", diff)
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestFetchRelease(t *testing.T) {
	f := newFakeSync(t)
	f.SetToken("tok")
	if _, err := FetchRelease(context.Background(), f.URL(), "tok"); !errors.Is(err, ErrNoRelease) {
		t.Errorf("before any publish: %v, want ErrNoRelease", err)
	}
	rel := f.Publish(sections(t, 1))
	got, err := FetchRelease(context.Background(), f.URL(), "tok")
	if err != nil {
		t.Fatalf("FetchRelease: %v", err)
	}
	if got.Version != 1 || got.Hash != rel.Hash || !got.PublishedAt.Equal(rel.PublishedAt) {
		t.Errorf("fetched %d %s %v, want %d %s %v", got.Version, got.Hash, got.PublishedAt,
			rel.Version, rel.Hash, rel.PublishedAt)
	}
	if _, err := FetchRelease(context.Background(), f.URL(), ""); err == nil ||
		!strings.Contains(err.Error(), "http 401") {
		t.Errorf("without a token: %v, want http 401", err)
	}
	dir := t.TempDir()
	if err := WriteCache(dir, got); err != nil {
		t.Fatalf("WriteCache: %v", err)
	}
	cached, err := ReadCache(dir)
	if err != nil || cached.Hash != rel.Hash {
		t.Errorf("ReadCache after WriteCache: %v %v", cached, err)
	}
}
