package larder_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// stampede sends n concurrent GETs of target through h, the i-th with the
// header pairs hdr(i), and returns the responses.
func stampede(h http.Handler, n int, target string, hdr func(i int) []string) []*httptest.ResponseRecorder {
	out := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := httptest.NewRequest("GET", target, nil)
			if hdr != nil {
				kv := hdr(i)
				for j := 0; j+1 < len(kv); j += 2 {
					r.Header.Set(kv[j], kv[j+1])
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			out[i] = w
		})
	}
	wg.Wait()
	return out
}

// slowOrigin answers after d with a body naming the request's
// Accept-Language, with the given header pairs.
func slowOrigin(d time.Duration, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d) // the origin's latency, not an expiry
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		_, _ = w.Write(bytes.Repeat([]byte("lang="+r.Header.Get("Accept-Language")+";"), 100))
	}
}

// TestCoalescing: 1,000 concurrent requests for a cold URL behind a 1 s
// origin make exactly one origin request, and each gets the whole body.
func TestCoalescing(t *testing.T) {
	f := newFixture(t, slowOrigin(time.Second, "Cache-Control", "max-age=60"))
	defer f.cache.Close()
	start := time.Now()
	ws := stampede(f.h, 1000, "/cold", nil)
	t.Logf("1000 requests in %v", time.Since(start))
	expectCalls(t, f.orig, 1)
	want := strings.Repeat("lang=;", 100)
	collapsed := 0
	for i, w := range ws {
		if w.Code != 200 || w.Body.String() != want {
			t.Fatalf("response %d: %d %q", i, w.Code, w.Body.String()[:min(40, w.Body.Len())])
		}
		if strings.Contains(w.Header().Get("Cache-Status"), "; collapsed") {
			collapsed++
		}
	}
	if collapsed == 0 {
		t.Fatal("no response says it was collapsed")
	}
}

// TestCoalescingVary: with a Vary of three values, three origin requests,
// each variant's body to its own requests.
func TestCoalescingVary(t *testing.T) {
	f := newFixture(t, slowOrigin(time.Second, "Cache-Control", "max-age=60", "Vary", "Accept-Language"))
	defer f.cache.Close()
	langs := []string{"en", "de", "fr"}
	ws := stampede(f.h, 1000, "/v", func(i int) []string { return []string{"Accept-Language", langs[i%3]} })
	expectCalls(t, f.orig, 3)
	for i, w := range ws {
		if want := strings.Repeat("lang="+langs[i%3]+";", 100); w.Code != 200 || w.Body.String() != want {
			t.Fatalf("response %d (%s): %d %.40q", i, langs[i%3], w.Code, w.Body)
		}
	}
}

// TestCoalescingNeverSharesUnstorable: a private response, or one with
// Set-Cookie, is never given to a waiter; the URL then goes uncoalesced
// (hit-for-miss), so its requests do not queue behind each other.
func TestCoalescingNeverSharesUnstorable(t *testing.T) {
	for _, cc := range []string{"private, max-age=60", "no-store", "max-age=60\nSet-Cookie: sid=leader"} {
		t.Run(cc, func(t *testing.T) {
			var n atomic.Int64
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				id := n.Add(1)
				time.Sleep(100 * time.Millisecond) // the origin's latency
				for _, l := range strings.Split(cc, "\n") {
					k, v, ok := strings.Cut(l, ": ")
					if !ok {
						k, v = "Cache-Control", l
					}
					w.Header().Set(k, v)
				}
				w.Header().Set("X-Answer", string(rune('0'+id%10)))
				_, _ = w.Write([]byte("for one"))
			})
			defer f.cache.Close()
			ws := stampede(f.h, 20, "/p", nil)
			if got := f.orig.n(); got != 20 {
				t.Fatalf("%d origin requests for 20 requests of an unstorable response", got)
			}
			for _, w := range ws {
				if strings.Contains(w.Header().Get("Cache-Status"), "collapsed") {
					t.Fatalf("a waiter got the leader's response: %v", w.Header())
				}
			}
			// Hit-for-miss: the next stampede goes straight to the origin.
			before := f.orig.n()
			stampede(f.h, 10, "/p", nil)
			if got := f.orig.n() - before; got != 10 {
				t.Fatalf("%d origin requests, want 10", got)
			}
		})
	}
}

// TestCoalescingRevalidation: concurrent requests for a stale response make
// one conditional request.
func TestCoalescingRevalidation(t *testing.T) {
	var conditional atomic.Int64
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1")
		w.Header().Set("ETag", `"v"`)
		if r.Header.Get("If-None-Match") == `"v"` {
			conditional.Add(1)
			time.Sleep(200 * time.Millisecond)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("body"))
	})
	defer f.cache.Close()
	f.do("GET", "/r")
	f.clock.Advance(2 * time.Second)
	ws := stampede(f.h, 200, "/r", nil)
	expectCalls(t, f.orig, 2)
	if conditional.Load() != 1 {
		t.Fatalf("%d conditional requests", conditional.Load())
	}
	for _, w := range ws {
		if w.Code != 200 || w.Body.String() != "body" {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	}
}

// TestCoalescingOff: WithCoalescing(-1, 0) turns it off.
func TestCoalescingOff(t *testing.T) {
	f := newFixture(t, slowOrigin(50*time.Millisecond, "Cache-Control", "max-age=60"), larder.WithCoalescing(-1, 0))
	defer f.cache.Close()
	stampede(f.h, 10, "/x", nil)
	if f.orig.n() < 2 {
		t.Fatalf("%d origin requests with coalescing off", f.orig.n())
	}
}

// TestCoalescingWaiterContext: a waiter whose client goes away stops
// waiting and gets nothing; the leader is not disturbed.
func TestCoalescingWaiterContext(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("x"))
	}, larder.WithCoalescing(time.Hour, 0))
	defer f.cache.Close()
	leader := make(chan *httptest.ResponseRecorder)
	go func() { leader <- f.do("GET", "/w") }()
	for f.orig.n() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/w", nil).WithContext(ctx)
	done := make(chan struct{})
	go func() {
		f.h.ServeHTTP(httptest.NewRecorder(), r)
		close(done)
	}()
	cancel()
	// The waiter stops waiting and fetches alone: a second origin call
	// while the leader's is still under way.
	for f.orig.n() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-done
	if w := <-leader; w.Body.String() != "x" {
		t.Fatalf("leader got %q", w.Body)
	}
}
