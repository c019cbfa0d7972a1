package main

import (
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
	"github.com/larder-cache/larder/store/memory"
)

func newTestApp(t *testing.T) (*app, *exampletest.Clock) {
	t.Helper()
	clock := exampletest.NewClock()
	store, err := memory.New(memory.Options{MaxBytes: 1 << 20, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return newApp(store, larder.WithClock(clock.Now)), clock
}

// The seed: a response with an ETag, then If-None-Match with that ETag gets a
// 304 with no body, answered from the cache.
func TestIfNoneMatchGets304FromTheCache(t *testing.T) {
	a, clock := newTestApp(t)
	srv := exampletest.Serve(t, a)

	res := exampletest.Get(t, srv, "/users/1")
	if res.Status != 200 || res.Body != "Bob Bobber" || res.Header.Get("ETag") != `"etag-1"` {
		t.Fatalf("first GET: %d %q ETag %q", res.Status, res.Body, res.Header.Get("ETag"))
	}
	if got := res.Header.Get("Cache-Control"); got != "max-age=10" {
		t.Errorf("Cache-Control = %q, want max-age=10", got)
	}

	clock.Advance(3 * time.Second)
	res = exampletest.Get(t, srv, "/users/1", "If-None-Match", `"etag-1"`)
	if res.Status != 304 || res.Body != "" {
		t.Fatalf("If-None-Match: %d %q, want 304 without body", res.Status, res.Body)
	}
	if res.Header.Get("ETag") != `"etag-1"` || res.Header.Get("Age") != "3" {
		t.Errorf("304 ETag %q Age %q", res.Header.Get("ETag"), res.Header.Get("Age"))
	}
	if got := res.Header.Get("Cache-Status"); got != "Larder; hit; ttl=7" {
		t.Errorf("304 Cache-Status = %q, want a hit", got)
	}
	wantCalls(t, a, 1)

	// A list holding the tag, and the weak form (If-None-Match compares weakly).
	for _, inm := range []string{`"other", "etag-1"`, `W/"etag-1"`, `*`} {
		if res := exampletest.Get(t, srv, "/users/1", "If-None-Match", inm); res.Status != 304 {
			t.Errorf("If-None-Match: %s got %d, want 304", inm, res.Status)
		}
	}
	// Another tag: the full stored response, still from the cache.
	res = exampletest.Get(t, srv, "/users/1", "If-None-Match", `"etag-0"`)
	if res.Status != 200 || res.Body != "Bob Bobber" {
		t.Errorf("If-None-Match with another tag: %d %q", res.Status, res.Body)
	}
	wantCalls(t, a, 1)
}

// On a miss the client's If-None-Match is the handler's to answer (RFC 9111
// §4.3.2: a cache holding nothing must not evaluate it). This handler does
// not, so the client gets the full response, which is stored for the next.
func TestIfNoneMatchOnAMiss(t *testing.T) {
	a, _ := newTestApp(t)
	srv := exampletest.Serve(t, a)

	res := exampletest.Get(t, srv, "/users/2", "If-None-Match", `"etag-1"`)
	if res.Status != 200 || res.Body != "Bob Bobber" {
		t.Fatalf("miss with If-None-Match: %d %q, want the handler's 200", res.Status, res.Body)
	}
	if !strings.Contains(res.Header.Get("Cache-Status"), "fwd=uri-miss") {
		t.Errorf("Cache-Status = %q, want a miss", res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 1)

	res = exampletest.Get(t, srv, "/users/2", "If-None-Match", `"etag-1"`)
	if res.Status != 304 || res.Body != "" {
		t.Fatalf("hit with If-None-Match: %d %q, want 304", res.Status, res.Body)
	}
	wantCalls(t, a, 1) // the full response was stored by the miss
}

// After cache_expiry the ETag is what the cache revalidates with: the
// stale entry is kept, and the handler's new response replaces it.
func TestExpiredEntryIsFetchedAgain(t *testing.T) {
	a, clock := newTestApp(t)
	srv := exampletest.Serve(t, a)

	exampletest.Get(t, srv, "/users/1")
	clock.Advance(11 * time.Second)
	res := exampletest.Get(t, srv, "/users/1", "If-None-Match", `"etag-1"`)
	if res.Status != 304 {
		t.Fatalf("stale, If-None-Match: %d, want 304", res.Status)
	}
	if !strings.Contains(res.Header.Get("Cache-Status"), "fwd=stale") {
		t.Errorf("Cache-Status = %q, want fwd=stale", res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 2)
	if res := exampletest.Get(t, srv, "/users/1"); res.Header.Get("Cache-Status") != "Larder; hit; ttl=10" {
		t.Errorf("after refresh: Cache-Status %q, want a fresh hit", res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 2)
}

func wantCalls(t *testing.T, a *app, want int64) {
	t.Helper()
	if got := a.calls.Load(); got != want {
		t.Fatalf("handler called %d times, want %d", got, want)
	}
}
