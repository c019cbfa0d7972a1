package memcache_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memcache"
)

// Hit latency through the cache with the memcache store, on the servers of
// LARDER_TEST_MEMCACHE (loopback under scripts/services.sh). Each reports
// the median and 99th percentile of its iterations besides the mean.

var body1K = strings.Repeat("x", 1024)

func benchOrigin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if strings.HasPrefix(r.URL.Path, "/vary") {
		w.Header().Set("Vary", "Accept-Language")
	}
	_, _ = w.Write([]byte(body1K))
}

// latencies records the duration of each iteration.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(l[len(l)*99/100].Microseconds()), "p99-µs")
}

func benchCacheHit(b *testing.B, target string, hdr ...string) {
	s := newStore(b, servers(b), memcache.Options{})
	c := larder.New(s)
	b.Cleanup(func() { _ = c.Close() })
	h := c.Middleware(http.HandlerFunc(benchOrigin))
	req := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	req()
	_ = c.Close()
	req() // the first hit learns a Vary index
	if w := req(); !hit(w) || w.Body.Len() != 1024 {
		b.Fatalf("not a hit: %d %q", w.Code, w.Header().Get("Cache-Status"))
	}
	lat := make(latencies, 0, b.N)
	for b.Loop() {
		start := time.Now()
		w := req()
		lat = append(lat, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
	lat.report(b)
}

// BenchmarkCacheHit: a hit on a URL without Vary: one Get.
func BenchmarkCacheHit(b *testing.B) { benchCacheHit(b, "http://example.com/plain") }

// BenchmarkCacheHitVary: a hit on a variant: the index and the variant in
// one GetMulti.
func BenchmarkCacheHitVary(b *testing.B) {
	benchCacheHit(b, "http://example.com/vary", "Accept-Language", "en")
}

// BenchmarkCacheHitParallel: hits from GOMAXPROCS goroutines.
func BenchmarkCacheHitParallel(b *testing.B) {
	s := newStore(b, servers(b), memcache.Options{})
	c := larder.New(s)
	b.Cleanup(func() { _ = c.Close() })
	h := c.Middleware(http.HandlerFunc(benchOrigin))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com/p", nil))
	_ = c.Close()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com/p", nil))
			if !hit(w) {
				b.Error("not a hit")
				return
			}
		}
	})
}

// BenchmarkStoreGet: the store alone, a 1 KiB entry.
func BenchmarkStoreGet(b *testing.B) {
	s := newStore(b, servers(b), memcache.Options{})
	ctx := context.Background()
	mustSet(b, s, "k", sized(b, 1200, "g"), time.Hour)
	lat := make(latencies, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if _, err := s.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	lat.report(b)
}
