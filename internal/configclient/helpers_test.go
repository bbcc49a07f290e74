package configclient

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// testTuning shortens the client's timings so that tests take seconds.
var testTuning = tuning{
	connectWait:      400 * time.Millisecond,
	minHold:          300 * time.Millisecond,
	earlyLimit:       3,
	streamRetryAfter: time.Hour,
	backoffBase:      40 * time.Millisecond,
	backoffCap:       250 * time.Millisecond,
	watchTimeout:     2 * time.Second,
	fetchTimeout:     2 * time.Second,
	tick:             20 * time.Millisecond,
	localRetry:       100 * time.Millisecond,
}

var (
	baseOnce sync.Once
	baseSnap *config.Snapshot
	baseErr  error
)

// sections returns a valid config whose first model's display name says n,
// so that each n has its own hash. It is the starter config, inlined.
func sections(t testing.TB, n int) *config.Snapshot {
	t.Helper()
	baseOnce.Do(func() {
		dir, err := mkTemp()
		if err != nil {
			baseErr = err
			return
		}
		if _, err := config.WriteStarter(dir, false); err != nil {
			baseErr = err
			return
		}
		baseSnap, baseErr = config.Load(filepath.Join(dir, config.LocalConfigName))
	})
	if baseErr != nil {
		t.Fatalf("loading the starter config: %v", baseErr)
	}
	s := baseSnap.Sections()
	s.Models = slices.Clone(s.Models)
	s.Models[0].DisplayName = fmt.Sprintf("Flux release %d", n)
	s.Workflows = slices.Clone(s.Workflows)
	for i := range s.Workflows {
		s.Workflows[i].TemplatePath = ""
	}
	return &s
}

// release returns sections(n) as a published release with version v.
func release(t testing.TB, n int, v int64) *config.Snapshot {
	t.Helper()
	s := sections(t, n)
	s.Version = v
	s.PublishedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.PublishedBy = "tester"
	h, err := s.ComputeHash()
	if err != nil {
		t.Fatalf("hashing: %v", err)
	}
	s.Hash = h
	return s
}

// writeLocal writes the starter config into a new folder and returns the
// local_config.yaml path.
func writeLocal(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := config.WriteStarter(dir, false); err != nil {
		t.Fatalf("writing starter: %v", err)
	}
	return filepath.Join(dir, config.LocalConfigName)
}

// newClient starts a client with test timings, a log recorder and its own
// registry, and closes it at the end of the test.
func newClient(t *testing.T, opt Options) (*Client, *logRecorder, *prometheus.Registry) {
	t.Helper()
	rec := &logRecorder{}
	reg := prometheus.NewRegistry()
	if opt.tune == nil {
		tt := testTuning
		opt.tune = &tt
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(rec)
	}
	if opt.Registerer == nil {
		opt.Registerer = reg
	}
	if opt.HeartbeatTimeout == 0 {
		opt.HeartbeatTimeout = 2 * time.Second // fake heartbeats come every 100ms
	}
	c, err := New(context.Background(), opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, rec, reg
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: still not %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logRecorder is a slog.Handler that keeps every record for assertions.
type logRecorder struct {
	mu      sync.Mutex
	records []logRecord
	attrs   []slog.Attr
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.records = append(r.records, lr)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{attrs: append(slices.Clone(r.attrs), as...)}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// find returns the records with msg whose attributes include want.
func (r *logRecorder) find(msg string, want map[string]string) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
	for _, lr := range r.records {
		if lr.msg != msg {
			continue
		}
		ok := true
		for k, v := range want {
			if lr.attrs[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, lr)
		}
	}
	return out
}

// text returns every record as one string, for leak checks.
func (r *logRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, lr := range r.records {
		fmt.Fprintf(&b, "%s %s %v\n", lr.level, lr.msg, lr.attrs)
	}
	return b.String()
}

var tempDirs []string

func mkTemp() (string, error) {
	d, err := os.MkdirTemp("", "configclient-test-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// metric returns the value of a counter, gauge or (as its sample count)
// histogram gathered from reg, with the labels given as name, value pairs;
// ok is false when no such series exists.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}
