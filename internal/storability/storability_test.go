package storability

import (
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

const expires = "Thu, 01 Dec 2050 16:00:00 GMT"

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		reqH       http.Header
		status     int
		respH      http.Header
		shared     bool
		wantOK     bool
		wantReason string
	}{
		{"RFC9111_3_fresh_GET_200_stored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600"), true, true, ""},
		{"RFC9111_3_empty_method_is_GET", "", nil, 200, hdr("Cache-Control", "max-age=3600"), true, true, ""},
		{"RFC9111_3_HEAD_not_stored", "HEAD", nil, 200, hdr("Cache-Control", "max-age=3600"), true, false, ReasonMethod},
		{"RFC9111_3_POST_not_stored", "POST", nil, 200, hdr("Cache-Control", "max-age=3600"), true, false, ReasonMethod},
		{"RFC9110_9.1_method_is_case-sensitive", "get", nil, 200, hdr("Cache-Control", "max-age=3600"), true, false, ReasonMethod},
		{"RFC9111_3_1xx_is_not_final", "GET", nil, 103, hdr("Cache-Control", "max-age=3600"), true, false, ReasonStatus},
		{"RFC9111_3_invalid_status_not_stored", "GET", nil, 600, hdr("Cache-Control", "max-age=3600"), true, false, ReasonStatus},
		{"RFC9111_3_zero_status_not_stored", "GET", nil, 0, hdr("Cache-Control", "max-age=3600"), true, false, ReasonStatus},
		{"RFC9111_3_304_not_stored", "GET", nil, 304, hdr("Cache-Control", "max-age=3600"), true, false, ReasonStatus},
		{"RFC9111_3.3_206_not_stored", "GET", nil, 206, hdr("Cache-Control", "max-age=3600"), true, false, ReasonPartial},
		{"RFC9111_5.2.1.5_request_no-store_not_stored", "GET", hdr("Cache-Control", "no-store"), 200, hdr("Cache-Control", "max-age=3600"), true, false, ReasonRequestNoStore},
		{"RFC9111_5.2.2.5_no-store_not_stored", "GET", nil, 200, hdr("Cache-Control", "no-store"), true, false, ReasonNoStore},
		{"RFC9111_5.2.2.5_no-store_case-insensitive", "GET", nil, 200, hdr("Cache-Control", "No-StOrE"), false, false, ReasonNoStore},
		{"RFC9111_5.2.2.5_no-store_beats_max-age_and_Expires", "GET", nil, 200, hdr("Cache-Control", "max-age=10000, no-store", "Expires", expires), true, false, ReasonNoStore},
		{"RFC9111_5.2.2.3_must-understand_overrides_no-store_for_understood_status", "GET", nil, 200, hdr("Cache-Control", "must-understand, no-store, max-age=3600"), true, true, ""},
		{"RFC9111_5.2.2.3_must-understand_overrides_no-store_for_404", "GET", nil, 404, hdr("Cache-Control", "must-understand, no-store"), true, true, ""},
		{"RFC9111_5.2.2.3_must-understand_unknown_status_not_stored", "GET", nil, 299, hdr("Cache-Control", "must-understand, no-store, max-age=3600"), true, false, ReasonMustUnderstand},
		{"RFC9111_5.2.2.3_must-understand_unknown_status_not_stored_without_no-store", "GET", nil, 599, hdr("Cache-Control", "must-understand, public, max-age=3600"), true, false, ReasonMustUnderstand},
		{"RFC9111_5.2.2.3_must-understand_does_not_override_request_no-store", "GET", hdr("Cache-Control", "no-store"), 200, hdr("Cache-Control", "must-understand, no-store"), true, false, ReasonRequestNoStore},
		{"RFC9111_5.2.2.7_private_not_stored_by_shared_cache", "GET", nil, 200, hdr("Cache-Control", "private, max-age=3600"), true, false, ReasonPrivate},
		{"RFC9111_5.2.2.7_private_stored_by_private_cache", "GET", nil, 200, hdr("Cache-Control", "private, max-age=3600"), false, true, ""},
		{"RFC9111_5.2.2.7_private_alone_makes_storable_in_private_cache", "GET", nil, 201, hdr("Cache-Control", "private"), false, true, ""},
		{"RFC9111_5.2.2.7_qualified_private_stored_by_shared_cache", "GET", nil, 200, hdr("Cache-Control", `private="set-cookie", max-age=3600`), true, true, ""},
		{"RFC9111_3.5_Authorization_not_stored_by_shared_cache", "GET", hdr("Authorization", "FOO"), 200, hdr("Expires", expires, "Cache-Control", "max-age=3600"), true, false, ReasonAuthorization},
		{"RFC9111_3.5_empty_Authorization_is_present", "GET", hdr("Authorization", ""), 200, hdr("Cache-Control", "max-age=3600"), true, false, ReasonAuthorization},
		{"RFC9111_3.5_Authorization_with_public_stored", "GET", hdr("Authorization", "FOO"), 200, hdr("Cache-Control", "max-age=3600, public"), true, true, ""},
		{"RFC9111_3.5_Authorization_with_must-revalidate_stored", "GET", hdr("Authorization", "FOO"), 200, hdr("Cache-Control", "max-age=3600, must-revalidate"), true, true, ""},
		{"RFC9111_3.5_Authorization_with_s-maxage_stored", "GET", hdr("Authorization", "FOO"), 200, hdr("Cache-Control", "s-maxage=3600"), true, true, ""},
		{"RFC9111_3.5_Authorization_with_invalid_s-maxage_not_stored", "GET", hdr("Authorization", "FOO"), 200, hdr("Cache-Control", "s-maxage=x"), true, false, ReasonAuthorization},
		{"Cookie_heuristic_not_stored_by_shared_cache", "GET", hdr("Cookie", "sid=a"), 200, hdr("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"), true, false, ReasonCookie},
		{"Cookie_no_freshness_not_stored_by_shared_cache", "GET", hdr("Cookie", "sid=a"), 200, hdr(), true, false, ReasonCookie},
		{"Cookie_invalid_max-age_not_stored_by_shared_cache", "GET", hdr("Cookie", "sid=a"), 200, hdr("Cache-Control", "max-age=x"), true, false, ReasonCookie},
		{"Cookie_max-age_stored", "GET", hdr("Cookie", "sid=a"), 200, hdr("Cache-Control", "max-age=60"), true, true, ""},
		{"Cookie_s-maxage_stored", "GET", hdr("Cookie", "sid=a"), 200, hdr("Cache-Control", "s-maxage=60"), true, true, ""},
		{"Cookie_public_stored", "GET", hdr("Cookie", "sid=a"), 200, hdr("Cache-Control", "public"), true, true, ""},
		{"Cookie_Expires_stored", "GET", hdr("Cookie", "sid=a"), 200, hdr("Expires", expires), true, true, ""},
		{"Cookie_heuristic_stored_by_private_cache", "GET", hdr("Cookie", "sid=a"), 200, hdr(), false, true, ""},
		{"RFC9111_3.5_Authorization_stored_by_private_cache", "GET", hdr("Authorization", "FOO"), 200, hdr("Cache-Control", "max-age=3600"), false, true, ""},
		{"RFC9110_12.5.5_Vary_star_not_stored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600", "Vary", "*"), true, false, ReasonVaryStar},
		{"RFC9110_12.5.5_Vary_star_in_list_not_stored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600", "Vary", "Foo, *"), true, false, ReasonVaryStar},
		{"RFC9110_12.5.5_Vary_star_after_empty_element_not_stored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600", "Vary", ", *"), true, false, ReasonVaryStar},
		{"RFC9110_12.5.5_Vary_star_on_second_line_not_stored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600", "Vary", "", "Vary", " * "), true, false, ReasonVaryStar},
		{"RFC9111_4.1_Vary_field_names_stored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600", "Vary", "Accept, Foo*"), true, true, ""},
		{"RFC9111_3_no_freshness_not_stored", "GET", nil, 201, hdr(), true, false, ReasonNoFreshness},
		{"RFC9111_3_no_freshness_599_not_stored", "GET", nil, 599, hdr(), true, false, ReasonNoFreshness},
		{"RFC9111_3_public_makes_storable", "GET", nil, 599, hdr("Cache-Control", "public"), true, true, ""},
		{"RFC9111_3_Expires_makes_storable", "GET", nil, 302, hdr("Expires", expires), true, true, ""},
		{"RFC9111_5.3_invalid_Expires_makes_storable", "GET", nil, 302, hdr("Expires", "0"), true, true, ""},
		{"RFC9111_3_max-age_makes_storable", "GET", nil, 503, hdr("Cache-Control", "max-age=3600"), true, true, ""},
		{"RFC9111_3_invalid_max-age_makes_storable", "GET", nil, 503, hdr("Cache-Control", "max-age=abc"), true, true, ""},
		{"RFC9111_3_s-maxage_makes_storable_in_shared_cache", "GET", nil, 503, hdr("Cache-Control", "s-maxage=3600"), true, true, ""},
		{"RFC9111_3_s-maxage_ignored_by_private_cache", "GET", nil, 503, hdr("Cache-Control", "s-maxage=3600"), false, false, ReasonNoFreshness},
		{"RFC9111_3_heuristically_cacheable_status_storable", "GET", nil, 404, hdr(), true, true, ""},
		{"RFC9111_3_no-cache_storable", "GET", nil, 200, hdr("Cache-Control", "no-cache"), true, true, ""},
		{"RFC9111_3_extension_alone_not_storable", "GET", nil, 500, hdr("Cache-Control", "foo, stale-while-revalidate=60"), true, false, ReasonNoFreshness},
		{"RFC9111_5.4_response_Pragma_ignored", "GET", nil, 200, hdr("Cache-Control", "max-age=3600", "Pragma", "no-cache"), true, true, ""},
		{"RFC9111_3_nil_headers", "GET", nil, 200, nil, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Method: tt.method, Header: tt.reqH, CC: cachecontrol.ParseRequest(tt.reqH)}
			resp := Response{Status: tt.status, Header: tt.respH, CC: cachecontrol.Parse(tt.respH, "Cache-Control")}
			ok, reason := Decide(req, resp, tt.shared)
			if ok != tt.wantOK || reason != tt.wantReason {
				t.Errorf("Decide() = %v, %q; want %v, %q", ok, reason, tt.wantOK, tt.wantReason)
			}
		})
	}
}

func TestDecideStatusWithExplicitFreshness(t *testing.T) {
	// tests/status.mjs: an optimal cache stores any final status with
	// explicit freshness.
	for _, status := range []int{200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 503, 504, 599} {
		t.Run("RFC9111_3_explicit_freshness_status_"+strconv.Itoa(status), func(t *testing.T) {
			resp := Response{Status: status, Header: hdr("Cache-Control", "max-age=100000")}
			resp.CC = cachecontrol.Parse(resp.Header, "Cache-Control")
			if ok, reason := Decide(Request{Method: "GET"}, resp, true); !ok {
				t.Errorf("Decide(%d) = false, %q", status, reason)
			}
		})
	}
}

func TestDecideTargeted(t *testing.T) {
	targets := []string{"Cdn-Cache-Control"}
	tests := []struct {
		name       string
		respH      http.Header
		wantOK     bool
		wantReason string
	}{
		{"RFC9213_2.2_targeted_max-age_overrides_cache-control_no-store", hdr("Cache-Control", "no-store", "Cdn-Cache-Control", "max-age=10000"), true, ""},
		{"RFC9213_2.2_targeted_no-store_overrides_cache-control_max-age", hdr("Cache-Control", "max-age=10000", "Cdn-Cache-Control", "no-store", "Expires", expires), false, ReasonNoStore},
		{"RFC9213_2.2_targeted_private_not_stored_by_CDN", hdr("Cdn-Cache-Control", "private", "Cache-Control", "max-age=10000", "Expires", expires), false, ReasonPrivate},
		{"RFC9213_2.2_targeted_field_replaces_Expires", hdr("Cdn-Cache-Control", "none", "Expires", expires), false, ReasonNoFreshness},
		{"RFC9213_2.1_invalid_targeted_field_falls_back", hdr("Cdn-Cache-Control", "max-age=10000, &&&&&", "Cache-Control", "no-store"), false, ReasonNoStore},
		{"RFC9213_2.1_wrong_type_targeted_field_falls_back", hdr("Cdn-Cache-Control", `max-age="10000"`, "Cache-Control", "no-store"), false, ReasonNoStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, _ := cachecontrol.ParseTargeted(tt.respH, targets)
			ok, reason := Decide(Request{Method: "GET"}, Response{Status: 201, Header: tt.respH, CC: cc}, true)
			if ok != tt.wantOK || reason != tt.wantReason {
				t.Errorf("Decide() = %v, %q; want %v, %q", ok, reason, tt.wantOK, tt.wantReason)
			}
		})
	}
}

func TestStripFields(t *testing.T) {
	tests := []struct {
		name   string
		cc     string
		shared bool
		want   []string
	}{
		{"RFC9111_5.2.2.7_no_fields", "max-age=60", true, nil},
		{"RFC9111_5.2.2.7_qualified_private_stripped_by_shared_cache", `private="set-cookie, x-user"`, true, []string{"Set-Cookie", "X-User"}},
		{"RFC9111_5.2.2.7_qualified_private_kept_by_private_cache", `private="set-cookie"`, false, nil},
		{"RFC9111_5.2.2.7_unqualified_private_lists_nothing", "private", true, nil},
		{"RFC9111_5.2.2.4_qualified_no-cache_stripped_by_shared_cache", `no-cache="a, b"`, true, []string{"A", "B"}},
		{"RFC9111_5.2.2.4_qualified_no-cache_stripped_by_private_cache", `no-cache="a"`, false, []string{"A"}},
		{"RFC9111_5.2.2.4_unqualified_no-cache_lists_nothing", "no-cache", true, nil},
		{"RFC9111_3.1_private_and_no-cache_fields_merged_without_duplicates", `private="a, b", no-cache="b, c"`, true, []string{"A", "B", "C"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := cachecontrol.Parse(hdr("Cache-Control", tt.cc), "Cache-Control")
			got := StripFields(cc, tt.shared)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StripFields(%q, %v) = %q, want %q", tt.cc, tt.shared, got, tt.want)
			}
		})
	}
	t.Run("RFC9111_3.1_result_is_a_copy", func(t *testing.T) {
		cc := cachecontrol.Parse(hdr("Cache-Control", `no-cache="a"`), "Cache-Control")
		StripFields(cc, true)[0] = "Changed"
		if cc.NoCacheFields[0] != "A" {
			t.Errorf("StripFields aliased the directives' slice")
		}
	})
}

func TestHeuristicallyCacheable(t *testing.T) {
	cacheable := map[int]bool{200: true, 203: true, 204: true, 206: true, 300: true, 301: true, 308: true, 404: true, 405: true, 410: true, 414: true, 501: true}
	for status := 0; status < 1000; status++ {
		want := cacheable[status]
		if got := HeuristicallyCacheable(status); got != want {
			t.Errorf("RFC9110_15.1_HeuristicallyCacheable(%d) = %v, want %v", status, got, want)
		}
	}
	tests := []struct {
		name   string
		status int
		want   bool
	}{
		{"RFC9110_15.1_200", 200, true},
		{"RFC9110_15.1_421_no_longer_heuristically_cacheable", 421, false},
		{"RFC9110_15.1_302_not_heuristically_cacheable", 302, false},
		{"RFC9110_15.1_negative", -200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HeuristicallyCacheable(tt.status); got != tt.want {
				t.Errorf("HeuristicallyCacheable(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestUnderstood(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   bool
	}{
		{"RFC9111_5.2.2.3_200_understood", 200, true},
		{"RFC9111_5.2.2.3_204_understood", 204, true},
		{"RFC9111_3.3_206_not_understood_by_this_cache", 206, false},
		{"RFC9111_5.2.2.3_301_understood", 301, true},
		{"RFC9111_3_304_not_stored", 304, false},
		{"RFC9110_15.4.7_306_unused", 306, false},
		{"RFC9111_5.2.2.3_308_understood", 308, true},
		{"RFC9111_5.2.2.3_404_understood", 404, true},
		{"RFC9111_5.2.2.3_417_understood", 417, true},
		{"RFC9110_15.5.19_418_unused", 418, false},
		{"RFC9111_5.2.2.3_421_understood", 421, true},
		{"RFC9111_5.2.2.3_426_understood", 426, true},
		{"RFC9111_5.2.2.3_429_not_in_RFC9110", 429, false},
		{"RFC9111_5.2.2.3_505_understood", 505, true},
		{"RFC9111_5.2.2.3_299_unknown", 299, false},
		{"RFC9111_5.2.2.3_599_unknown", 599, false},
		{"RFC9111_3_1xx_not_final", 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Understood(tt.status); got != tt.want {
				t.Errorf("Understood(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestDecideAllocations(t *testing.T) {
	respH := hdr("Cache-Control", "max-age=60, public", "Vary", "Accept-Encoding")
	req := Request{Method: "GET", Header: hdr("Accept", "*/*")}
	resp := Response{Status: 200, Header: respH, CC: cachecontrol.Parse(respH, "Cache-Control")}
	if n := testing.AllocsPerRun(100, func() { _, _ = Decide(req, resp, true) }); n != 0 {
		t.Errorf("Decide allocates %v times, want 0", n)
	}
}
