package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/redis"
)

// Purge by tag at scale: a tag that covers many entries is purged while
// other goroutines keep reading other entries (hits), whose latency is
// measured during the purge and, as baselines, for 2 s before it and for
// as long as it took after it.
//
// BenchmarkPurgeTag/<store>/<n> fills n entries tagged "big" (and 1,000
// others, tagged "small") through the cache, then times PurgeTags("big")
// while 2 goroutines read the others (4,000 reads a second); it reports the purge's time as
// purge-s, the hits' p50 and p99 (µs) before and during the purge, their
// p99 after it (hit-p99-after-µs: with hit-p99-base-µs, how far a p99
// moves without a purge), and
// how many of the reads during it missed (other-misses: a read past the
// store timeout counts as a miss). The
// redis case runs when LARDER_TEST_REDIS names a server (127.0.0.1:6379),
// under a key prefix of its own that it deletes afterwards; the disk case
// in a temporary directory, with 10,000 entries only.

// purgeBody is the body of every entry: 1 KiB.
var purgeBody = []byte(strings.Repeat("x", 1024))

func purgeOrigin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=3600")
	if strings.HasPrefix(r.URL.Path, "/big/") {
		w.Header().Set("Surrogate-Key", "big "+r.URL.Path)
	} else {
		w.Header().Set("Surrogate-Key", "small")
	}
	_, _ = w.Write(purgeBody)
}

// purgeSetup is a cache filled for a purge benchmark.
type purgeSetup struct {
	cache *larder.Cache
	h     http.Handler
	small []string
	soft  bool // soft purges
}

// getStatus serves a GET of target (a path) for example.com through h and
// returns its Cache-Status. The request is built as a server's would be,
// without httptest.NewRequest's parse of a request line (4 KiB of reader a
// call: the reads' own garbage set the pace of the collector, which the
// benchmark is to show for the purge's).
func getStatus(h http.Handler, target string) string {
	w := httptest.NewRecorder()
	r := &http.Request{
		Method: "GET", URL: &url.URL{Path: target}, RequestURI: target,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "example.com", RemoteAddr: "192.0.2.1:1234",
	}
	h.ServeHTTP(w, r)
	return w.Header().Get("Cache-Status")
}

// fill stores n big entries and the small ones, from 8 goroutines.
func (p *purgeSetup) fill(tb testing.TB, n int) {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				getStatus(p.h, "/big/"+strconv.Itoa(i))
			}
		})
	}
	wg.Wait()
	for _, s := range p.small {
		getStatus(p.h, s)
	}
	p.cache.Close() // the writes behind the responses
	for _, s := range p.small {
		if cs := getStatus(p.h, s); !strings.Contains(cs, "hit") {
			tb.Fatalf("%s not stored: %q", s, cs)
		}
	}
}

// hitEvery paces each reading goroutine: 2 × 2,000 reads a second, a
// steady load that leaves the purge CPU (a reader in a tight loop would
// measure how the purge and the readers share 2 CPUs, not the purge).
const hitEvery = 500 * time.Microsecond

// hitLatencies reads the small entries from 2 goroutines, each every
// hitEvery, until stop is closed, and returns the latencies of the reads and
// how many missed (a store call past the cache's store timeout is a miss).
func (p *purgeSetup) hitLatencies(stop <-chan struct{}) (lat []time.Duration, misses int64) {
	var mu sync.Mutex
	var all []time.Duration
	var missed atomic.Int64
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			var lat []time.Duration
			tick := time.NewTicker(hitEvery)
			defer tick.Stop()
			for i := g; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					all = append(all, lat...)
					mu.Unlock()
					return
				case <-tick.C:
				}
				t0 := time.Now()
				cs := getStatus(p.h, p.small[i%len(p.small)])
				lat = append(lat, time.Since(t0))
				if !strings.Contains(cs, "hit") {
					missed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return all, missed.Load()
}

// purgeSettle is how long the reads run after the fill, unmeasured, before
// the baseline.
const purgeSettle = 2 * time.Second

// purgeBaseline is how long the reads are measured before a purge: 8,000
// reads, so that their p99 rests on 80 of them (200 ms, 8, swung from 0.6
// to 3 ms between runs of the same code).
const purgeBaseline = 2 * time.Second

// percentileMicros returns the p-th percentile of d (sorted in place), in
// microseconds, for b.ReportMetric.
func percentileMicros(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(float64(len(d)-1)*p)]) / float64(time.Microsecond)
}

// purgeRun is what runPurge measures: the purge's time, the reads'
// latencies before, during and after it, and how many of the reads during
// it missed.
type purgeRun struct {
	purge               time.Duration
	base, during, after []time.Duration
	misses              int64
	// gcs and allocMB are the collections and the megabytes allocated
	// while the purge ran (its own and the reads').
	gcs     int
	allocMB float64
}

// runPurge purges the big tag while the small entries are read, and checks
// that no big entry is a hit afterwards (a sample of them). The reads are
// measured (in a benchmark, after purgeSettle unmeasured) for
// purgeBaseline before the purge, during it, and for as long
// as it took after it: the two windows without a purge show how much a p99
// moves on the machine by itself.
func (p *purgeSetup) runPurge(tb testing.TB, n int) (r purgeRun) {
	tb.Helper()
	if _, bench := tb.(*testing.B); bench {
		// The reads right after a fill are no baseline: on the 3-node
		// cluster their p99 was 1.0–1.3 ms for the first 2 s, 0.2–0.4 ms
		// after (2026-12-01), as the servers settled from the fill.
		p.readFor(purgeSettle)
	}
	r.base, _ = p.readFor(purgeBaseline)

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { r.during, r.misses = p.hitLatencies(stop); close(done) }()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0 := time.Now()
	if err := p.cache.PurgeBatch(context.Background(), larder.PurgeBatch{Tags: []string{"big"}, Soft: p.soft}); err != nil {
		tb.Fatal(err)
	}
	r.purge = time.Since(t0)
	runtime.ReadMemStats(&ms1)
	r.gcs, r.allocMB = int(ms1.NumGC-ms0.NumGC), float64(ms1.TotalAlloc-ms0.TotalAlloc)/(1<<20)
	close(stop)
	<-done
	r.after, _ = p.readFor(r.purge)
	for i := 0; i < n; i += max(n/100, 1) {
		if cs := getStatus(p.h, "/big/"+strconv.Itoa(i)); strings.Contains(cs, "hit") && !strings.Contains(cs, "ttl=-") {
			tb.Fatalf("/big/%d is a fresh hit after the purge: %q", i, cs)
		}
	}
	return r
}

// readFor reads the small entries as hitLatencies does, for d.
func (p *purgeSetup) readFor(d time.Duration) ([]time.Duration, int64) {
	stop := make(chan struct{})
	time.AfterFunc(d, func() { close(stop) })
	return p.hitLatencies(stop)
}

func newPurgeSetup(tb testing.TB, store larder.Store) *purgeSetup {
	// A long store timeout: the fill queues many writes at once, which a
	// disk store commits with fsyncs, and a write that waits past the
	// timeout is not stored.
	c := larder.New(store, larder.WithWriteQueue(1<<17), larder.WithStoreTimeout(5*time.Second))
	p := &purgeSetup{cache: c, h: c.Middleware(http.HandlerFunc(purgeOrigin))}
	for i := range 1000 {
		p.small = append(p.small, "/small/"+strconv.Itoa(i))
	}
	return p
}

type purgeStore struct {
	name  string
	new   func(tb testing.TB) larder.Store
	sizes []int // entries under the purged tag
}

func purgeStores() []purgeStore {
	return []purgeStore{
		{"memory", func(tb testing.TB) larder.Store {
			s, err := memory.New(memory.Options{MaxBytes: 1 << 30})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(s.Close)
			return s
		}, []int{10_000, 100_000}},
		{"redis", newBenchRedis, []int{10_000, 100_000}},
		{"redis-cluster", newBenchRedisCluster, []int{100_000}},
		{"disk", func(tb testing.TB) larder.Store {
			s, err := disk.Open(tb.TempDir(), disk.Options{MaxBytes: 4 << 30})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { _ = s.Close() })
			return s
		}, []int{10_000}}, // a 100k fill takes minutes of fsyncs
	}
}

// newBenchRedis returns a Redis store under a prefix of its own, deleted at
// the end, or skips without LARDER_TEST_REDIS.
func newBenchRedis(tb testing.TB) larder.Store {
	addr := os.Getenv("LARDER_TEST_REDIS")
	if addr == "" {
		tb.Skip("LARDER_TEST_REDIS is not set")
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, PoolSize: 32})
	return newBenchRedisOn(tb, c, func(ctx context.Context, prefix string) { unlinkUnder(ctx, c, prefix) })
}

// newBenchRedisCluster is newBenchRedis on the Redis Cluster that
// LARDER_TEST_REDIS_CLUSTER names (host:port,host:port,...).
func newBenchRedisCluster(tb testing.TB) larder.Store {
	addrs := os.Getenv("LARDER_TEST_REDIS_CLUSTER")
	if addrs == "" {
		tb.Skip("LARDER_TEST_REDIS_CLUSTER is not set")
	}
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true, PoolSize: 32})
	return newBenchRedisOn(tb, c, func(ctx context.Context, prefix string) {
		_ = c.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			unlinkUnder(ctx, m, prefix)
			return nil
		})
	})
}

// unlinkUnder deletes the keys under prefix on one server, 1,000 at a
// time (one at a time: on a cluster node, keys of many slots).
func unlinkUnder(ctx context.Context, c *goredis.Client, prefix string) {
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	flush := func() {
		_, _ = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys {
				p.Unlink(ctx, k)
			}
			return nil
		})
		keys = keys[:0]
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 1000 {
			flush()
		}
	}
	flush()
}

// newBenchRedisOn returns a store on c under a prefix of its own, whose
// keys clean deletes at the end.
func newBenchRedisOn(tb testing.TB, c goredis.UniversalClient, clean func(ctx context.Context, prefix string)) larder.Store {
	var r [6]byte
	_, _ = rand.Read(r[:])
	prefix := "larder-bench:" + hex.EncodeToString(r[:]) + ":"
	tb.Cleanup(func() {
		clean(context.Background(), prefix)
		c.Close()
	})
	s, err := redis.New(c, redis.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func BenchmarkPurgeTag(b *testing.B) { benchmarkPurgeTag(b, false) }

// BenchmarkPurgeTagSoft is BenchmarkPurgeTag with soft purges: every entry
// is read and rewritten stale.
func BenchmarkPurgeTagSoft(b *testing.B) { benchmarkPurgeTag(b, true) }

func benchmarkPurgeTag(b *testing.B, soft bool) {
	for _, st := range purgeStores() {
		for _, n := range st.sizes {
			b.Run(fmt.Sprintf("%s/%d", st.name, n), func(b *testing.B) {
				var base, during, after []time.Duration
				var total time.Duration
				var misses, gcs int64
				var allocMB float64
				for range b.N {
					b.StopTimer()
					p := newPurgeSetup(b, st.new(b))
					p.soft = soft
					p.fill(b, n)
					b.StartTimer()
					r := p.runPurge(b, n)
					total += r.purge
					misses += r.misses
					gcs += int64(r.gcs)
					allocMB += r.allocMB
					base, during, after = append(base, r.base...), append(during, r.during...), append(after, r.after...)
				}
				b.ReportMetric(float64(misses), "other-misses")
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(total.Seconds()/float64(b.N), "purge-s")
				b.ReportMetric(percentileMicros(base, 0.5), "hit-p50-base-µs")
				b.ReportMetric(percentileMicros(base, 0.99), "hit-p99-base-µs")
				b.ReportMetric(percentileMicros(during, 0.5), "hit-p50-purge-µs")
				b.ReportMetric(percentileMicros(during, 0.99), "hit-p99-purge-µs")
				b.ReportMetric(percentileMicros(after, 0.99), "hit-p99-after-µs")
				b.ReportMetric(float64(gcs)/float64(b.N), "purge-gcs")
				b.ReportMetric(allocMB/float64(b.N), "purge-alloc-MB")
			})
		}
	}
}

// TestPurgeTagSetup runs the benchmark's setup small: the purge removes
// every entry of the tag, and the other entries stay hits.
func TestPurgeTagSetup(t *testing.T) {
	for _, st := range purgeStores() {
		t.Run(st.name, func(t *testing.T) {
			p := newPurgeSetup(t, st.new(t))
			p.fill(t, 500)
			p.runPurge(t, 500)
		})
	}
}
