package main

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors, on a registry of its
// own (served at /metrics with the Go runtime's and the process's).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // endpoint, code
	latency  *prometheus.HistogramVec // endpoint
	batches  prometheus.Histogram     // images per forward pass
	passes   prometheus.Histogram     // seconds per forward pass
	images   prometheus.Counter       // images embedded
}

func newMetrics(queued, gallery func() int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serve_requests_total",
			Help: "Requests by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "serve_request_duration_seconds",
			Help:    "Time from a request's arrival to its response, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1ms to 33s
		}, []string{"endpoint"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "serve_batch_images",
			Help:    "Images embedded per forward pass of the batcher.",
			Buckets: []float64{1, 2, 4, 8, 16},
		}),
		passes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "serve_batch_duration_seconds",
			Help:    "Time of one forward pass of the batcher.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		images: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "serve_images_embedded_total",
			Help: "Images embedded; its rate is the images per second.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.batches, m.passes, m.images,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "serve_queued_images",
			Help: "Images waiting for a forward pass.",
		}, func() float64 { return float64(queued()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "serve_gallery_references",
			Help: "References in the gallery.",
		}, func() float64 { return float64(gallery()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// batch records one forward pass (the batcher's OnBatch).
func (m *metrics) batch(n int, d time.Duration) {
	m.batches.Observe(float64(n))
	m.passes.Observe(d.Seconds())
	m.images.Add(float64(n))
}

// request records one answered request.
func (m *metrics) request(endpoint string, code int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}
