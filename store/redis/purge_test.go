package redis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
)

// tagged is an origin whose responses, cacheable for a minute (and stale
// for 30 s while revalidated), carry the tags the table gives for the path
// and name how many requests it has had.
type tagged struct {
	calls atomic.Int64
	tags  map[string]string
}

func (o *tagged) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.calls.Add(1)
	w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=30")
	w.Header().Set("Surrogate-Key", o.tags[r.URL.Path])
	w.Header().Set("ETag", `"e"`)
	fmt.Fprintf(w, "%s %d", r.URL.Path, n)
}

// TestFleetPurge: what one node purges by tag, by prefix or softly, no
// node serves fresh any more; the rest stays.
func TestFleetPurge(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			clk := fakeclock.New(time.Now())
			caches := fleet(t, sv, 3, larder.WithClock(clk.Now), larder.WithPrefixPurge(2))
			o := &tagged{tags: map[string]string{
				"/p/1": "product:1 all", "/p/2": "product:2 all", "/list": "product:1 product:2 all",
				"/docs/v2/a": "docs", "/docs/v2/b/c": "docs", "/docs/v1/a": "docs",
			}}
			h := make([]http.Handler, 3)
			for i, c := range caches {
				h[i] = c.Middleware(o)
			}
			paths := []string{"/p/1", "/p/2", "/list", "/docs/v2/a", "/docs/v2/b/c", "/docs/v1/a"}
			fill := func() {
				t.Helper()
				clk.Advance(2 * time.Second) // past PurgeClockSkew since the last purge
				for _, p := range paths {
					serve(h[0], "GET", p)
				}
				caches[0].Close()
				for _, p := range paths {
					for i := 1; i < 3; i++ {
						if w := serve(h[i], "GET", p); !isHit(w) {
							t.Fatalf("fill: %s through node %d: %q", p, i, w.Header().Get("Cache-Status"))
						}
					}
				}
			}
			expect := func(step string, gone ...string) {
				t.Helper()
				for i := 1; i < 3; i++ {
					for _, p := range paths {
						w := serve(h[i], "GET", p)
						fresh := isHit(w) && !strings.Contains(w.Header().Get("Cache-Status"), "stale")
						if want := !contains(gone, p); fresh != want {
							t.Errorf("%s: %s through node %d: Cache-Status %q, want fresh %v", step, p, i, w.Header().Get("Cache-Status"), want)
						}
					}
				}
				for _, c := range caches {
					c.Close()
				}
			}
			ctx := context.Background()

			fill()
			if err := caches[0].PurgeTags(ctx, "product:1"); err != nil {
				t.Fatal(err)
			}
			expect("tag product:1", "/p/1", "/list")

			fill()
			if err := caches[0].PurgePrefix(ctx, "https://example.com/docs/v2/"); err != nil {
				t.Fatal(err)
			}
			expect("prefix /docs/v2/", "/docs/v2/a", "/docs/v2/b/c")

			fill()
			if err := caches[0].PurgeBatch(ctx, larder.PurgeBatch{Tags: []string{"product:2"}, Soft: true}); err != nil {
				t.Fatal(err)
			}
			// Soft: served stale (stale-while-revalidate) while revalidated,
			// by a fill that looked up more than PurgeClockSkew after the
			// purge (one within it is not stored).
			clk.Advance(2 * time.Second)
			w := serve(h[1], "GET", "/p/2")
			if !strings.Contains(w.Header().Get("Cache-Status"), "detail=stale-while-revalidate") {
				t.Fatalf("soft purge: %q", w.Header().Get("Cache-Status"))
			}
			for _, c := range caches {
				c.Close()
			}
			if w := serve(h[2], "GET", "/p/2"); !isHit(w) || strings.Contains(w.Header().Get("Cache-Status"), "stale") {
				t.Fatalf("after the revalidation: %q", w.Header().Get("Cache-Status"))
			}

			fill()
			if err := caches[0].PurgeTags(ctx, "all"); err != nil {
				t.Fatal(err)
			}
			expect("tag all", "/p/1", "/p/2", "/list")
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestFleetPurgeTagRaces: a response that node A fetched before node B
// purged one of its tags is never stored after the purge, also when its URL
// was not in the tag index yet: the purge record refuses A's fill.
func TestFleetPurgeTagRaces(t *testing.T) {
	for _, sv := range servers {
		for _, how := range []string{"tag", "prefix", "soft tag"} {
			t.Run(sv.name+"/"+how, func(t *testing.T) {
				clk := fakeclock.New(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
				caches := fleet(t, sv, 3, larder.WithClock(clk.Now), larder.WithPrefixPurge(1))
				a, b, c := caches[0], caches[1], caches[2]
				o := newVersioned()
				origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Tag", "t")
					o.ServeHTTP(w, r)
				})
				ha, hc := a.Middleware(origin), c.Middleware(origin)
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- serve(ha, "GET", "/r", "X-Hold", "1") }()
				<-o.entered
				o.version.Add(1)
				p := larder.PurgeBatch{Tags: []string{"t"}, Soft: how == "soft tag"}
				if how == "prefix" {
					p = larder.PurgeBatch{Prefixes: []string{"http://example.com/"}}
				}
				if err := b.PurgeBatch(context.Background(), p); err != nil {
					t.Error(err)
				}
				close(o.release)
				<-done
				a.Close()
				clk.Advance(5 * time.Second)
				if w := serve(hc, "GET", "/r"); w.Body.String() != "v1 " {
					t.Fatalf("through C after the purge: %q (Cache-Status %q)", w.Body, w.Header().Get("Cache-Status"))
				}
			})
		}
	}
}

// TestFleetPurgeStress: fills through node A of tagged URLs run while node
// B purges their tag; after each purge returns, node C serves every URL at
// the version the origin had when the purge began, or a later one.
func TestFleetPurgeStress(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			caches := fleet(t, sv, 3)
			var version atomic.Int64
			origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v := version.Load()
				runtime.Gosched()
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("Surrogate-Key", "all "+r.URL.Path)
				fmt.Fprintf(w, "%d", v)
			})
			const urls = 16
			hf, hc := caches[0].Middleware(origin), caches[2].Middleware(origin)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := g; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						serve(hf, "GET", "/u"+strconv.Itoa(i%urls))
					}
				})
			}
			defer func() { close(stop); wg.Wait() }()
			for range 20 {
				v := version.Add(1)
				if err := caches[1].PurgeTags(context.Background(), "all"); err != nil {
					t.Fatal(err)
				}
				for i := range urls {
					w := serve(hc, "GET", "/u"+strconv.Itoa(i))
					got, _ := strconv.ParseInt(w.Body.String(), 10, 64)
					if got < v {
						t.Fatalf("/u%d after the purge of version %d: %d (Cache-Status %q)", i, v-1, got, w.Header().Get("Cache-Status"))
					}
				}
			}
		})
	}
}

// TestFleetSoftPurgeMany: a soft purge of a tag over many URLs (several
// chunks of RewriteMeta) leaves every one stale, with its body, on every
// node.
func TestFleetSoftPurgeMany(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			clk := fakeclock.New(time.Now())
			caches := fleet(t, sv, 2, larder.WithClock(clk.Now))
			o := &tagged{tags: map[string]string{}}
			const n = 300
			for i := range n {
				o.tags[fmt.Sprintf("/m/%d", i)] = "many"
			}
			ha, hb := caches[0].Middleware(o), caches[1].Middleware(o)
			for i := range n {
				serve(ha, "GET", fmt.Sprintf("/m/%d", i))
			}
			caches[0].Close()
			clk.Advance(2 * time.Second)
			if err := caches[0].PurgeBatch(context.Background(), larder.PurgeBatch{Tags: []string{"many"}, Soft: true}); err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Second)
			for i := range n {
				w := serve(hb, "GET", fmt.Sprintf("/m/%d", i))
				if !strings.Contains(w.Header().Get("Cache-Status"), "detail=stale-while-revalidate") ||
					!strings.HasPrefix(w.Body.String(), fmt.Sprintf("/m/%d ", i)) {
					t.Fatalf("/m/%d after the soft purge: %q %q", i, w.Header().Get("Cache-Status"), w.Body)
				}
			}
		})
	}
}
