package larder_test

import (
	"net/http"
	"testing"

	"github.com/larder-cache/larder"
)

// RFC 9111 §3: which responses a shared (default) and a private cache store.
func TestStoring(t *testing.T) {
	tests := []struct {
		name    string
		opts    []larder.Option
		reqHdr  []string
		status  int
		respHdr []string
		stored  bool
	}{
		{"RFC9111_3_max-age_is_stored", nil, nil, 200, []string{"Cache-Control", "max-age=60"}, true},
		{"RFC9111_5.2.2.5_no-store_is_not_stored", nil, nil, 200, []string{"Cache-Control", "max-age=60, no-store"}, false},
		{"RFC9111_5.2.1.5_request_no-store_is_not_stored", nil, []string{"Cache-Control", "no-store"}, 200, []string{"Cache-Control", "max-age=60"}, false},
		{"RFC9111_5.2.2.7_private_not_stored_by_shared_cache", nil, nil, 200, []string{"Cache-Control", "private, max-age=60"}, false},
		{"RFC9111_5.2.2.7_private_stored_by_private_cache", []larder.Option{larder.PrivateCache()}, nil, 200, []string{"Cache-Control", "private, max-age=60"}, true},
		{"RFC9111_5.2.2.7_qualified_private_is_stored_without_the_field", nil, nil, 200, []string{"Cache-Control", `private="X-User", max-age=60`, "X-User", "alice"}, true},
		{"RFC9111_3.5_authorization_not_stored_by_shared_cache", nil, []string{"Authorization", "Bearer x"}, 200, []string{"Cache-Control", "max-age=60"}, false},
		{"RFC9111_3.5_authorization_with_public_is_stored", nil, []string{"Authorization", "Bearer x"}, 200, []string{"Cache-Control", "public, max-age=60"}, true},
		{"RFC9111_3.5_authorization_with_s-maxage_is_stored", nil, []string{"Authorization", "Bearer x"}, 200, []string{"Cache-Control", "s-maxage=60"}, true},
		{"RFC9111_3.5_authorization_with_must-revalidate_is_stored", nil, []string{"Authorization", "Bearer x"}, 200, []string{"Cache-Control", "max-age=60, must-revalidate"}, true},
		{"RFC9111_3.5_authorization_stored_by_private_cache", []larder.Option{larder.PrivateCache()}, []string{"Authorization", "Bearer x"}, 200, []string{"Cache-Control", "max-age=60"}, true},
		{"RFC9111_4.1_vary_star_is_never_stored", nil, nil, 200, []string{"Cache-Control", "max-age=60", "Vary", "*"}, false},
		{"RFC9110_15.1_404_heuristically_cacheable_with_max-age", nil, nil, 404, []string{"Cache-Control", "max-age=60"}, true},
		{"RFC9110_15.1_500_with_max-age_is_stored", nil, nil, 500, []string{"Cache-Control", "max-age=60"}, true},
		{"RFC9111_3_no_explicit_freshness_no_validator_not_stored", nil, nil, 200, nil, false},
		{"RFC9111_4.2.2_heuristic_with_Last-Modified_is_stored", nil, nil, 200, []string{"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT", "Date", "Sat, 28 Nov 2026 12:00:00 GMT"}, true},
		{"RFC9111_3_206_is_not_stored", nil, nil, 206, []string{"Cache-Control", "max-age=60", "Content-Range", "bytes 0-0/10"}, false},
		{"RFC9111_5.2.2.3_must-understand_known_status_overrides_no-store", nil, nil, 200, []string{"Cache-Control", "max-age=60, must-understand, no-store"}, true},
		{"RFC9111_5.2.2.3_must-understand_unknown_status_not_stored", nil, nil, 299, []string{"Cache-Control", "max-age=60, must-understand"}, false},
		{"Shared_cache_does_not_store_Set-Cookie", nil, nil, 200, []string{"Cache-Control", "max-age=60", "Set-Cookie", "sid=1"}, false},
		{"Shared_cache_stores_Set-Cookie_when_allowed", []larder.Option{larder.WithSetCookieStorage()}, nil, 200, []string{"Cache-Control", "max-age=60", "Set-Cookie", "sid=1"}, true},
		{"RFC9213_CDN-Cache-Control_overrides_Cache-Control", nil, nil, 200, []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"}, true},
		{"RFC9213_CDN-Cache-Control_no-store", nil, nil, 200, []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store"}, false},
		{"RFC9213_private_cache_ignores_CDN-Cache-Control", []larder.Option{larder.PrivateCache()}, nil, 200, []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(tc.status, "body", tc.respHdr...), tc.opts...)
			f.do("GET", "/x", tc.reqHdr...)
			w := f.do("GET", "/x", tc.reqHdr...)
			want := int64(2)
			if tc.stored {
				want = 1
			}
			if f.orig.n() != want {
				t.Fatalf("origin calls %d, want %d (Cache-Status %q)", f.orig.n(), want, w.Header().Get("Cache-Status"))
			}
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
		})
	}
}

func TestStoring_QualifiedPrivateFieldIsNotStored(t *testing.T) {
	f := newFixture(t, respond(200, "b", "Cache-Control", `private="X-User", max-age=60`, "X-User", "alice"))
	if w := f.do("GET", "/x"); w.Header().Get("X-User") != "alice" {
		t.Fatal("miss must pass the field through")
	}
	if w := f.do("GET", "/x"); w.Header().Get("X-User") != "" {
		t.Fatalf("hit served the private field: %q", w.Header().Get("X-User"))
	}
}

func TestStoring_HopByHopFieldsAreNotStored(t *testing.T) {
	f := newFixture(t, respond(200, "b", "Cache-Control", "max-age=60", "Connection", "X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5", "X-End", "2"))
	f.do("GET", "/x")
	w := f.do("GET", "/x")
	for _, k := range []string{"X-Hop", "Keep-Alive", "Connection"} {
		if w.Header().Get(k) != "" {
			t.Errorf("hit carries hop-by-hop %s", k)
		}
	}
	if w.Header().Get("X-End") != "2" {
		t.Error("end-to-end field lost")
	}
}

func TestStoring_OnlyGETIsStored(t *testing.T) {
	f := newFixture(t, respond(200, "b", "Cache-Control", "max-age=60"))
	f.do("POST", "/x")
	f.do("GET", "/x")
	f.do("HEAD", "/x")
	expectCalls(t, f.orig, 2)
	w := f.do("HEAD", "/x")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "1" {
		t.Fatalf("HEAD from stored GET: %d %q CL=%q", w.Code, w.Body, w.Header().Get("Content-Length"))
	}
	expectCalls(t, f.orig, 2)
}

func TestStoring_RequestWithUpgradeBypasses(t *testing.T) {
	f := newFixture(t, respond(200, "b", "Cache-Control", "max-age=60"))
	f.do("GET", "/ws", "Upgrade", "websocket", "Connection", "Upgrade")
	f.do("GET", "/ws", "Upgrade", "websocket", "Connection", "Upgrade")
	expectCalls(t, f.orig, 2)
	if f.store.len() != 0 {
		t.Fatal("stored an upgrade")
	}
	_ = http.StatusOK
}
