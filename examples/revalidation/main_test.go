package main

import (
	"log"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
)

func newTestApp(t *testing.T) (*app, *collectingStore, *exampletest.Clock) {
	t.Helper()
	clock := exampletest.NewClock()
	store := newCollectingStore(log.New(t.Output(), "", 0), clock.Now)
	return newApp(store, larder.WithClock(clock.Now)), store, clock
}

// The seed: a successful PATCH makes the store collect the user's cached
// response, and the next GET reaches the handler and gets the new data.
func TestPatchCollectsTheUser(t *testing.T) {
	a, store, _ := newTestApp(t)
	srv := exampletest.Serve(t, a)

	res := exampletest.Get(t, srv, "/users/1")
	if res.Body != "user 1: Bob Bobber" || res.Header.Get("ETag") != `"1.1"` {
		t.Fatalf("first GET: %q ETag %q", res.Body, res.Header.Get("ETag"))
	}
	exampletest.Get(t, srv, "/users")
	if res := exampletest.Get(t, srv, "/users/1"); !strings.Contains(res.Header.Get("Cache-Status"), "; hit") {
		t.Fatalf("second GET not a hit: %q", res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 2) // /users/1 and /users once each
	if got := store.Collected(); len(got) != 0 {
		t.Fatalf("collected %q before any PATCH", got)
	}

	res = exampletest.Do(t, srv, "PATCH", "/users/1", "Robert Bobber")
	if res.Status != 200 {
		t.Fatalf("PATCH: %d %q", res.Status, res.Body)
	}
	if got := res.Header.Get("Cache-Status"); got != "Larder; fwd=method" {
		t.Errorf("PATCH Cache-Status = %q", got)
	}
	collected := store.Collected()
	for _, want := range []string{srv.URL + "/users/1", srv.URL + "/users"} {
		if !slices.Contains(collected, want) {
			t.Errorf("store did not collect %s; collected %q", want, collected)
		}
	}

	// Both URLs reach their handlers again and show the new name.
	res = exampletest.Get(t, srv, "/users/1")
	if res.Body != "user 1: Robert Bobber" || res.Header.Get("ETag") != `"1.2"` {
		t.Errorf("GET after PATCH: %q ETag %q", res.Body, res.Header.Get("ETag"))
	}
	if res := exampletest.Get(t, srv, "/users"); !strings.Contains(res.Body, "1: Robert Bobber") {
		t.Errorf("list after PATCH: %q", res.Body)
	}
	wantCalls(t, a, 4)

	// Other users were left alone.
	if slices.Contains(collected, srv.URL+"/users/2") {
		t.Errorf("collected /users/2: %q", collected)
	}
}

// A failed unsafe request collects nothing: the cached response stays.
func TestFailedPatchCollectsNothing(t *testing.T) {
	a, store, _ := newTestApp(t)
	srv := exampletest.Serve(t, a)

	exampletest.Get(t, srv, "/users/1")
	if res := exampletest.Do(t, srv, "PATCH", "/users/1", ""); res.Status != 400 { // no name given
		t.Fatalf("PATCH without a name: %d", res.Status)
	}
	if res := exampletest.Do(t, srv, "PATCH", "/users/9", "Nobody"); res.Status != 404 {
		t.Fatalf("PATCH /users/9: %d", res.Status)
	}
	if got := store.Collected(); len(got) != 0 {
		t.Errorf("failed PATCHes collected %q", got)
	}
	if res := exampletest.Get(t, srv, "/users/1"); !strings.Contains(res.Header.Get("Cache-Status"), "; hit") {
		t.Errorf("GET after failed PATCH: Cache-Status %q, want a hit", res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 1)
}

// After cache_expiry the stale entry is revalidated with its ETag: the
// handler answers 304 and the cache serves the body it stored.
func TestStaleEntryIsRevalidatedWithItsETag(t *testing.T) {
	a, _, clock := newTestApp(t)
	srv := exampletest.Serve(t, a)

	exampletest.Get(t, srv, "/users/1")
	clock.Advance(11 * time.Second)
	res := exampletest.Get(t, srv, "/users/1")
	if res.Status != 200 || res.Body != "user 1: Bob Bobber" {
		t.Fatalf("stale GET: %d %q", res.Status, res.Body)
	}
	if got := res.Header.Get("Cache-Status"); !strings.Contains(got, "fwd=stale; fwd-status=304") {
		t.Errorf("Cache-Status = %q, want a revalidation answered with 304", got)
	}
	wantCalls(t, a, 2)
	// Revalidated: fresh again for another 10 seconds.
	res = exampletest.Get(t, srv, "/users/1")
	if got := res.Header.Get("Cache-Status"); !strings.Contains(got, "; hit") {
		t.Errorf("after revalidation: Cache-Status %q, want a hit", got)
	}
	wantCalls(t, a, 2)
}

func wantCalls(t *testing.T, a *app, want int64) {
	t.Helper()
	if got := a.calls.Load(); got != want {
		t.Fatalf("GET handlers called %d times, want %d", got, want)
	}
}
