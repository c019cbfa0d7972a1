package main

import (
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
	"github.com/larder-cache/larder/store/memory"
)

func newTestApp(t *testing.T) (*app, *exampletest.Clock, *memory.Store) {
	t.Helper()
	clock := exampletest.NewClock()
	store, err := memory.New(memory.Options{MaxBytes: 1 << 20, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return newApp(store, larder.WithClock(clock.Now)), clock, store
}

// The seed's route: Cache-Control: private, max-age=10, and a shared cache
// does not keep it, so every request reaches the handler.
func TestPrivateRouteIsNotStoredInTheSharedCache(t *testing.T) {
	a, _, store := newTestApp(t)
	srv := exampletest.Serve(t, a)

	for i := range 3 {
		res := exampletest.Get(t, srv, "/users/1", "Authorization", "Bearer alice")
		if res.Status != 200 || res.Body != "Bob Bobber" {
			t.Fatalf("GET %d: %d %q", i, res.Status, res.Body)
		}
		if got := res.Header.Get("Cache-Control"); got != "private, max-age=10" {
			t.Errorf("Cache-Control = %q, want private, max-age=10", got)
		}
		if got := res.Header.Get("Cache-Status"); got != "Larder; fwd=uri-miss" {
			t.Errorf("Cache-Status = %q, want a miss, not stored", got)
		}
		if res.Header.Get("Age") != "" {
			t.Errorf("Age %q on a response not from the cache", res.Header.Get("Age"))
		}
	}
	wantCalls(t, a, 3)
	if n := store.Stats().Entries; n != 0 {
		t.Errorf("store holds %d entries, want none", n)
	}
}

// The per-user variant: each user's page is stored for that user, and never
// served to another user or to an anonymous request.
func TestPerUserPrivatePages(t *testing.T) {
	a, clock, _ := newTestApp(t)
	srv := exampletest.Serve(t, a)

	steps := []struct {
		user, want, status string // status: "miss" or "hit"
		calls              int64
	}{
		{"alice", "private page of alice", "miss", 1},
		{"bob", "private page of bob", "miss", 2},
		{"alice", "private page of alice", "hit", 2},
		{"bob", "private page of bob", "hit", 2},
		{"carol", "private page of carol", "miss", 3},
	}
	for _, s := range steps {
		clock.Advance(time.Second)
		res := exampletest.Get(t, srv, "/me", "Authorization", "Bearer "+s.user)
		if res.Status != 200 || res.Body != s.want {
			t.Fatalf("%s: %d %q, want %q", s.user, res.Status, res.Body, s.want)
		}
		if got := res.Header.Get("Cache-Control"); got != "private, max-age=10" {
			t.Errorf("%s: Cache-Control = %q", s.user, got)
		}
		cs := res.Header.Get("Cache-Status")
		if s.status == "hit" && !strings.Contains(cs, "; hit") ||
			s.status == "miss" && !strings.Contains(cs, "-miss; stored") {
			t.Errorf("%s: Cache-Status %q, want a %s", s.user, cs, s.status)
		}
		wantCalls(t, a, s.calls)
	}

	// Anonymous requests are never given a user's page, and their 401 is
	// not stored.
	for range 2 {
		res := exampletest.Get(t, srv, "/me")
		if res.Status != 401 || strings.Contains(res.Body, "private page") {
			t.Fatalf("anonymous: %d %q", res.Status, res.Body)
		}
	}
	wantCalls(t, a, 5)
}

// A PATCH /me invalidates /me: the pages of every user, since the cache
// cannot know which users' copies the change affects.
func TestPatchInvalidatesTheUsersPage(t *testing.T) {
	a, _, _ := newTestApp(t)
	srv := exampletest.Serve(t, a)

	exampletest.Get(t, srv, "/me", "Authorization", "Bearer alice")
	exampletest.Get(t, srv, "/me", "Authorization", "Bearer bob")
	wantCalls(t, a, 2)

	res := exampletest.Do(t, srv, "PATCH", "/me", "away", "Authorization", "Bearer alice")
	if res.Status != 204 {
		t.Fatalf("PATCH: %d %q", res.Status, res.Body)
	}
	res = exampletest.Get(t, srv, "/me", "Authorization", "Bearer alice")
	if res.Body != "private page of alice (away)" {
		t.Fatalf("alice after PATCH: %q", res.Body)
	}
	wantCalls(t, a, 3)
	res = exampletest.Get(t, srv, "/me", "Authorization", "Bearer bob")
	if res.Body != "private page of bob" || strings.Contains(res.Header.Get("Cache-Status"), "; hit") {
		t.Fatalf("bob after alice's PATCH: %q, Cache-Status %q", res.Body, res.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 4)
}

// cache_control="public": stored once, served to everyone.
func TestPublicRouteIsShared(t *testing.T) {
	a, _, _ := newTestApp(t)
	srv := exampletest.Serve(t, a)

	first := exampletest.Get(t, srv, "/users")
	if got := first.Header.Get("Cache-Control"); got != "public, max-age=10" {
		t.Errorf("Cache-Control = %q, want public, max-age=10", got)
	}
	second := exampletest.Get(t, srv, "/users", "Authorization", "Bearer bob")
	if second.Body != first.Body || !strings.Contains(second.Header.Get("Cache-Status"), "; hit") {
		t.Errorf("second GET: %q, Cache-Status %q", second.Body, second.Header.Get("Cache-Status"))
	}
	wantCalls(t, a, 1)
}

func wantCalls(t *testing.T, a *app, want int64) {
	t.Helper()
	if got := a.calls.Load(); got != want {
		t.Fatalf("handler called %d times, want %d", got, want)
	}
}
