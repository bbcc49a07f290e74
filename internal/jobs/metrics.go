package jobs

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	jobs      *prometheus.CounterVec
	duration  prometheus.Histogram
	queueWait prometheus.Histogram
}

func newMetrics() *metrics {
	buckets := []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600}
	return &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "atelier_jobs_total",
			Help: "Generation jobs by result (succeeded, failed, cancelled, lost, rejected)."},
			[]string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "atelier_job_duration_seconds", Help: "Time from submit to outcome.",
			Buckets: buckets}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "atelier_job_queue_wait_seconds", Help: "Time from submit to running.",
			Buckets: buckets}),
	}
}

func (m *metrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.jobs, m.duration, m.queueWait)
	for _, r := range []string{"succeeded", "failed", "cancelled", "lost", "rejected"} {
		m.jobs.WithLabelValues(r)
	}
}
