package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// outcomes lists every larder.Outcome, so that each cache label exists (at
// zero) from the start. TestOutcomesComplete checks it against the root
// package's source.
var outcomes = []larder.Outcome{
	larder.OutcomeHit, larder.OutcomeRevalidated, larder.OutcomeMiss,
	larder.OutcomeVaryMiss, larder.OutcomeStale, larder.OutcomeStaleIfError,
	larder.OutcomeRequest, larder.OutcomeOnlyIfCached, larder.OutcomeMethod,
	larder.OutcomeBypass, larder.OutcomePreconditionFailed,
}

// upstreamErrorReasons are the reason labels of larder_upstream_errors_total.
var upstreamErrorReasons = []string{"unreachable", "timeout", "client-gone", "body-timeout"}

// notStoredReasons are the reasons the cache gives in Event.NotStored, the
// reason labels of larder_not_stored_total (with notStoredOther for any
// other, so that the label set stays bounded). TestNotStoredReasonsComplete
// checks the list against the root package's source.
var notStoredReasons = []string{
	// internal/storability
	"method", "status", "partial", "must-understand", "request-no-store", "no-store",
	"private", "authorization", "cookie", "vary-star", "no-freshness",
	// the cache
	"set-cookie", "trailer", "too-large", "stale", "incomplete", "short-body", "key-too-large", "queue-full", "invalidated", "empty-handler",
	"tags-over-limit",
}

// notStoredOther is the label of a NotStored reason not in notStoredReasons.
const notStoredOther = "other"

// metrics holds the daemon's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	byOutcome      map[larder.Outcome]prometheus.Counter // requests' children, resolved once: read-only
	background     prometheus.Counter
	upstream       prometheus.Histogram
	upstreamErrors *prometheus.CounterVec
	storeErrors    prometheus.Counter
	stored         prometheus.Counter
	notStored      map[string]prometheus.Counter // by reason, notStoredOther included: read-only
	collapsed      prometheus.Counter
}

// newMetrics registers the metrics; stats, if not nil, feeds the store gauges.
func newMetrics(stats func() memory.Stats) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "larder_requests_total",
			Help: "Client requests handled by the cache, by what the cache did (the larder.Outcome).",
		}, []string{"cache"}),
		background: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "larder_background_revalidations_total",
			Help: "Revalidations the cache made by itself, in the background, after serving a stale response (stale-while-revalidate).",
		}),
		upstream: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "larder_upstream_request_duration_seconds",
			Help:    "Time from sending a request to the upstream to receiving its response header.",
			Buckets: prometheus.DefBuckets,
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "larder_upstream_errors_total",
			Help: "Upstream requests that failed, by reason (unreachable: 502, timeout: 504, client-gone, body-timeout: the client's request body too slow, 408).",
		}, []string{"reason"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "larder_store_errors_total",
			Help: "Requests, background revalidations and purges that met a store failure (requests are then served as if nothing were stored).",
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "larder_responses_stored_total",
			Help: "Responses stored or stored responses updated (or queued to be, for a store over the network).",
		}),
		collapsed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "larder_collapsed_total",
			Help: "Requests answered with the response a concurrent request for the same URL fetched (request coalescing).",
		}),
	}
	notStored := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "larder_not_stored_total",
		Help: "Responses the cache did not store, by reason (the larder.Event NotStored reason; other: a reason this daemon does not know).",
	}, []string{"reason"})
	m.notStored = make(map[string]prometheus.Counter, len(notStoredReasons)+1)
	for _, r := range notStoredReasons {
		m.notStored[r] = notStored.WithLabelValues(r)
	}
	m.notStored[notStoredOther] = notStored.WithLabelValues(notStoredOther)
	m.byOutcome = make(map[larder.Outcome]prometheus.Counter, len(outcomes))
	for _, o := range outcomes {
		m.byOutcome[o] = m.requests.WithLabelValues(string(o))
	}
	for _, r := range upstreamErrorReasons {
		m.upstreamErrors.WithLabelValues(r)
	}
	m.reg.MustRegister(m.requests, m.background, m.upstream, m.upstreamErrors, m.storeErrors, m.stored, notStored, m.collapsed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(&storeCollector{stats: stats})
	}
	return m
}

// observe is the cache's observer. A background revalidation is not a
// client's request: it is counted apart, but what it stored or failed to
// store counts like any other.
func (m *metrics) observe(ev larder.Event) {
	if ev.Background {
		m.background.Inc()
	} else if c, ok := m.byOutcome[ev.Outcome]; ok {
		c.Inc() // no label hashing nor lock on the request path
	} else {
		m.requests.WithLabelValues(string(ev.Outcome)).Inc()
	}
	if ev.StoreErr != nil {
		m.storeErrors.Inc()
	}
	if ev.Stored {
		m.stored.Inc()
	}
	if ev.Collapsed {
		m.collapsed.Inc()
	}
	if ev.NotStored != "" {
		c, ok := m.notStored[ev.NotStored]
		if !ok {
			c = m.notStored[notStoredOther]
		}
		c.Inc()
	}
}

// upstreamDone is the proxy's OnUpstream hook: it times every request to the
// upstream, to the response header, and counts the failures by reason.
func (m *metrics) upstreamDone(d time.Duration, err error) {
	m.upstream.Observe(d.Seconds())
	switch {
	case err == nil:
	case errors.Is(err, proxy.ErrBodyTimeout):
		m.upstreamErrors.WithLabelValues("body-timeout").Inc()
	case errors.Is(err, proxy.ErrClientGone):
		m.upstreamErrors.WithLabelValues("client-gone").Inc()
	case errors.Is(err, proxy.ErrTimeout):
		m.upstreamErrors.WithLabelValues("timeout").Inc()
	default:
		m.upstreamErrors.WithLabelValues("unreachable").Inc()
	}
}

// handler serves the registry in the Prometheus exposition formats.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
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
