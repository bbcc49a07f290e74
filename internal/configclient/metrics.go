package configclient

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of one sync attempt, the values of the result label.
const (
	resultApplied     = "applied"      // a new release was applied
	resultNotModified = "not_modified" // the backend confirmed the served release
	resultNoRelease   = "no_release"   // the backend has nothing published
	resultRejected    = "rejected"     // an answer arrived and failed verification
	resultError       = "error"        // no usable answer: network, timeout, HTTP error
)

var allSources = []string{SourceBackend, SourceCache, SourceLocal, SourceNone}

// metrics are the client's Prometheus metrics, prefixed atelier_config_.
type metrics struct {
	reg          prometheus.Registerer
	collectors   []prometheus.Collector
	attempts     *prometheus.CounterVec
	backendUp    prometheus.Gauge
	source       *prometheus.GaugeVec
	version      prometheus.Gauge
	latency      prometheus.Histogram
	rejected     prometheus.Counter
	cacheFailure prometheus.Counter
}

func newMetrics(sinceSync func() float64) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_config_sync_attempts_total",
			Help: "Sync requests to the admin service by result " +
				"(applied, not_modified, no_release, rejected, error).",
		}, []string{"result"}),
		backendUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "atelier_config_backend_up",
			Help: "1 while the admin service's sync API is reachable, else 0.",
		}),
		source: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atelier_config_source",
			Help: "1 for the source the served config came from (backend, cache, local, none).",
		}, []string{"source"}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "atelier_config_applied_version",
			Help: "Release version of the served config; 0 for a local file or none.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "atelier_config_publish_to_apply_seconds",
			Help:    "Time from a release's published_at to its apply by this client.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800},
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "atelier_config_rejected_snapshots_total",
			Help: "Answers from the admin service or cache files that failed verification.",
		}),
		cacheFailure: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "atelier_config_cache_write_failures_total",
			Help: "Applied releases that could not be written to the disk cache.",
		}),
	}
	since := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "atelier_config_seconds_since_last_sync",
		Help: "Seconds since the admin service last confirmed or delivered the config " +
			"(since the client started when it never has).",
	}, sinceSync)
	for _, r := range []string{resultApplied, resultNotModified, resultNoRelease,
		resultRejected, resultError} {
		m.attempts.WithLabelValues(r) // export every result at 0
	}
	for _, s := range allSources {
		m.source.WithLabelValues(s)
	}
	m.collectors = []prometheus.Collector{m.attempts, m.backendUp, m.source, m.version,
		m.latency, m.rejected, m.cacheFailure, since}
	return m
}

// register registers every collector on reg, undoing the ones done when
// one fails.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("registering metrics: already registered (one client per "+
					"registry): %w", err)
			}
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	m.reg = reg
	return nil
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.reg = nil
}

func (m *metrics) setSource(src string) {
	for _, s := range allSources {
		v := 0.0
		if s == src {
			v = 1
		}
		m.source.WithLabelValues(s).Set(v)
	}
}

func (m *metrics) setBackendUp(up bool) {
	if up {
		m.backendUp.Set(1)
	} else {
		m.backendUp.Set(0)
	}
}
