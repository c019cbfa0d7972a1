package memcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/store/memcache"
)

func TestPurgeRecords(t *testing.T) {
	s := newStore(t, servers(t), memcache.Options{})
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if h, sf, err := s.LastPurges(ctx, []string{"a"}); err != nil || !h.IsZero() || !sf.IsZero() {
		t.Fatalf("no record: %v %v %v", h, sf, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RecordPurges(ctx, []string{"a", "b"}, t0, false, time.Hour))
	must(s.RecordPurges(ctx, []string{"b"}, t0.Add(time.Second), true, time.Hour))
	must(s.RecordPurges(ctx, []string{"a"}, t0.Add(-time.Second), false, time.Hour)) // earlier: no change
	for _, tc := range []struct {
		tags       []string
		hard, soft time.Time
	}{
		{[]string{"a"}, t0, time.Time{}},
		{[]string{"b"}, t0, t0.Add(time.Second)},
		{[]string{"c", "a", "b"}, t0, t0.Add(time.Second)},
		{[]string{"\x00example.com/docs/", "c"}, time.Time{}, time.Time{}},
	} {
		h, sf, err := s.LastPurges(ctx, tc.tags)
		if err != nil || !h.Equal(tc.hard) || !sf.Equal(tc.soft) {
			t.Errorf("LastPurges(%q) = %v, %v, %v; want %v, %v", tc.tags, h, sf, err, tc.hard, tc.soft)
		}
	}
	// Concurrent purges of one tag: the latest time wins.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := s.RecordPurges(ctx, []string{"c"}, t0.Add(time.Duration(i)*time.Second), false, time.Hour); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if h, _, _ := s.LastPurges(ctx, []string{"c"}); !h.Equal(t0.Add(7 * time.Second)) {
		t.Errorf("after concurrent purges: %v", h)
	}
}

// TestFleetPurgeTags: two nodes on the same servers; what one purges by
// tag, by prefix or softly, the other no longer serves fresh, including a
// response fetched before the purge and stored after it.
func TestFleetPurgeTags(t *testing.T) {
	addrs := servers(t)
	p := prefix(t)
	clk := fakeclock.New(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	var calls atomic.Int64
	hold := make(chan struct{})
	entered := make(chan struct{})
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("X-Hold") == "1" {
			close(entered)
			<-hold
		}
		w.Header().Set("Cache-Control", "max-age=600, stale-while-revalidate=60")
		w.Header().Set("Cache-Tag", "all,"+strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("ETag", `"e"`)
		fmt.Fprintf(w, "%s %d", r.URL.Path, n)
	})
	var caches []*larder.Cache
	var hs []http.Handler
	for range 2 {
		s := newStore(t, addrs, memcache.Options{Prefix: p})
		c := larder.New(s, larder.WithClock(clk.Now), larder.WithPrefixPurge(1))
		t.Cleanup(func() { _ = c.Close() })
		caches, hs = append(caches, c), append(hs, c.Middleware(origin))
	}
	get := func(i int, target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		for j := 0; j+1 < len(hdr); j += 2 {
			r.Header.Set(hdr[j], hdr[j+1])
		}
		w := httptest.NewRecorder()
		hs[i].ServeHTTP(w, r)
		_ = caches[i].Close()
		return w
	}
	status := func(w *httptest.ResponseRecorder) string { return w.Header().Get("Cache-Status") }
	fresh := func(w *httptest.ResponseRecorder) bool {
		return strings.Contains(status(w), "; hit") && !strings.Contains(status(w), "stale")
	}
	ctx := context.Background()

	for _, path := range []string{"/a", "/b", "/docs/x"} {
		get(0, path)
		if w := get(1, path); !fresh(w) {
			t.Fatalf("%s through B: %q", path, status(w))
		}
	}
	clk.Advance(2 * time.Second)
	if err := caches[0].PurgeTags(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if w := get(1, "/a"); fresh(w) {
		t.Fatalf("/a after the tag purge: %q", status(w))
	}
	if w := get(1, "/b"); !fresh(w) {
		t.Fatalf("/b after the purge of a: %q", status(w))
	}
	if err := caches[1].PurgePrefix(ctx, "http://example.com/docs/"); err != nil {
		t.Fatal(err)
	}
	if w := get(0, "/docs/x"); fresh(w) {
		t.Fatalf("/docs/x after the prefix purge: %q", status(w))
	}
	if err := caches[0].PurgeBatch(ctx, larder.PurgeBatch{Tags: []string{"b"}, Soft: true}); err != nil {
		t.Fatal(err)
	}
	if w := get(1, "/b"); !strings.Contains(status(w), "detail=stale-while-revalidate") {
		t.Fatalf("/b after the soft purge: %q", status(w))
	}

	// A fill under way during a purge: stored after it, never served.
	clk.Advance(5 * time.Second)
	done := make(chan struct{})
	go func() { get(0, "/c", "X-Hold", "1"); close(done) }()
	<-entered
	if err := caches[1].PurgeTags(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	close(hold)
	<-done
	n := calls.Load()
	if w := get(1, "/c"); calls.Load() != n+1 {
		t.Fatalf("/c, fetched before the purge: served from the cache (%q)", status(w))
	}
}
