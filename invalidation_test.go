package larder_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/larder-cache/larder"
)

// RFC 9111 §4.4: a non-error response to an unsafe method invalidates the
// target URI and same-origin Location / Content-Location, with all variants.
func TestInvalidation(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		status   int
		respHdr  []string
		gone     []string
		remained []string
	}{
		{"RFC9111_4.4_POST_invalidates_target", "POST", "/a", 200, nil, []string{"/a"}, []string{"/b"}},
		{"RFC9111_4.4_PUT_invalidates_target", "PUT", "/a", 204, nil, []string{"/a"}, nil},
		{"RFC9111_4.4_DELETE_invalidates_target", "DELETE", "/a", 200, nil, []string{"/a"}, nil},
		{"RFC9111_4.4_unknown_method_invalidates", "FROB", "/a", 200, nil, []string{"/a"}, nil},
		{"RFC9111_4.4_redirect_is_non-error", "POST", "/a", 303, []string{"Location", "/b"}, []string{"/a", "/b"}, nil},
		{"RFC9111_4.4_Location_same_origin", "POST", "/a", 201, []string{"Location", "/b"}, []string{"/a", "/b"}, nil},
		{"RFC9111_4.4_Content-Location_same_origin", "POST", "/a", 200, []string{"Content-Location", "http://example.com/b"}, []string{"/a", "/b"}, nil},
		{"RFC9111_4.4_Location_other_origin_not_invalidated", "POST", "/a", 201, []string{"Location", "http://other.example/b"}, []string{"/a"}, []string{"/b"}},
		{"RFC9111_4.4_error_status_does_not_invalidate", "POST", "/a", 500, nil, nil, []string{"/a"}},
		{"RFC9111_4.4_4xx_does_not_invalidate", "DELETE", "/a", 404, nil, nil, []string{"/a"}},
		{"RFC9111_4.4_safe_OPTIONS_does_not_invalidate", "OPTIONS", "/a", 200, nil, nil, []string{"/a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var get = respond(200, "stored", "Cache-Control", "max-age=60", "Vary", "Accept")
			var unsafe = respond(tc.status, "done", tc.respHdr...)
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					get(w, r)
					return
				}
				unsafe(w, r)
			})
			for _, p := range []string{"/a", "/b"} {
				f.do("GET", p, "Accept", "text/html")
				f.do("GET", p, "Accept", "text/plain")
			}
			f.do(tc.method, tc.target)
			base := f.orig.n()
			for _, p := range tc.gone {
				f.do("GET", p, "Accept", "text/plain")
			}
			if got := f.orig.n() - base; got != int64(len(tc.gone)) {
				t.Fatalf("%d of %v refetched, want all", got, tc.gone)
			}
			base = f.orig.n()
			for _, p := range tc.remained {
				f.do("GET", p, "Accept", "text/html")
			}
			expectCalls(t, f.orig, base)
		})
	}
}

func TestInvalidation_RouteInvalidatesMore(t *testing.T) {
	f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60")).route(
		larder.Invalidate(func(r *http.Request) []string { return []string{"/users", "/users/1/friends"} }))
	for _, p := range []string{"/users", "/users/1/friends", "/other"} {
		f.do("GET", p)
	}
	f.do("PATCH", "/users/1")
	for _, p := range []string{"/users", "/users/1/friends", "/other"} {
		f.do("GET", p)
	}
	expectCalls(t, f.orig, 3+1+2)
}

func TestInvalidation_NoInvalidationOption(t *testing.T) {
	f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60")).route(larder.NoInvalidation())
	f.do("GET", "/a")
	f.do("POST", "/a")
	f.do("GET", "/a")
	expectCalls(t, f.orig, 2)
}

func TestPurge(t *testing.T) {
	f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60", "Vary", "Accept"))
	f.do("GET", "/a?q=1", "Accept", "a")
	f.do("GET", "/a?q=1", "Accept", "b")
	if err := f.cache.Purge(context.Background(), "https://EXAMPLE.com:80/a?q=1"); err != nil {
		t.Fatal(err)
	}
	f.do("GET", "/a?q=1", "Accept", "a")
	expectCalls(t, f.orig, 3)
	if err := f.cache.Purge(context.Background(), "/relative"); err == nil {
		t.Fatal("relative URL accepted")
	}
}

func TestInvalidationCacheStatus(t *testing.T) {
	f := newFixture(t, respond(200, "x"))
	if got := f.do("POST", "/a").Header().Get("Cache-Status"); got != "Larder; fwd=method" {
		t.Fatalf("Cache-Status %q", got)
	}
}

// Keys and invalidation targets share one normal form (RFC 3986 §6.2), so an
// unsafe request to a differently spelled URI still invalidates.
func TestInvalidation_NormalisedURIs(t *testing.T) {
	tests := []struct{ stored, unsafe string }{
		{"/a%7Eb", "/a~b"},
		{"/a/./b", "/a/b"},
		{"/a/b/../c", "/a/c"},
		{"/x?q=%7e", "/x?q=~"},
		{"/p%2fq", "/p%2Fq"},
	}
	for _, tc := range tests {
		t.Run(tc.stored, func(t *testing.T) {
			f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60"))
			f.do("GET", tc.stored)
			f.do("POST", tc.unsafe)
			f.do("GET", tc.stored)
			expectCalls(t, f.orig, 3)
		})
	}
}

// Invalidating a URL drops every user's copy on per-user routes, whichever
// route (per user or not) handled the unsafe request.
func TestInvalidation_PerUserCopies(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		_, _ = w.Write([]byte("page of " + r.Header.Get("Authorization")))
	})
	getRoute := f.cache.Route(larder.PerUser(larder.UserHeader("Authorization")))(f.orig)
	plain := f.cache.Middleware(f.orig)
	get := func(user string) string {
		f.h = getRoute
		return f.do("GET", "/me", "Authorization", user).Body.String()
	}
	get("alice")
	get("bob")
	f.h = plain
	f.do("PATCH", "/me")
	get("alice")
	get("bob")
	expectCalls(t, f.orig, 5)
	if got := get("bob"); got != "page of bob" {
		t.Fatalf("got %q", got)
	}
	expectCalls(t, f.orig, 5)
}

// On a per-user route an anonymous request never gets a response stored for
// a user, nor a user one stored for anonymous requests.
func TestPerUser_AnonymousIsItsOwnVariant(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write([]byte("page of " + r.Header.Get("Authorization")))
	}).route(larder.PerUser(larder.UserHeader("Authorization")))
	for _, u := range []string{"", "alice", "", "alice"} {
		if got := f.do("GET", "/me", "Authorization", u).Body.String(); got != "page of "+u {
			t.Fatalf("user %q got %q", u, got)
		}
	}
	expectCalls(t, f.orig, 2)
}
