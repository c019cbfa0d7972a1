package larder_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// RFC 9111 §4.2 and §5.2.1: freshness of stored responses and request directives.
func TestFreshness(t *testing.T) {
	date := httpDate(newClock().Now())
	tests := []struct {
		name    string
		opts    []larder.Option
		respHdr []string
		advance time.Duration
		reqHdr  []string
		hit     bool
	}{
		{"RFC9111_4.2.1_max-age_fresh", nil, []string{"Cache-Control", "max-age=60"}, 59 * time.Second, nil, true},
		{"RFC9111_4.2.1_max-age_stale", nil, []string{"Cache-Control", "max-age=60"}, 61 * time.Second, nil, false},
		{"RFC9111_5.2.2.10_s-maxage_overrides_max-age_in_shared_cache", nil, []string{"Cache-Control", "max-age=1, s-maxage=60"}, 30 * time.Second, nil, true},
		{"RFC9111_5.2.2.10_s-maxage_ignored_by_private_cache", []larder.Option{larder.PrivateCache()}, []string{"Cache-Control", "max-age=1, s-maxage=60"}, 30 * time.Second, nil, false},
		{"RFC9111_5.3_Expires_minus_Date", nil, []string{"Date", date, "Expires", httpDate(newClock().Now().Add(time.Minute))}, 30 * time.Second, nil, true},
		{"RFC9111_5.3_invalid_Expires_is_stale", nil, []string{"Date", date, "Expires", "0", "ETag", `"a"`}, time.Second, nil, false},
		{"RFC9111_5.3_max-age_overrides_Expires", nil, []string{"Date", date, "Expires", "0", "Cache-Control", "max-age=60"}, 30 * time.Second, nil, true},
		{"RFC9111_4.2.3_Age_reduces_freshness", nil, []string{"Cache-Control", "max-age=60", "Age", "50"}, 15 * time.Second, nil, false},
		{"RFC9111_5.2.1.1_request_max-age", nil, []string{"Cache-Control", "max-age=60"}, 30 * time.Second, []string{"Cache-Control", "max-age=10"}, false},
		{"RFC9111_5.2.1.1_request_max-age_satisfied", nil, []string{"Cache-Control", "max-age=60"}, 5 * time.Second, []string{"Cache-Control", "max-age=10"}, true},
		{"RFC9111_5.2.1.2_max-stale_allows_stale", nil, []string{"Cache-Control", "max-age=10", "ETag", `"a"`}, 20 * time.Second, []string{"Cache-Control", "max-stale=30"}, true},
		{"RFC9111_5.2.1.2_max-stale_exceeded", nil, []string{"Cache-Control", "max-age=10", "ETag", `"a"`}, 50 * time.Second, []string{"Cache-Control", "max-stale=30"}, false},
		{"RFC9111_5.2.2.2_must-revalidate_beats_max-stale", nil, []string{"Cache-Control", "max-age=10, must-revalidate", "ETag", `"a"`}, 20 * time.Second, []string{"Cache-Control", "max-stale"}, false},
		{"RFC9111_5.2.1.3_min-fresh", nil, []string{"Cache-Control", "max-age=60"}, 30 * time.Second, []string{"Cache-Control", "min-fresh=40"}, false},
		{"RFC9111_5.2.1.4_request_no-cache", nil, []string{"Cache-Control", "max-age=60"}, 0, []string{"Cache-Control", "no-cache"}, false},
		{"RFC9111_5.4_Pragma_no-cache_without_Cache-Control", nil, []string{"Cache-Control", "max-age=60"}, 0, []string{"Pragma", "no-cache"}, false},
		{"RFC9111_5.4_Pragma_ignored_with_Cache-Control", nil, []string{"Cache-Control", "max-age=60"}, 0, []string{"Pragma", "no-cache", "Cache-Control", "max-age=100"}, true},
		{"RFC9111_5.2.2.4_response_no-cache_always_validates", nil, []string{"Cache-Control", "max-age=60, no-cache", "ETag", `"a"`}, 0, nil, false},
		{"RFC9111_4.2.2_heuristic_freshness", nil, []string{"Date", date, "Last-Modified", httpDate(newClock().Now().Add(-100 * time.Hour))}, 5 * time.Hour, nil, true},
		{"RFC9111_4.2.2_heuristic_freshness_expires", nil, []string{"Date", date, "Last-Modified", httpDate(newClock().Now().Add(-100 * time.Hour))}, 11 * time.Hour, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, "body", tc.respHdr...), tc.opts...)
			f.do("GET", "/x")
			f.clock.Advance(tc.advance)
			w := f.do("GET", "/x", tc.reqHdr...)
			want := int64(2)
			if tc.hit {
				want = 1
			}
			if f.orig.n() != want {
				t.Fatalf("origin calls %d, want %d; Cache-Status %q", f.orig.n(), want, w.Header().Get("Cache-Status"))
			}
		})
	}
}

func TestFreshness_OnlyIfCached(t *testing.T) {
	f := newFixture(t, respond(200, "b", "Cache-Control", "max-age=60"))
	w := f.do("GET", "/x", "Cache-Control", "only-if-cached")
	if w.Code != http.StatusGatewayTimeout {
		t.Fatalf("RFC9111_5.2.1.7 miss: %d, want 504", w.Code)
	}
	expectCalls(t, f.orig, 0)
	f.do("GET", "/x")
	if w = f.do("GET", "/x", "Cache-Control", "only-if-cached"); w.Code != 200 {
		t.Fatalf("hit: %d", w.Code)
	}
	f.clock.Advance(2 * time.Minute)
	if w = f.do("GET", "/x", "Cache-Control", "only-if-cached"); w.Code != http.StatusGatewayTimeout {
		t.Fatalf("stale: %d, want 504", w.Code)
	}
	expectCalls(t, f.orig, 1)
}

func TestAge_RFC9111_5_1(t *testing.T) {
	f := newFixture(t, respond(200, "b", "Cache-Control", "max-age=600", "Age", "100"))
	f.do("GET", "/x")
	f.clock.Advance(42 * time.Second)
	if got := f.do("GET", "/x").Header().Get("Age"); got != "142" {
		t.Fatalf("Age = %q, want 142", got)
	}
	f.clock.Advance(2000 * time.Second)
	f.do("GET", "/x", "Cache-Control", "max-stale")
	w := f.do("GET", "/x", "Cache-Control", "max-stale")
	if got := w.Header().Get("Age"); got == "" {
		t.Fatal("no Age on a hit")
	}
}

func TestCacheStatus_RFC9211(t *testing.T) {
	f := newFixture(t, validating(`"v"`, "b", "Cache-Control", "max-age=60", "Cache-Status", "Origin; hit"))
	tests := []struct {
		advance time.Duration
		hdr     []string
		want    string
	}{
		{0, nil, "Origin; hit, Larder; fwd=uri-miss; stored; ttl=60"},
		{10 * time.Second, nil, "Larder; hit; ttl=50"},
		{0, []string{"Cache-Control", "no-cache"}, "Larder; fwd=request; fwd-status=304; stored; ttl=60"},
		{70 * time.Second, nil, "Larder; fwd=stale; fwd-status=304; stored; ttl=60"},
	}
	for i, tc := range tests {
		f.clock.Advance(tc.advance)
		w := f.do("GET", "/x", tc.hdr...)
		got := strings.Join(w.Header().Values("Cache-Status"), ", ")
		if got != tc.want {
			t.Errorf("step %d: Cache-Status %q, want %q", i, got, tc.want)
		}
	}
}
