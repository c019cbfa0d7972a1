package main

import (
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
	"github.com/larder-cache/larder/store/storetest"
)

// The seed: GET /users/{user_id} with cache_expiry=10 answers "Bob Bobber",
// and for 10 seconds the handler is not called again.
func TestGetUserIsCachedForTenSeconds(t *testing.T) {
	clock := exampletest.NewClock()
	a := newApp(newMemoryCache(clock.Now), larder.WithClock(clock.Now))
	srv := exampletest.Serve(t, a)

	res := exampletest.Get(t, srv, "/users/1")
	if res.Status != 200 || res.Body != "Bob Bobber" {
		t.Fatalf("first GET: %d %q", res.Status, res.Body)
	}
	if got := res.Header.Get("Cache-Control"); got != "max-age=10" {
		t.Errorf("Cache-Control = %q, want max-age=10", got)
	}
	if got := res.Header.Get("Cache-Status"); got != "Larder; fwd=uri-miss; stored; ttl=10" {
		t.Errorf("first GET Cache-Status = %q", got)
	}
	wantCalls(t, a, 1)

	clock.Advance(9 * time.Second)
	res = exampletest.Get(t, srv, "/users/1")
	if res.Status != 200 || res.Body != "Bob Bobber" {
		t.Fatalf("second GET: %d %q", res.Status, res.Body)
	}
	if got := res.Header.Get("Age"); got != "9" {
		t.Errorf("Age = %q, want 9", got)
	}
	if got := res.Header.Get("Cache-Status"); got != "Larder; hit; ttl=1" {
		t.Errorf("second GET Cache-Status = %q, want a hit", got)
	}
	wantCalls(t, a, 1) // served from the cache

	// Another user is another URL, so another entry.
	if res := exampletest.Get(t, srv, "/users/2"); res.Body != "Bob Bobber" {
		t.Fatalf("GET /users/2: %q", res.Body)
	}
	wantCalls(t, a, 2)

	// After 10 seconds the entry is stale: the handler runs again.
	clock.Advance(2 * time.Second)
	res = exampletest.Get(t, srv, "/users/1")
	if res.Body != "Bob Bobber" || !strings.Contains(res.Header.Get("Cache-Status"), "fwd=stale") {
		t.Fatalf("after expiry: %q, Cache-Status %q", res.Body, res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 3)
}

// Only GET /users/{user_id} is routed, and only it is cached.
func TestOtherRoutesAreNotFound(t *testing.T) {
	a := newApp(newMemoryCache(nil))
	srv := exampletest.Serve(t, a)
	if res := exampletest.Get(t, srv, "/users"); res.Status != 404 {
		t.Fatalf("GET /users: %d", res.Status)
	}
	wantCalls(t, a, 0)
}

// The custom store is a correct larder.Store: the conformance suite that
// every store should pass, with the fake clock for the expiry checks.
func TestMemoryCacheConformance(t *testing.T) {
	var clock *exampletest.Clock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = exampletest.NewClock()
		return newMemoryCache(clock.Now)
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

func wantCalls(t *testing.T, a *app, want int64) {
	t.Helper()
	if got := a.calls.Load(); got != want {
		t.Fatalf("handler called %d times, want %d", got, want)
	}
}
