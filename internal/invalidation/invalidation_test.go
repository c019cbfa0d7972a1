package invalidation

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestUnsafe(t *testing.T) {
	tests := []struct {
		name   string
		method string
		want   bool
	}{
		{"RFC9110_9.2.1_GET_safe", "GET", false},
		{"RFC9110_9.2.1_HEAD_safe", "HEAD", false},
		{"RFC9110_9.2.1_OPTIONS_safe", "OPTIONS", false},
		{"RFC9110_9.2.1_TRACE_safe", "TRACE", false},
		{"RFC9111_4.4_POST_unsafe", "POST", true},
		{"RFC9111_4.4_PUT_unsafe", "PUT", true},
		{"RFC9111_4.4_DELETE_unsafe", "DELETE", true},
		{"RFC9111_4.4_PATCH_unsafe", "PATCH", true},
		{"RFC9111_4.4_CONNECT_unsafe", "CONNECT", true},
		{"RFC9111_4.4_unknown_method_M-SEARCH_unsafe", "M-SEARCH", true},
		{"RFC9110_9.1_methods_case-sensitive_get_unknown", "get", true},
		{"RFC9110_9.1_methods_case-sensitive_Head_unknown", "Head", true},
		{"RFC9111_4.4_empty_method_unknown", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unsafe(tt.method); got != tt.want {
				t.Fatalf("Unsafe(%q) = %v; want %v", tt.method, got, tt.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	for m, want := range map[string]bool{
		"POST": true, "PUT": true, "DELETE": true, "PATCH": true, "MOVE": true, "PROPPATCH": true,
		"GET": false, "HEAD": false, "PROPFIND": false, "SEARCH": false, "M-SEARCH": false,
		"post": false, "": false, "FOO": false,
	} {
		if got := Registered(m); got != want {
			t.Errorf("Registered(%q) = %v; want %v", m, got, want)
		}
	}
}

func TestInvalidates(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   bool
	}{
		{"RFC9111_4.4_100_not_final", 100, false},
		{"RFC9111_4.4_199", 199, false},
		{"RFC9111_4.4_200", 200, true},
		{"RFC9111_4.4_201", 201, true},
		{"RFC9111_4.4_204", 204, true},
		{"RFC9111_4.4_299", 299, true},
		{"RFC9111_4.4_301", 301, true},
		{"RFC9111_4.4_303", 303, true},
		{"RFC9111_4.4_304", 304, true},
		{"RFC9111_4.4_399", 399, true},
		{"RFC9111_4.4_400_error", 400, false},
		{"RFC9111_4.4_404_error", 404, false},
		{"RFC9111_4.4_500_error", 500, false},
		{"RFC9111_4.4_503_error", 503, false},
		{"RFC9111_4.4_0_invalid", 0, false},
		{"RFC9111_4.4_negative_invalid", -1, false},
		{"RFC9111_4.4_600_invalid", 600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Invalidates(tt.status); got != tt.want {
				t.Fatalf("Invalidates(%d) = %v; want %v", tt.status, got, tt.want)
			}
		})
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name   string
		target string
		resp   http.Header
		want   []string
	}{
		{"RFC9111_4.4_target_only", "http://example.com/a?b=1", nil, []string{"http://example.com/a?b=1"}},
		{"RFC9111_4.4_Location_relative", "http://example.com/dir/a", http.Header{"Location": {"b"}},
			[]string{"http://example.com/dir/a", "http://example.com/dir/b"}},
		{"RFC9111_4.4_Content-Location_absolute_path", "http://example.com/dir/a", http.Header{"Content-Location": {"/c?x=1"}},
			[]string{"http://example.com/dir/a", "http://example.com/c?x=1"}},
		{"RFC9111_4.4_Location_and_Content-Location", "https://example.com/items", http.Header{
			"Location":         {"/items/42"},
			"Content-Location": {"https://example.com/items/42.json"},
		}, []string{"https://example.com/items", "https://example.com/items/42", "https://example.com/items/42.json"}},
		{"RFC9111_4.4_Location_other_host_not_invalidated", "http://example.com/a", http.Header{"Location": {"http://other.example/a"}},
			[]string{"http://example.com/a"}},
		{"RFC9111_4.4_Location_network-path_other_host", "http://example.com/a", http.Header{"Location": {"//evil.example/a"}},
			[]string{"http://example.com/a"}},
		{"RFC9111_4.4_Location_other_scheme_not_invalidated", "http://example.com/a", http.Header{"Location": {"https://example.com/a"}},
			[]string{"http://example.com/a"}},
		{"RFC9111_4.4_Location_other_port_not_invalidated", "http://example.com/a", http.Header{"Location": {"http://example.com:8080/b"}},
			[]string{"http://example.com/a"}},
		{"RFC9110_4.3.1_origin_default_port_normalised", "http://example.com/a", http.Header{"Location": {"http://example.com:80/b"}},
			[]string{"http://example.com/a", "http://example.com/b"}},
		{"RFC9110_4.3.1_origin_host_case_normalised", "http://Example.COM/a", http.Header{"Location": {"HTTP://EXAMPLE.com/b"}},
			[]string{"http://example.com/a", "http://example.com/b"}},
		{"RFC9110_4.3.1_https_default_port", "https://example.com:443/a", http.Header{"Location": {"https://example.com/b"}},
			[]string{"https://example.com/a", "https://example.com/b"}},
		{"RFC9110_4.3.1_non-default_port_kept", "http://example.com:8080/a", http.Header{"Location": {"/b"}},
			[]string{"http://example.com:8080/a", "http://example.com:8080/b"}},
		{"RFC9110_4.3.1_port_leading_zeros", "http://example.com:0080/a", http.Header{"Location": {"http://example.com:80/b"}},
			[]string{"http://example.com/a", "http://example.com/b"}},
		{"RFC9111_4.4_fragment_dropped", "http://example.com/a#top", http.Header{"Location": {"/b#frag"}},
			[]string{"http://example.com/a", "http://example.com/b"}},
		{"RFC9111_4.4_duplicates_removed", "http://example.com/a", http.Header{"Location": {"/a"}, "Content-Location": {"http://EXAMPLE.com:80/a", "/b", "b"}},
			[]string{"http://example.com/a", "http://example.com/b"}},
		{"RFC9111_4.4_unparsable_reference_skipped", "http://example.com/a", http.Header{"Location": {"http://[bad/x", "/ok"}},
			[]string{"http://example.com/a", "http://example.com/ok"}},
		{"RFC9111_4.4_empty_reference_skipped", "http://example.com/a", http.Header{"Location": {"  "}},
			[]string{"http://example.com/a"}},
		{"RFC9111_4.4_opaque_reference_skipped", "http://example.com/a", http.Header{"Location": {"mailto:x@example.com", "http:b"}},
			[]string{"http://example.com/a"}},
		{"RFC9111_4.4_dot_segments_resolved", "http://example.com/a/b/c", http.Header{"Location": {"../d/./e"}},
			[]string{"http://example.com/a/b/c", "http://example.com/a/d/e"}},
		{"RFC9111_4.4_query_only_reference", "http://example.com/a?x=1", http.Header{"Location": {"?y=2"}},
			[]string{"http://example.com/a?x=1", "http://example.com/a?y=2"}},
		{"RFC9111_4.4_IPv6_literal", "http://[::1]:80/a", http.Header{"Location": {"http://[::1]/b", "http://[::2]/c"}},
			[]string{"http://[::1]/a", "http://[::1]/b"}},
		{"RFC9111_4.4_userinfo_same_origin_dropped", "http://example.com/a", http.Header{"Location": {"http://user@example.com/b"}},
			[]string{"http://example.com/a", "http://example.com/b"}},
		{"RFC9111_4.4_comma_in_Location_is_part_of_URI", "http://example.com/a", http.Header{"Location": {"/b,c"}},
			[]string{"http://example.com/a", "http://example.com/b,c"}},
		{"RFC9111_4.4_relative_target_unusable", "/a", http.Header{"Location": {"/b"}}, nil},
		{"RFC9111_4.4_target_without_host_unusable", "http:///a", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Targets(mustParse(t, tt.target), tt.resp)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Targets(%q) = %q; want %q", tt.target, got, tt.want)
			}
		})
	}
	t.Run("RFC9111_4.4_nil_target", func(t *testing.T) {
		if got := Targets(nil, http.Header{"Location": {"http://example.com/"}}); got != nil {
			t.Fatalf("got %q", got)
		}
	})
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"RFC9110_4.2.3_equivalent_1", "http://example.com:80/~smith/home.html", "http://example.com/~smith/home.html", true},
		{"RFC9110_4.2.3_equivalent_2", "http://EXAMPLE.com/%7Esmith/home.html", "http://example.com/~smith/home.html", true},
		{"RFC9110_4.2.3_equivalent_3", "http://EXAMPLE.com:/%7esmith/home.html", "http://example.com/~smith/home.html", true},
		{"RFC9110_4.2.3_empty_path_is_slash", "http://example.com", "http://example.com/", true},
		{"RFC9110_4.2.3_scheme_lowercased", "HTTPS://example.com/", "https://example.com/", true},
		{"RFC9110_4.2.3_path_case_kept", "http://example.com/A/b", "http://example.com/A/b", true},
		{"RFC3986_6.2.2.1_hex_uppercased", "http://example.com/a%2fb?q=%c3%bc", "http://example.com/a%2Fb?q=%C3%BC", true},
		{"RFC3986_6.2.2.2_reserved_escape_kept", "http://example.com/a%2Fb%3F?x=%26", "http://example.com/a%2Fb%3F?x=%26", true},
		{"RFC3986_6.2.2.2_unreserved_decoded_in_query", "http://example.com/?q=%41%2D%5F", "http://example.com/?q=A-_", true},
		{"RFC3986_6.2.2.3_dot_segments", "http://example.com/a/./b/../c", "http://example.com/a/c", true},
		{"RFC3986_6.2.2.3_encoded_dot_segments", "http://example.com/a/%2E%2E/c", "http://example.com/c", true},
		{"RFC3986_5.2.4_dotdot_above_root", "http://example.com/../a", "http://example.com/a", true},
		{"RFC3986_5.2.4_trailing_dot", "http://example.com/a/.", "http://example.com/a/", true},
		{"RFC3986_5.2.4_dots_in_names_kept", "http://example.com/a.b/..c/.d", "http://example.com/a.b/..c/.d", true},
		{"RFC9110_4.2.4_userinfo_dropped", "http://u:p@example.com/", "http://example.com/", true},
		{"RFC9111_4.4_fragment_dropped", "http://example.com/a#x", "http://example.com/a", true},
		{"RFC9111_4.4_empty_query_dropped", "http://example.com/a?", "http://example.com/a", true},
		{"RFC9110_4.3.1_other_scheme_port_kept", "ftp://example.com:21/a", "ftp://example.com:21/a", true},
		{"RFC9110_4.3.1_https_port_80_kept", "https://example.com:80/a", "https://example.com:80/a", true},
		{"RFC3986_6.2.2.2_malformed_escape_kept", "http://example.com/?q=%zz%4", "http://example.com/?q=%zz%4", true},
		{"RFC9111_4.4_relative_rejected", "/a", "", false},
		{"RFC9111_4.4_opaque_rejected", "mailto:a@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Normalize(mustParse(t, tt.in))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	t.Run("RFC3986_6.2.2_rootless_path_with_host", func(t *testing.T) {
		got, ok := Normalize(&url.URL{Scheme: "http", Host: "example.com", Path: "a"})
		if !ok || got != "http://example.com/a" {
			t.Fatalf("got %q, %v", got, ok)
		}
	})
	invalid := []struct {
		name string
		u    *url.URL
	}{
		{"RFC3986_3.2.2_empty_host_with_port", &url.URL{Scheme: "http", Host: ":80"}},
		{"RFC3986_3.2.2_colons_outside_brackets", &url.URL{Scheme: "a", Host: "::"}},
		{"RFC3986_3.2.2_unclosed_IPv6_literal", &url.URL{Scheme: "http", Host: "[::1"}},
		{"RFC3986_3.2.2_space_in_host", &url.URL{Scheme: "http", Host: "a b"}},
		{"RFC3986_3.2.3_non-digit_port", &url.URL{Scheme: "http", Host: "example.com:8o"}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Normalize(tt.u); ok {
				t.Fatalf("Normalize(%#v) = %q, true; want false", tt.u, got)
			}
			if got := Targets(tt.u, nil); got != nil {
				t.Fatalf("Targets = %q; want nil", got)
			}
		})
	}
	t.Run("RFC9111_4.4_nil", func(t *testing.T) {
		if _, ok := Normalize(nil); ok {
			t.Fatal("ok for nil")
		}
	})
}

func BenchmarkTargets(b *testing.B) {
	target, _ := url.Parse("https://example.com/items?page=2")
	resp := http.Header{"Location": {"/items/42"}, "Content-Location": {"https://other.example/x"}}
	b.ReportAllocs()
	for b.Loop() {
		Targets(target, resp)
	}
}

func BenchmarkNormalize(b *testing.B) {
	u, _ := url.Parse("https://example.com/a/b?c=d")
	b.ReportAllocs()
	for b.Loop() {
		Normalize(u)
	}
}
