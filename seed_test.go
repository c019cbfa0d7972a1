package larder_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// The chocs-cache seed's behaviours, through the middleware.

func TestSeed_CacheExpiry(t *testing.T) {
	f := newFixture(t, respond(200, "Bob Bobber")).route(larder.Expiry(10 * time.Second))
	w := f.do("GET", "/users/1")
	if w.Code != 200 || w.Body.String() != "Bob Bobber" {
		t.Fatalf("first: %d %q", w.Code, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "max-age=10" {
		t.Fatalf("Cache-Control = %q, want max-age=10", cc)
	}
	f.clock.Advance(9 * time.Second)
	w = f.do("GET", "/users/1")
	expectCalls(t, f.orig, 1)
	if w.Body.String() != "Bob Bobber" || w.Header().Get("Age") != "9" {
		t.Fatalf("hit: body %q Age %q", w.Body, w.Header().Get("Age"))
	}
	f.clock.Advance(2 * time.Second)
	f.do("GET", "/users/1")
	expectCalls(t, f.orig, 2)
}

func TestSeed_ExpiryDoesNotOverrideHandlerCacheControl(t *testing.T) {
	f := newFixture(t, respond(200, "x", "Cache-Control", "no-store")).route(larder.Expiry(10 * time.Second))
	f.do("GET", "/a")
	f.do("GET", "/a")
	expectCalls(t, f.orig, 2)
}

func TestSeed_ExpiryNotAppliedToServerErrors(t *testing.T) {
	f := newFixture(t, respond(500, "boom")).route(larder.Expiry(10 * time.Second))
	w := f.do("GET", "/a")
	f.do("GET", "/a")
	expectCalls(t, f.orig, 2)
	if w.Header().Get("Cache-Control") != "" {
		t.Fatalf("500 got Cache-Control %q", w.Header().Get("Cache-Control"))
	}
}

func TestSeed_ETag304(t *testing.T) {
	f := newFixture(t, respond(200, "Bob Bobber", "ETag", `"etag-1"`)).route(larder.Expiry(10 * time.Second))
	f.do("GET", "/users/1")
	w := f.do("GET", "/users/1", "If-None-Match", `"etag-1"`)
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("got %d %q, want 304 without body", w.Code, w.Body)
	}
	if w.Header().Get("ETag") != `"etag-1"` {
		t.Fatalf("304 lacks ETag: %v", w.Header())
	}
	expectCalls(t, f.orig, 1)
	// RFC 9111 §4.3.2: with nothing stored, the client's validator is for
	// the origin; the cache must not evaluate it.
	w = f.do("GET", "/users/2", "If-None-Match", `"etag-1"`)
	if r := f.orig.last.Load(); r.Header.Get("If-None-Match") != `"etag-1"` {
		t.Fatalf("client validator not forwarded on a miss: %q", r.Header.Get("If-None-Match"))
	}
	if w.Code != http.StatusOK {
		t.Fatalf("miss: the handler's 200 must pass through, got %d", w.Code)
	}
}

func TestSeed_VaryGlobalAndPerRoute(t *testing.T) {
	lang := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "hello in %s/%s", r.Header.Get("Accept-Language"), r.Header.Get("X-Custom-Header"))
	}
	t.Run("global", func(t *testing.T) {
		f := newFixture(t, lang, larder.WithVary("Accept-Language"))
		for _, l := range []string{"en", "pl", "en", "pl"} {
			w := f.do("GET", "/users/1", "Accept-Language", l)
			if !strings.HasPrefix(w.Body.String(), "hello in "+l) {
				t.Fatalf("lang %s got %q", l, w.Body)
			}
			if w.Header().Get("Vary") != "Accept-Language" {
				t.Fatalf("Vary = %q", w.Header().Get("Vary"))
			}
		}
		expectCalls(t, f.orig, 2)
	})
	t.Run("route overrides global", func(t *testing.T) {
		f := newFixture(t, lang, larder.WithVary("Accept-Language")).
			route(larder.Vary("Accept-Language", "X-Custom-Header"))
		f.do("GET", "/u", "Accept-Language", "en", "X-Custom-Header", "a")
		f.do("GET", "/u", "Accept-Language", "en", "X-Custom-Header", "b")
		w := f.do("GET", "/u", "Accept-Language", "en", "X-Custom-Header", "a")
		expectCalls(t, f.orig, 2)
		if w.Body.String() != "hello in en/a" {
			t.Fatalf("got %q", w.Body)
		}
	})
}

func TestSeed_CacheControlPublicPrivate(t *testing.T) {
	tests := []struct {
		name   string
		opts   []larder.RouteOption
		wantCC string
		calls  int64 // after two identical requests
	}{
		{"public", []larder.RouteOption{larder.Expiry(10 * time.Second), larder.Public()}, "public, max-age=10", 1},
		{"private in a shared cache is not stored", []larder.RouteOption{larder.Expiry(10 * time.Second), larder.Private()}, "private, max-age=10", 2},
		{"private per user is stored", []larder.RouteOption{larder.Expiry(10 * time.Second), larder.Private(), larder.PerUser(larder.UserHeader("Authorization"))}, "private, max-age=10", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, "Bob")).route(tc.opts...)
			w := f.do("GET", "/users/1", "Authorization", "Bearer alice")
			f.do("GET", "/users/1", "Authorization", "Bearer alice")
			if got := w.Header().Get("Cache-Control"); got != tc.wantCC {
				t.Fatalf("Cache-Control = %q, want %q", got, tc.wantCC)
			}
			expectCalls(t, f.orig, tc.calls)
		})
	}
}

func TestSeed_PrivatePerUserNeverServedToAnotherUser(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page of %s", r.Header.Get("Authorization"))
	}).route(larder.Expiry(time.Minute), larder.Private(), larder.PerUser(larder.UserHeader("Authorization")))
	for _, u := range []string{"alice", "bob", "alice", "bob", ""} {
		w := f.do("GET", "/me", "Authorization", u)
		if want := "page of " + u; w.Body.String() != want {
			t.Fatalf("user %q got %q", u, w.Body)
		}
	}
	expectCalls(t, f.orig, 3) // alice, bob, then the anonymous request is never stored
	if w := f.do("GET", "/me"); w.Body.String() != "page of " {
		t.Fatalf("anonymous got %q", w.Body)
	}
}

func TestSeed_RevalidationCollectsOnUnsafeSuccess(t *testing.T) {
	version := 1
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version))
			fmt.Fprintf(w, "user v%d", version)
		case http.MethodPatch:
			version++
			fmt.Fprint(w, "{user data}")
		}
	}).route(larder.Expiry(10 * time.Second))
	f.do("GET", "/users/1")
	f.do("PATCH", "/users/1")
	if len(f.store.deleted) == 0 || f.store.deleted[0] != "http://example.com/users/1" {
		t.Fatalf("collected %q", f.store.deleted)
	}
	if w := f.do("GET", "/users/1"); w.Body.String() != "user v2" {
		t.Fatalf("after PATCH got %q", w.Body)
	}
}

func TestSeed_FailedUnsafeRequestDoesNotCollect(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "v1")
	})
	f.do("GET", "/users/1")
	f.do("PATCH", "/users/1")
	f.do("GET", "/users/1")
	expectCalls(t, f.orig, 2)
}
