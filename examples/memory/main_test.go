package main

import (
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
	"github.com/larder-cache/larder/store/memory"
)

func newTestApp(t *testing.T, maxBytes int64) (*app, *memory.Store, *exampletest.Clock) {
	t.Helper()
	clock := exampletest.NewClock()
	store, err := memory.New(memory.Options{MaxBytes: maxBytes, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return newApp(store, larder.WithClock(clock.Now)), store, clock
}

// The handler's own Cache-Control: max-age=10 decides: stored, served with
// Age for 10 seconds, then fetched again.
func TestHandlerCacheControlDecides(t *testing.T) {
	a, store, clock := newTestApp(t, 1<<20)
	srv := exampletest.Serve(t, a)

	res := exampletest.Get(t, srv, "/users/1")
	if res.Body != "Bob Bobber" || res.Header.Get("Cache-Status") != "Larder; fwd=uri-miss; stored; ttl=10" {
		t.Fatalf("first GET: %q, Cache-Status %q", res.Body, res.Header.Get("Cache-Status"))
	}
	if n := store.Stats().Entries; n != 1 {
		t.Errorf("store holds %d entries, want 1", n)
	}

	clock.Advance(4 * time.Second)
	res = exampletest.Get(t, srv, "/users/1")
	if res.Body != "Bob Bobber" || res.Header.Get("Age") != "4" || res.Header.Get("Cache-Status") != "Larder; hit; ttl=6" {
		t.Fatalf("second GET: %q, Age %q, Cache-Status %q", res.Body, res.Header.Get("Age"), res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 1)

	// Expired: the stale entry is kept for revalidation; without a validator
	// the handler runs and the new response replaces it.
	clock.Advance(7 * time.Second)
	res = exampletest.Get(t, srv, "/users/1")
	if got := res.Header.Get("Cache-Status"); got != "Larder; fwd=stale; stored; ttl=10" {
		t.Errorf("after expiry: Cache-Status %q, want fwd=stale", got)
	}
	wantCalls(t, a, 2)
}

// A no-store response is never stored; the debug page shows the store's
// contents as they are.
func TestNoStoreIsNeverStored(t *testing.T) {
	a, _, _ := newTestApp(t, 1<<20)
	srv := exampletest.Serve(t, a)

	if res := exampletest.Get(t, srv, "/debug/cache"); res.Body != "entries=0 bytes=0\n" {
		t.Fatalf("empty store: %q", res.Body)
	}
	exampletest.Get(t, srv, "/users/1")
	res := exampletest.Get(t, srv, "/debug/cache")
	if !strings.HasPrefix(res.Body, "entries=1 ") {
		t.Fatalf("after one GET: %q", res.Body)
	}
	if got := res.Header.Get("Cache-Status"); got != "Larder; fwd=uri-miss" {
		t.Errorf("no-store Cache-Status = %q, want a miss, not stored", got)
	}
	wantCalls(t, a, 3)
}

// A successful PATCH behind Middleware invalidates the user's URL; a 404 on
// another user does not.
func TestPatchInvalidates(t *testing.T) {
	a, _, _ := newTestApp(t, 1<<20)
	srv := exampletest.Serve(t, a)

	exampletest.Get(t, srv, "/users/1")
	if res := exampletest.Do(t, srv, "PATCH", "/users/7", "Nobody"); res.Status != 404 {
		t.Fatalf("PATCH /users/7: %d", res.Status)
	}
	if res := exampletest.Get(t, srv, "/users/1"); !strings.Contains(res.Header.Get("Cache-Status"), "; hit") {
		t.Fatalf("after a failed PATCH: Cache-Status %q, want a hit", res.Header.Get("Cache-Status"))
	}
	if res := exampletest.Do(t, srv, "PATCH", "/users/1", "Robert Bobber"); res.Status != 204 {
		t.Fatalf("PATCH /users/1: %d", res.Status)
	}
	res := exampletest.Get(t, srv, "/users/1")
	if res.Body != "Robert Bobber" {
		t.Fatalf("GET after PATCH: %q", res.Body)
	}
	wantCalls(t, a, 2)
}

// The store is bounded: a response bigger than MaxBytes is served but not
// kept, so it can never evict everything else.
func TestStoreIsBounded(t *testing.T) {
	a, store, _ := newTestApp(t, 200) // smaller than any stored entry
	srv := exampletest.Serve(t, a)

	for range 2 {
		if res := exampletest.Get(t, srv, "/users/1"); res.Body != "Bob Bobber" {
			t.Fatalf("GET: %q", res.Body)
		}
	}
	wantCalls(t, a, 2)
	if st := store.Stats(); st.Entries != 0 || st.Bytes > 200 {
		t.Errorf("store %+v, want empty", st)
	}
}

func wantCalls(t *testing.T, a *app, want int64) {
	t.Helper()
	if got := a.calls.Load(); got != want {
		t.Fatalf("handlers called %d times, want %d", got, want)
	}
}
