package larder_test

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
	"github.com/larder-cache/larder/store/disk"
	"github.com/larder-cache/larder/store/memory"
)

// TestPurgeTagRaces: a response fetched before a purge of one of its tags
// (or of a prefix that covers it) is never stored after the purge, also when
// the URL was not yet in the tag index when the purge read it.
func TestPurgeTagRaces(t *testing.T) {
	for _, sc := range []struct {
		name    string
		prepare func(h http.Handler, clk *clock)
	}{
		{name: "slow GET of a cold URL", prepare: func(http.Handler, *clock) {}},
		{name: "304 under way", prepare: func(h http.Handler, clk *clock) { get(h, "/r"); clk.Advance(2 * time.Minute) }},
	} {
		for _, how := range []string{"tag", "prefix", "soft tag", "soft URL"} {
			for _, st := range []string{"memory", "disk"} {
				t.Run(sc.name+"/"+how+"/"+st, func(t *testing.T) {
					clk := newClock()
					var s larder.Store
					if st == "memory" {
						m, err := memory.New(memory.Options{Clock: clk.Now})
						if err != nil {
							t.Fatal(err)
						}
						defer m.Close()
						s = m
					} else {
						d, err := disk.Open(t.TempDir(), disk.Options{Clock: clk.Now})
						if err != nil {
							t.Fatal(err)
						}
						defer d.Close()
						s = d
					}
					o := newVersioned()
					c := larder.New(s, larder.WithClock(clk.Now), larder.WithPrefixPurge(1))
					defer c.Close()
					h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("Surrogate-Key", "t")
						o.ServeHTTP(w, r)
					}))
					sc.prepare(h, clk)
					done := make(chan *httptest.ResponseRecorder)
					go func() { done <- get(h, "/r", "X-Hold", "1") }()
					<-o.entered
					o.version.Add(1)
					b := larder.PurgeBatch{Tags: []string{"t"}}
					switch how {
					case "prefix":
						b = larder.PurgeBatch{Prefixes: []string{"http://example.com/"}}
					case "soft tag":
						b.Soft = true
					case "soft URL":
						b = larder.PurgeBatch{URLs: []string{"http://example.com/r"}, Soft: true}
					}
					if err := c.PurgeBatch(context.Background(), b); err != nil {
						t.Fatal(err)
					}
					close(o.release)
					<-done
					c.Close() // the held fill's writes, if behind its response
					clk.Advance(time.Second)
					if w := get(h, "/r"); w.Body.String() != "v1 " {
						t.Fatalf("after the purge: %q (Cache-Status %q)", w.Body, w.Header().Get("Cache-Status"))
					}
				})
			}
		}
	}
}

// TestPurgeTagStress: fills of tagged URLs run while purges of their tag
// do; after each purge returns, every URL serves the version the origin had
// when the purge began, or a later one.
func TestPurgeTagStress(t *testing.T) {
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := larder.New(m)
	defer c.Close()
	testPurgeStress(t, c, c, c, 30)
}

// testPurgeStress runs fills through fill, purges through purge and checks
// through check (caches that may share a store), for rounds purges.
func testPurgeStress(t *testing.T, fill, purge, check *larder.Cache, rounds int) {
	t.Helper()
	var version atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := version.Load()
		runtime.Gosched() // widen the window between reading and answering
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "all "+r.URL.Path)
		_, _ = fmt.Fprintf(w, "%d", v)
	})
	const urls = 16
	hf, hc := fill.Middleware(origin), check.Middleware(origin)
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
				get(hf, "/u"+strconv.Itoa(i%urls))
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for range rounds {
		v := version.Add(1)
		if err := purge.PurgeTags(context.Background(), "all"); err != nil {
			t.Fatal(err)
		}
		for i := range urls {
			w := get(hc, "/u"+strconv.Itoa(i))
			got, _ := strconv.ParseInt(strings.TrimSpace(w.Body.String()), 10, 64)
			if got < v {
				t.Fatalf("/u%d after the purge of version %d: %d (Cache-Status %q)", i, v-1, got, w.Header().Get("Cache-Status"))
			}
		}
	}
}
