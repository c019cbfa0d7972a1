package redis_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/store/redis"
)

// A fleet: several larder.Cache instances ("nodes", each with a client of
// its own, as separate processes would have) sharing one Redis.

// serve sends a request for target (host example.com) with header pairs
// hdr through h.
func serve(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func isHit(w *httptest.ResponseRecorder) bool {
	return strings.Contains(w.Header().Get("Cache-Status"), "; hit")
}

// fleet returns n caches on the server, with clients of their own and one
// key prefix. They are closed (their writes flushed) at the end of the test.
func fleet(t *testing.T, sv server, n int, opts ...larder.Option) []*larder.Cache {
	t.Helper()
	clients := make([]goredis.UniversalClient, n)
	for i := range clients {
		clients[i] = sv.client(t)
	}
	prefix := newPrefix(t, clients[0])
	caches := make([]*larder.Cache, n)
	for i, c := range clients {
		s, err := redis.New(c, redis.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		caches[i] = larder.New(s, opts...)
		t.Cleanup(func() { caches[i].Close() })
	}
	return caches
}

// counting is an origin whose responses, cacheable for a minute, name how
// many requests it has had; with Vary when the request asks for it.
type counting struct{ calls atomic.Int64 }

func (o *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.calls.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Cache-Control", "max-age=60")
	if v := r.Header.Get("X-Test-Vary"); v != "" {
		w.Header().Set("Vary", v)
	}
	w.Write([]byte("call " + strconv.FormatInt(n, 10) + " " + r.Header.Get("Accept-Language")))
}

// TestFleet: what one node stores, another serves; what one invalidates or
// purges, no node serves any more.
func TestFleet(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			caches := fleet(t, sv, 2)
			a, b := caches[0], caches[1]
			o := &counting{}
			ha, hb := a.Middleware(o), b.Middleware(o)

			for _, tc := range []struct {
				name string
				hdr  []string
			}{
				{"plain", nil},
				{"vary", []string{"X-Test-Vary", "Accept-Language", "Accept-Language", "de"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					target := "/" + tc.name
					check := func(step string, w *httptest.ResponseRecorder, hit bool, body string) {
						t.Helper()
						if isHit(w) != hit || w.Body.String() != body {
							t.Fatalf("%s: %q, Cache-Status %q; want hit %v, %q", step, w.Body, w.Header().Get("Cache-Status"), hit, body)
						}
					}
					start := o.calls.Load()
					body := func(n int64) string {
						s := "call " + strconv.FormatInt(start+n, 10) + " "
						if tc.hdr != nil {
							s += "de"
						}
						return s
					}

					// Fill through A, hit through B (twice: with Vary, the
					// second reads the index and the variant in one GetMulti).
					check("fill through A", serve(ha, "GET", target, tc.hdr...), false, body(1))
					a.Close() // A's write lands in Redis
					check("through B", serve(hb, "GET", target, tc.hdr...), true, body(1))
					check("through B again", serve(hb, "GET", target, tc.hdr...), true, body(1))
					check("through A", serve(ha, "GET", target, tc.hdr...), true, body(1))

					// Invalidate through B: A misses.
					if w := serve(hb, "POST", target); w.Code != http.StatusNoContent {
						t.Fatalf("POST through B: %d", w.Code)
					}
					check("through A after B's POST", serve(ha, "GET", target, tc.hdr...), false, body(3))
					a.Close()
					check("through B after A's refill", serve(hb, "GET", target, tc.hdr...), true, body(3))

					// Purge through A: B misses.
					if err := a.Purge(context.Background(), "http://example.com"+target); err != nil {
						t.Fatalf("Purge through A: %v", err)
					}
					check("through B after A's purge", serve(hb, "GET", target, tc.hdr...), false, body(4))
					b.Close()
					check("through A after B's refill", serve(ha, "GET", target, tc.hdr...), true, body(4))
				})
			}
		})
	}
}

// versioned is an origin whose resource has a version that unsafe requests
// bump. A GET whose X-Hold is "1" waits, once in the handler, until release
// is closed, after telling entered; its answer is the version it read on
// entering. It answers If-None-Match "v<version>" with 304. (As in the
// root package's invalidation_race_test.go.)
type versioned struct {
	version atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func newVersioned() *versioned {
	return &versioned{entered: make(chan struct{}), release: make(chan struct{})}
}

func (o *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		o.version.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v := o.version.Load()
	if r.Header.Get("X-Hold") == "1" {
		close(o.entered)
		<-o.release
	}
	tag := `"v` + strconv.FormatInt(v, 10) + `"`
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Vary", r.Header.Get("X-Test-Vary"))
	w.Header().Set("ETag", tag)
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write([]byte("v" + strconv.FormatInt(v, 10) + " " + r.Header.Get("Accept-Language")))
}

// TestFleetInvalidationRaces: the races of the root package's
// TestInvalidationRaces across two nodes. A response that node A fetched
// before node B invalidated (or purged) its URL is never stored after it,
// by the SetIf of the tombstone's generation in Redis.
func TestFleetInvalidationRaces(t *testing.T) {
	type scenario struct {
		name    string
		prepare func(h http.Handler, clk *fakeclock.Clock)
		held    []string // the request that reads the store on A, then waits in the handler
		after   []string // the request whose answer must be the new version
		want    string
	}
	scenarios := []scenario{
		{name: "slow GET of a cold URL",
			prepare: func(http.Handler, *fakeclock.Clock) {},
			held:    []string{"X-Hold", "1"}, want: "v1 "},
		{name: "304 under way",
			prepare: func(h http.Handler, clk *fakeclock.Clock) { serve(h, "GET", "/r"); clk.Advance(2 * time.Minute) },
			held:    []string{"X-Hold", "1"}, want: "v1 "},
		{name: "Vary fill of en brings back no de",
			prepare: func(h http.Handler, clk *fakeclock.Clock) {
				serve(h, "GET", "/r", "X-Test-Vary", "Accept-Language", "Accept-Language", "de")
				clk.Advance(time.Second) // en's fill will extend the index
			},
			held:  []string{"X-Hold", "1", "X-Test-Vary", "Accept-Language", "Accept-Language", "en"},
			after: []string{"X-Test-Vary", "Accept-Language", "Accept-Language", "de"}, want: "v1 de"},
	}
	for _, sv := range servers {
		for _, sc := range scenarios {
			for _, how := range []string{"PUT", "purge"} {
				t.Run(sv.name+"/"+sc.name+"/"+how, func(t *testing.T) {
					clk := fakeclock.New(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
					caches := fleet(t, sv, 2, larder.WithClock(clk.Now))
					a, b := caches[0], caches[1]
					o := newVersioned()
					ha, hb := a.Middleware(o), b.Middleware(o)
					sc.prepare(ha, clk)
					a.Close()

					done := make(chan *httptest.ResponseRecorder)
					go func() { done <- serve(ha, "GET", "/r", sc.held...) }()
					<-o.entered // the held request read the store and is at the origin
					if how == "PUT" {
						if w := serve(hb, "PUT", "/r"); w.Code != http.StatusNoContent {
							t.Errorf("PUT through B: %d", w.Code)
						}
					} else {
						o.version.Add(1)
						if err := b.Purge(context.Background(), "http://example.com/r"); err != nil {
							t.Error(err)
						}
					}
					close(o.release)
					if w := <-done; w.Code != http.StatusOK {
						t.Fatalf("held request: %d", w.Code)
					}
					a.Close() // A's write of the held response is attempted

					after := sc.after
					if after == nil {
						after = []string{"X-Test-Vary", ""}
					}
					for _, node := range []struct {
						name string
						h    http.Handler
					}{{"B", hb}, {"A", ha}} {
						if w := serve(node.h, "GET", "/r", after...); w.Body.String() != sc.want {
							t.Fatalf("after the %s, through %s: %q (Cache-Status %q), want %q", how, node.name, w.Body, w.Header().Get("Cache-Status"), sc.want)
						}
					}
				})
			}
		}
	}
}
