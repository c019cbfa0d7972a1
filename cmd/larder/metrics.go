package main

import (
	"net/http"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// outcomes lists every larder.Outcome, so that each cache label exists (at
// zero) from the start.
var outcomes = []larder.Outcome{
	larder.OutcomeHit, larder.OutcomeRevalidated, larder.OutcomeMiss,
	larder.OutcomeVaryMiss, larder.OutcomeStale, larder.OutcomeRequest,
	larder.OutcomeOnlyIfCached, larder.OutcomeMethod, larder.OutcomeBypass,
}

// upstreamErrorReasons are the reason labels of larder_upstream_errors_total.
var upstreamErrorReasons = []string{"unreachable", "timeout", "client-gone"}

// metrics holds the daemon's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	upstream       prometheus.Histogram
	upstreamErrors *prometheus.CounterVec
	storeErrors    prometheus.Counter
	stored         prometheus.Counter
}

// newMetrics registers the metrics; stats, if not nil, feeds the store gauges.
func newMetrics(stats func() memory.Stats) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "larder_requests_total",
			Help: "Requests handled by the cache, by what the cache did (the larder.Outcome).",
		}, []string{"cache"}),
		upstream: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "larder_upstream_request_duration_seconds",
			Help:    "Time from sending a request to the upstream to receiving its response header.",
			Buckets: prometheus.DefBuckets,
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "larder_upstream_errors_total",
			Help: "Upstream requests that failed, by reason (unreachable: 502, timeout: 504, client-gone).",
		}, []string{"reason"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "larder_store_errors_total",
			Help: "Requests and purges that met a store failure (served as if nothing were stored).",
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "larder_responses_stored_total",
			Help: "Responses stored or stored responses updated.",
		}),
	}
	for _, o := range outcomes {
		m.requests.WithLabelValues(string(o))
	}
	for _, r := range upstreamErrorReasons {
		m.upstreamErrors.WithLabelValues(r)
	}
	m.reg.MustRegister(m.requests, m.upstream, m.upstreamErrors, m.storeErrors, m.stored,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(&storeCollector{stats: stats})
	}
	return m
}

// observe is the cache's observer.
func (m *metrics) observe(ev larder.Event) {
	m.requests.WithLabelValues(string(ev.Outcome)).Inc()
	if ev.StoreErr != nil {
		m.storeErrors.Inc()
	}
	if ev.Stored {
		m.stored.Inc()
	}
}

func (m *metrics) upstreamError(reason string) {
	m.upstreamErrors.WithLabelValues(reason).Inc()
}

// handler serves the registry in the Prometheus exposition formats.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// instrument times every upstream round trip, to the response header.
func (m *metrics) instrument(rt http.RoundTripper) http.RoundTripper {
	return timedTransport{next: rt, hist: m.upstream}
}

type timedTransport struct {
	next http.RoundTripper
	hist prometheus.Observer
}

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.hist.Observe(time.Since(start).Seconds())
	return resp, err
}

// storeCollector reports the memory store's size, read once per scrape.
type storeCollector struct {
	stats func() memory.Stats
}

var (
	storedBytesDesc = prometheus.NewDesc("larder_stored_bytes",
		"Approximate bytes held by the store.", nil, nil)
	storedEntriesDesc = prometheus.NewDesc("larder_stored_entries",
		"Entries held by the store (responses and Vary indexes).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storedBytesDesc
	ch <- storedEntriesDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(storedBytesDesc, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(storedEntriesDesc, prometheus.GaugeValue, float64(s.Entries))
}
