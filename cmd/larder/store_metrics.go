package main

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/tiered"
)

// Per-store metrics: every call to a store that is not in-process is timed,
// by operation, and its failures counted by kind. The in-process memory
// store is not wrapped: its calls take well under a microsecond, and the
// cache calls it without a goroutine (larder.NonBlockingStore), which a
// wrapper would have to forward.

// storeOps are the op labels, one per store method.
var storeOps = []string{"get", "get_multi", "set", "set_if", "delete", "set_stream", "get_stream",
	"add_tags", "purge_tags", "set_multi", "record_purges", "last_purges", "lock_fill"}

// storeErrorKinds are the kind labels of larder_store_call_errors_total.
var storeErrorKinds = []string{"timeout", "unreachable", "canceled", "other"}

// storeMetrics are the histogram and the counter of the store calls.
type storeMetrics struct {
	duration *prometheus.HistogramVec
	errs     *prometheus.CounterVec
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	sm := &storeMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "larder_store_call_duration_seconds",
			Help:    "Time each call to the store took, by operation (a store that is not in-process only; a miss counts, a failure too).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "larder_store_call_errors_total",
			Help: "Store calls that failed, by operation and kind (timeout: past the store timeout; unreachable: no connection to the store; canceled: the request went away; other).",
		}, []string{"op", "kind"}),
	}
	for _, op := range storeOps {
		sm.duration.WithLabelValues(op)
		for _, k := range storeErrorKinds {
			sm.errs.WithLabelValues(op, k)
		}
	}
	reg.MustRegister(sm.duration, sm.errs)
	return sm
}

// done records a call of op that started at start and returned err.
func (sm *storeMetrics) done(ctx context.Context, op string, start time.Time, err error) {
	sm.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, larder.ErrNotFound) {
		sm.errs.WithLabelValues(op, storeErrorKind(ctx, err)).Inc()
	}
}

// storeErrorKind classifies a store failure.
func storeErrorKind(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, larder.ErrStoreTimeout), errors.Is(context.Cause(ctx), larder.ErrStoreTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "unreachable"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "unreachable"
	}
	return "other"
}

// fullStore is what instrumentStore wraps: every networked store of the
// daemon (redis, memcache, disk, tiered) has both capabilities.
type fullStore interface {
	larder.Store
	larder.ConditionalStore
	larder.MultiGetter
}

// instrumentStore returns s with its calls timed and counted into sm, with
// the same capabilities (the cache finds them by type assertions, so a
// wrapper that hid one would change what the cache does: purge by tag
// would fail, big bodies would not stream); an in-process store, or one
// without SetIf and GetMulti, is returned as it is.
func instrumentStore(s larder.Store, sm *storeMetrics) larder.Store {
	if nb, ok := s.(larder.NonBlockingStore); ok && nb.NonBlocking() {
		return s
	}
	fs, ok := s.(fullStore)
	if !ok {
		return s
	}
	t := &timedStore{s: fs, m: sm}
	t.local, _ = s.(larder.LocalGetter)
	bs, streams := s.(larder.BodyStreamer)
	ts, tags := s.(larder.TagStore)
	pr, records := s.(larder.PurgeRecorder)
	switch {
	case tags && streams:
		return &timedTaggedStreamer{timedTagged: &timedTagged{t, ts}, b: bs}
	case tags:
		return &timedTagged{t, ts}
	case records && !streams:
		return &timedRecorder{t, pr}
	case streams && !records:
		return &timedStreamer{timedStore: t, b: bs}
	}
	return s // a combination the daemon's stores do not have: unwrapped
}

// timedStore times the calls of a store (see instrumentStore).
type timedStore struct {
	s     fullStore
	m     *storeMetrics
	local larder.LocalGetter // the store's, if any: asked on every hit
}

func (t *timedStore) Get(ctx context.Context, key string) (*larder.Entry, error) {
	start := time.Now()
	e, err := t.s.Get(ctx, key)
	t.m.done(ctx, "get", start, err)
	return e, err
}

func (t *timedStore) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	start := time.Now()
	err := t.s.Set(ctx, key, e, ttl)
	t.m.done(ctx, "set", start, err)
	return err
}

func (t *timedStore) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := t.s.Delete(ctx, key)
	t.m.done(ctx, "delete", start, err)
	return err
}

func (t *timedStore) SetIf(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	start := time.Now()
	ok, err := t.s.SetIf(ctx, key, e, ttl, gen)
	t.m.done(ctx, "set_if", start, err)
	return ok, err
}

func (t *timedStore) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	start := time.Now()
	es, err := t.s.GetMulti(ctx, keys)
	t.m.done(ctx, "get_multi", start, err)
	return es, err
}

// GetLocal is the store's (larder.LocalGetter), untimed: it answers from
// process memory. A store without it answers false, which is correct
// (the cache then calls Get).
func (t *timedStore) GetLocal(key string) (*larder.Entry, bool) {
	if t.local != nil {
		return t.local.GetLocal(key)
	}
	return nil, false
}

// HonoursDeadline is the store's answer (larder.DeadlineStore): timing a
// call does not change when it returns. A store without it answers false.
func (t *timedStore) HonoursDeadline() bool {
	d, ok := t.s.(larder.DeadlineStore)
	return ok && d.HonoursDeadline()
}

// LockFill is the store's (larder.FillLocker), timed. A store without it
// reports the lock held with a release that does nothing, as
// larder.FillLocker allows of a wrapper: every node then fetches, as it
// would with the store unwrapped.
func (t *timedStore) LockFill(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	fl, ok := t.s.(larder.FillLocker)
	if !ok {
		return func() {}, true, nil
	}
	start := time.Now()
	release, held, err := fl.LockFill(ctx, key, ttl)
	t.m.done(ctx, "lock_fill", start, err)
	return release, held, err
}

// timedStreamer is a timedStore of a larder.BodyStreamer. Only the calls
// are timed, not the reading of a body afterwards.
type timedStreamer struct {
	*timedStore
	b larder.BodyStreamer
}

func (t *timedStreamer) SetStream(ctx context.Context, key string, meta *larder.Entry, body io.Reader, size int64, ttl time.Duration) error {
	start := time.Now()
	err := t.b.SetStream(ctx, key, meta, body, size, ttl)
	t.m.done(ctx, "set_stream", start, err)
	return err
}

func (t *timedStreamer) GetStream(ctx context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	start := time.Now()
	meta, body, size, err := t.b.GetStream(ctx, key)
	t.m.done(ctx, "get_stream", start, err)
	return meta, body, size, err
}

// timedTagged is a timedStore of a larder.TagStore (redis, disk, tiered),
// also a larder.MultiSetter: the store's SetMulti, or Set key by key.
type timedTagged struct {
	*timedStore
	ts larder.TagStore
}

func (t *timedTagged) AddTags(ctx context.Context, key string, tags []string, since, expires time.Time) (bool, error) {
	start := time.Now()
	ok, err := t.ts.AddTags(ctx, key, tags, since, expires)
	t.m.done(ctx, "add_tags", start, err)
	return ok, err
}

func (t *timedTagged) PurgeTags(ctx context.Context, tags []string, now time.Time, keep time.Duration) ([]string, error) {
	start := time.Now()
	keys, err := t.ts.PurgeTags(ctx, tags, now, keep)
	t.m.done(ctx, "purge_tags", start, err)
	return keys, err
}

func (t *timedTagged) SetMulti(ctx context.Context, keys []string, e *larder.Entry, ttl time.Duration) error {
	start := time.Now()
	var err error
	if ms, ok := t.s.(larder.MultiSetter); ok {
		err = ms.SetMulti(ctx, keys, e, ttl)
	} else {
		for _, k := range keys {
			if err = t.s.Set(ctx, k, e, ttl); err != nil {
				break
			}
		}
	}
	t.m.done(ctx, "set_multi", start, err)
	return err
}

// timedTaggedStreamer is a timedTagged of a larder.BodyStreamer (disk).
type timedTaggedStreamer struct {
	*timedTagged
	b larder.BodyStreamer
}

func (t *timedTaggedStreamer) SetStream(ctx context.Context, key string, meta *larder.Entry, body io.Reader, size int64, ttl time.Duration) error {
	return (&timedStreamer{timedStore: t.timedStore, b: t.b}).SetStream(ctx, key, meta, body, size, ttl)
}

func (t *timedTaggedStreamer) GetStream(ctx context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	return (&timedStreamer{timedStore: t.timedStore, b: t.b}).GetStream(ctx, key)
}

// timedRecorder is a timedStore of a larder.PurgeRecorder (memcache).
type timedRecorder struct {
	*timedStore
	pr larder.PurgeRecorder
}

func (t *timedRecorder) RecordPurges(ctx context.Context, tags []string, now time.Time, soft bool, keep time.Duration) error {
	start := time.Now()
	err := t.pr.RecordPurges(ctx, tags, now, soft, keep)
	t.m.done(ctx, "record_purges", start, err)
	return err
}

func (t *timedRecorder) LastPurges(ctx context.Context, tags []string) (hard, soft time.Time, err error) {
	start := time.Now()
	hard, soft, err = t.pr.LastPurges(ctx, tags)
	t.m.done(ctx, "last_purges", start, err)
	return hard, soft, err
}

// tieredCollector reports a tiered store's counters (store/tiered.Stats).
type tieredCollector struct{ s *tiered.Store }

var (
	tieredL1HitsDesc = prometheus.NewDesc("larder_tiered_l1_hits_total",
		"Keys the tiered store served from its in-process L1.", nil, nil)
	tieredL2GetsDesc = prometheus.NewDesc("larder_tiered_l2_reads_total",
		"Reads the tiered store made from its shared L2 (a GetMulti is one).", nil, nil)
	tieredEvictionsDesc = prometheus.NewDesc("larder_tiered_evictions_total",
		"Keys other nodes wrote that the tiered store evicted from its L1 (through Redis pub/sub).", nil, nil)
	tieredFlushesDesc = prometheus.NewDesc("larder_tiered_flushes_total",
		"Times the tiered store emptied its L1: at each subscription to the bus, and after it broke or fell silent.", nil, nil)
	tieredConnectedDesc = prometheus.NewDesc("larder_tiered_bus_connected",
		"1 while the tiered store hears from its bus and so uses its L1; 0 while every read goes to the L2.", nil, nil)
)

func (c tieredCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tieredL1HitsDesc
	ch <- tieredL2GetsDesc
	ch <- tieredEvictionsDesc
	ch <- tieredFlushesDesc
	ch <- tieredConnectedDesc
}

func (c tieredCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s.Stats()
	connected := 0.0
	if s.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(tieredL1HitsDesc, prometheus.CounterValue, float64(s.L1Hits))
	ch <- prometheus.MustNewConstMetric(tieredL2GetsDesc, prometheus.CounterValue, float64(s.L2Gets))
	ch <- prometheus.MustNewConstMetric(tieredEvictionsDesc, prometheus.CounterValue, float64(s.Evictions))
	ch <- prometheus.MustNewConstMetric(tieredFlushesDesc, prometheus.CounterValue, float64(s.Flushes))
	ch <- prometheus.MustNewConstMetric(tieredConnectedDesc, prometheus.GaugeValue, connected)
}
