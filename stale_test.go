package larder_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// RFC 5861 §3: stale-while-revalidate serves the stale response at once and
// revalidates in the background.
func TestStaleWhileRevalidate(t *testing.T) {
	var version atomic.Int64
	version.Store(1)
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30")
		fmt.Fprintf(w, "v%d", version.Load())
	})
	defer f.cache.Close()
	f.do("GET", "/x")
	version.Store(2)
	f.clock.Advance(20 * time.Second) // stale by 10 s, within the window
	w := f.do("GET", "/x")
	if w.Body.String() != "v1" || w.Header().Get("Cache-Status") != "Larder; hit; ttl=-10; detail=stale-while-revalidate" {
		t.Fatalf("got %q, Cache-Status %q", w.Body, w.Header().Get("Cache-Status"))
	}
	f.cache.Close() // wait for the background revalidation
	expectCalls(t, f.orig, 2)
	if w := f.do("GET", "/x"); w.Body.String() != "v2" || w.Header().Get("Cache-Status") != "Larder; hit; ttl=10" {
		t.Fatalf("after revalidation: %q %q", w.Body, w.Header().Get("Cache-Status"))
	}
	f.clock.Advance(50 * time.Second) // past the window: synchronous
	if w := f.do("GET", "/x"); w.Body.String() != "v2" || w.Header().Get("Cache-Status") != "Larder; fwd=stale; stored; ttl=10" {
		t.Fatalf("past the window: %q %q", w.Body, w.Header().Get("Cache-Status"))
	}
}

func TestStaleWhileRevalidate_NotWhenProhibited(t *testing.T) {
	tests := []struct {
		name   string
		cc     string
		reqHdr []string
	}{
		{"RFC9111_4.2.4_must-revalidate", "max-age=10, stale-while-revalidate=30, must-revalidate", nil},
		{"RFC9111_5.2.2.10_s-maxage_in_shared_cache", "s-maxage=10, stale-while-revalidate=30", nil},
		{"RFC9111_5.2.1.4_request_no-cache", "max-age=10, stale-while-revalidate=30", []string{"Cache-Control", "no-cache"}},
		{"RFC9111_5.2.1.1_request_max-age", "max-age=10, stale-while-revalidate=30", []string{"Cache-Control", "max-age=5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, "b", "Cache-Control", tc.cc))
			defer f.cache.Close()
			f.do("GET", "/x")
			f.clock.Advance(15 * time.Second)
			w := f.do("GET", "/x", tc.reqHdr...)
			if w.Header().Get("Cache-Status") == "Larder; hit; ttl=-5; detail=stale-while-revalidate" {
				t.Fatal("served stale")
			}
			expectCalls(t, f.orig, 2)
		})
	}
}

func TestStaleWhileRevalidate_OneBackgroundRequestAtATime(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30")
		fmt.Fprint(w, "b")
	})
	f.do("GET", "/x")
	f.clock.Advance(15 * time.Second)
	for i := 0; i < 5; i++ {
		f.do("GET", "/x")
	}
	close(release)
	f.cache.Close()
	if calls.Load() != 2 {
		t.Fatalf("origin called %d times, want 2", calls.Load())
	}
}

func TestStaleWhileRevalidate_BackgroundPanicIsContained(t *testing.T) {
	f := newFixture(t, nil)
	f.orig.fn = func(w http.ResponseWriter, r *http.Request) {
		if f.orig.n() > 1 {
			panic("boom")
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30")
		fmt.Fprint(w, "b")
	}
	f.do("GET", "/x")
	f.clock.Advance(15 * time.Second)
	if w := f.do("GET", "/x"); w.Body.String() != "b" {
		t.Fatalf("got %q", w.Body)
	}
	f.cache.Close()
}

// RFC 5861 §4: stale-if-error serves the stale response when the handler fails.
func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name    string
		cc      string
		reqHdr  []string
		advance time.Duration
		stale   bool
	}{
		{"RFC5861_4_response_stale-if-error", "max-age=10, stale-if-error=60", nil, 30 * time.Second, true},
		{"RFC5861_4_window_exceeded", "max-age=10, stale-if-error=60", nil, 100 * time.Second, false},
		{"RFC5861_4_request_stale-if-error", "max-age=10", []string{"Cache-Control", "stale-if-error=60"}, 30 * time.Second, true},
		{"RFC9111_4.2.4_must-revalidate_prohibits", "max-age=10, stale-if-error=60, must-revalidate", nil, 30 * time.Second, false},
		{"RFC5861_4_without_directive", "max-age=10", nil, 30 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, "good", "Cache-Control", tc.cc, "ETag", `"g"`))
			f.do("GET", "/x")
			f.clock.Advance(tc.advance)
			f.orig.fn = respond(503, "down", "Retry-After", "5")
			w := f.do("GET", "/x", tc.reqHdr...)
			if tc.stale {
				if w.Code != 200 || w.Body.String() != "good" || w.Header().Get("Retry-After") != "" {
					t.Fatalf("got %d %q %v", w.Code, w.Body, w.Header())
				}
				if got := w.Header().Get("Cache-Status"); got != fmt.Sprintf("Larder; fwd=stale; fwd-status=503; ttl=%d; detail=stale-if-error", 10-int(tc.advance/time.Second)) {
					t.Fatalf("Cache-Status %q", got)
				}
				return
			}
			if w.Code != 503 || w.Body.String() != "down" {
				t.Fatalf("got %d %q, want the error", w.Code, w.Body)
			}
		})
	}
}

// RFC 9111 §4.2.4: a disconnected cache may serve a stale response, unless a
// directive forbids it.
func TestStaleWhenOriginUnreachable(t *testing.T) {
	tests := []struct {
		name  string
		cc    string
		stale bool
	}{
		{"RFC9111_4.2.4_disconnected_serves_stale", "max-age=10", true},
		{"RFC9111_4.2.4_must-revalidate_forbids", "max-age=10, must-revalidate", false},
		{"RFC9111_5.2.2.8_proxy-revalidate_forbids_in_shared_cache", "max-age=10, proxy-revalidate", false},
		{"RFC9111_5.2.2.4_no-cache_forbids", "max-age=10, no-cache", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, "good", "Cache-Control", tc.cc))
			f.do("GET", "/x")
			f.clock.Advance(time.Minute)
			f.orig.fn = func(w http.ResponseWriter, r *http.Request) {
				larder.OriginUnreachable(w)
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "bad gateway")
			}
			w := f.do("GET", "/x")
			if !tc.stale {
				if w.Code != http.StatusBadGateway {
					t.Fatalf("got %d %q, want the 502", w.Code, w.Body)
				}
				return
			}
			if w.Code != 200 || w.Body.String() != "good" ||
				w.Header().Get("Cache-Status") != "Larder; fwd=stale; fwd-status=502; ttl=-50; detail=origin-unreachable" {
				t.Fatalf("got %d %q %q", w.Code, w.Body, w.Header().Get("Cache-Status"))
			}
		})
	}
}

func TestOriginUnreachableWithoutCacheIsHarmless(t *testing.T) {
	w := httptest.NewRecorder()
	larder.OriginUnreachable(w)
	larder.OriginUnreachable(nil)
	// A plain 5xx, not marked, is passed through even with a stale entry.
	f := newFixture(t, respond(200, "good", "Cache-Control", "max-age=10"))
	f.do("GET", "/x")
	f.clock.Advance(time.Minute)
	f.orig.fn = respond(503, "down")
	if w := f.do("GET", "/x"); w.Code != 503 {
		t.Fatalf("got %d", w.Code)
	}
}
