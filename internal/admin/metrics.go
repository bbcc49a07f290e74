package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	version      prometheus.Gauge
	published    prometheus.Counter
	syncRequests *prometheus.CounterVec
	watchers     *prometheus.GaugeVec
	authFailures *prometheus.CounterVec
	duration     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, h *hub) *metrics {
	m := &metrics{
		version: prometheus.NewGauge(prometheus.GaugeOpts{Name: "atelier_admin_current_version",
			Help: "Version of the release in force (0 before the first publish)."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "atelier_admin_releases_published_total",
			Help: "Releases published (including rollbacks) by this process."}),
		syncRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_admin_sync_requests_total",
			Help: "Sync API answers by endpoint and result."}, []string{"endpoint", "result"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atelier_admin_sync_watchers",
			Help: "Main services waiting on the sync API, by kind (stream, watch)."},
			[]string{"kind"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_admin_auth_failures_total",
			Help: "Refused authentications by reason."}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atelier_admin_http_request_duration_seconds",
			Help:    "Admin API request durations (long polls and streams excluded).",
			Buckets: prometheus.DefBuckets}, []string{"route", "code"}),
	}
	reg.MustRegister(m.version, m.published, m.syncRequests, m.watchers, m.authFailures,
		m.duration)
	for _, k := range []string{"stream", "watch"} {
		m.watchers.WithLabelValues(k)
	}
	for _, r := range []string{"missing", "bad_token", "bad_session", "bad_password",
		"forbidden", "throttled", "malformed_header"} {
		m.authFailures.WithLabelValues(r)
	}
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument records the duration of requests to route.
func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.metrics.duration.WithLabelValues(route, strconv.Itoa(rec.code)).
			Observe(time.Since(start).Seconds())
	})
}
