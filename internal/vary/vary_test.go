package vary

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func varyHeader(lines ...string) http.Header {
	if lines == nil {
		return http.Header{}
	}
	return http.Header{"Vary": lines}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
		star  bool
	}{
		{"RFC9110_12.5.5_absent", nil, nil, false},
		{"RFC9110_12.5.5_single", []string{"Accept-Encoding"}, []string{"accept-encoding"}, false},
		{"RFC9110_12.5.5_list_sorted", []string{"Foo, Bar, Baz"}, []string{"bar", "baz", "foo"}, false},
		{"RFC9110_5.1_names_case-insensitive_deduplicated", []string{"Foo, foo, FOO"}, []string{"foo"}, false},
		{"RFC9110_5.3_several_lines_combined", []string{"Foo", "Bar", "foo"}, []string{"bar", "foo"}, false},
		{"RFC9110_5.6.1.2_empty_members_ignored", []string{",, Foo ,,", "", " , "}, []string{"foo"}, false},
		{"RFC9110_5.6.3_odd_OWS", []string{"\tFoo\t,Bar  ,  Baz"}, []string{"bar", "baz", "foo"}, false},
		{"RFC9110_5.6.1.2_only_empty", []string{"", " , "}, nil, false},
		{"RFC9110_12.5.5_already_lowercase", []string{"accept, x-y"}, []string{"accept", "x-y"}, false},
		// Wildcard (vary-parse suite: *, "*, *", ", *", "*, Foo", "Foo, *", lines).
		{"RFC9111_4.1_star", []string{"*"}, nil, true},
		{"RFC9111_4.1_star_star", []string{"*, *"}, nil, true},
		{"RFC9111_4.1_star_star_on_lines", []string{"*", "*"}, nil, true},
		{"RFC9111_4.1_empty_star", []string{", *"}, nil, true},
		{"RFC9111_4.1_empty_star_on_lines", []string{"", "*"}, nil, true},
		{"RFC9111_4.1_star_foo", []string{"*, Foo"}, []string{"foo"}, true},
		{"RFC9111_4.1_foo_star", []string{"Foo, *"}, []string{"foo"}, true},
		{"RFC9111_4.1_star_with_OWS", []string{" * "}, nil, true},
		// Invalid members behave like "*".
		{"RFC9110_5.1_invalid_name_with_space_is_star", []string{"Foo Bar"}, nil, true},
		{"RFC9110_5.1_invalid_name_with_separator_is_star", []string{"Foo, a;b"}, []string{"foo"}, true},
		{"RFC9110_5.1_invalid_name_non-ASCII_is_star", []string{"F\xc3\xbc"}, nil, true},
		{"RFC9110_5.1_invalid_name_quoted_is_star", []string{`"Foo"`}, nil, true},
		{"RFC9110_5.1_tchar_specials_allowed", []string{"x!#$%&'*+-.^_`|~1"}, []string{"x!#$%&'*+-.^_`|~1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, star := Names(varyHeader(tt.lines...))
			if !slices.Equal(got, tt.want) || star != tt.star || (tt.want == nil) != (got == nil) {
				t.Fatalf("Names(%q) = %q, %v; want %q, %v", tt.lines, got, star, tt.want, tt.star)
			}
		})
	}
	t.Run("RFC9110_12.5.5_nil_header", func(t *testing.T) {
		if got, star := Names(nil); got != nil || star {
			t.Fatalf("Names(nil) = %q, %v", got, star)
		}
	})
}

func TestNamesAllocations(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		max  float64
	}{
		{"RFC9110_12.5.5_lowercase_one_alloc", varyHeader("accept-encoding, accept-language"), 1},
		{"RFC9110_12.5.5_mixed_case_two_allocs", varyHeader("Accept-Encoding, Accept-Language", "Origin"), 2},
		{"RFC9110_12.5.5_star_only_no_alloc", varyHeader("*"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { Names(tt.h) }); n > tt.max {
				t.Fatalf("Names allocates %v times; want <= %v", n, tt.max)
			}
		})
	}
}

func TestKeyMatching(t *testing.T) {
	req := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name  string
		names []string
		a, b  http.Header
		same  bool
	}{
		{"RFC9111_4.1_same_value_matches", []string{"foo"}, req("Foo", "1"), req("Foo", "1"), true},
		{"RFC9111_4.1_different_value_does_not_match", []string{"foo"}, req("Foo", "1"), req("Foo", "2"), false},
		{"RFC9111_4.1_absent_matches_absent", []string{"foo"}, req(), req("Other", "x"), true},
		{"RFC9111_4.1_absent_does_not_match_present", []string{"foo"}, req(), req("Foo", "1"), false},
		{"RFC9111_4.1_absent_does_not_match_present_empty", []string{"foo"}, req(), req("Foo", ""), false},
		{"RFC9111_4.1_unlisted_fields_ignored", []string{"foo"}, req("Foo", "1", "Other", "2"), req("Foo", "1", "Other", "3"), true},
		{"RFC9111_4.1_two-way_match", []string{"bar", "foo"}, req("Foo", "1", "Bar", "abc"), req("Bar", "abc", "Foo", "1"), true},
		{"RFC9111_4.1_two-way_mismatch", []string{"bar", "foo"}, req("Foo", "1", "Bar", "abc"), req("Foo", "2", "Bar", "abc"), false},
		{"RFC9111_4.1_three-way_omitted_in_both", []string{"bar", "baz", "foo"}, req("Foo", "1", "Baz", "789"), req("Foo", "1", "Baz", "789"), true},
		{"RFC9111_4.1_three-way_order_independent_mismatch", []string{"bar", "baz", "foo"}, req("Foo", "1", "Bar", "abc", "Baz", "789"), req("Foo", "1", "Baz", "789", "Bar", "abcde"), false},
		{"RFC9111_4.1_values_shifted_between_fields_differ", []string{"bar", "foo"}, req("Foo", "1"), req("Bar", "1"), false},
		{"RFC9111_4.1_whitespace_removed_around_commas", []string{"foo"}, req("Foo", "1,2"), req("Foo", " 1, 2 "), true},
		{"RFC9111_4.1_whitespace_tabs", []string{"foo"}, req("Foo", "1,\t2"), req("Foo", "1 ,2"), true},
		{"RFC9111_4.1_combining_field_lines", []string{"foo"}, req("Foo", "1, 2"), req("Foo", "1", "Foo", "2"), true},
		{"RFC9111_4.1_combining_field_lines_with_OWS", []string{"foo"}, req("Foo", "1,2,3"), req("Foo", " 1 ", "Foo", "2 , 3"), true},
		{"RFC9111_4.1_inner_whitespace_significant", []string{"foo"}, req("Foo", "a b"), req("Foo", "a  b"), false},
		{"RFC9111_4.1_values_case-sensitive", []string{"foo"}, req("Foo", "abc"), req("Foo", "ABC"), false},
		{"RFC9111_4.1_member_order_significant", []string{"x-list"}, req("X-List", "en, de"), req("X-List", "de, en"), false},
		{"RFC9110_5.6.4_quoted_string_whitespace_kept", []string{"foo"}, req("Foo", `"a, b"`), req("Foo", `"a,b"`), false},
		{"RFC9110_5.6.4_quoted_pair_does_not_close_quote", []string{"foo"}, req("Foo", `"a\", b"`), req("Foo", `"a\",b"`), false},
		{"RFC9110_5.6.1.2_empty_member_kept", []string{"foo"}, req("Foo", "1,,2"), req("Foo", "1,2"), false},
		{"RFC9110_5.3_empty_line_kept", []string{"foo"}, req("Foo", "1", "Foo", ""), req("Foo", "1"), false},
		{"RFC9110_5.3_empty_line_is_trailing_empty_member", []string{"foo"}, req("Foo", "1", "Foo", ""), req("Foo", "1,"), true},
		{"RFC9111_4.1_present_empty_matches_whitespace_only", []string{"foo"}, req("Foo", ""), http.Header{"Foo": {"  "}}, true},
		{"RFC9110_5.1_lowercase_request_key_found", []string{"foo"}, http.Header{"foo": {"1"}}, req("Foo", "1"), true},
		{"RFC9110_5.1_canonical_multi-hyphen_name", []string{"x-my-field"}, req("X-My-Field", "1"), http.Header{"X-My-Field": {"2"}}, false},
		{"RFC9111_4.1_ambiguous_separators_in_values", []string{"a", "b"}, req("A", "1-", "B", "2"), req("A", "1", "B", "-2"), false},
		{"RFC9111_4.1_length_prefix_prevents_shifting", []string{"a", "b"}, req("A", "1=1:x"), req("A", "1", "B", "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := Key(tt.names, tt.a), Key(tt.names, tt.b)
			if (ka == kb) != tt.same {
				t.Fatalf("Key(%v) = %q vs %q; same=%v, want %v", tt.names, ka, kb, ka == kb, tt.same)
			}
		})
	}
}

func TestKeyFormat(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		req   http.Header
		want  string
	}{
		{"RFC9111_4.1_no_names", nil, http.Header{"Foo": {"1"}}, ""},
		{"RFC9111_4.1_absent", []string{"foo"}, nil, "3:foo-"},
		{"RFC9111_4.1_present_empty", []string{"foo"}, http.Header{"Foo": {""}}, "3:foo=0:"},
		{"RFC9111_4.1_normalised", []string{"accept", "foo"}, http.Header{"Foo": {" 1 ", "2, 3 "}, "Accept": {"text/html"}}, "6:accept=9:text/html3:foo=5:1,2,3"},
		{"RFC9111_4.1_long_value_length", []string{"x"}, http.Header{"X": {strings.Repeat("v", 123)}}, "1:x=123:" + strings.Repeat("v", 123)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.names, tt.req); got != tt.want {
				t.Fatalf("Key = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestKeyAllocations(t *testing.T) {
	names := []string{"accept-encoding", "accept-language", "x-custom-field"}
	req := http.Header{
		"Accept-Encoding": {"gzip, br"},
		"Accept-Language": {"en-GB", "en;q=0.8"},
		"X-Custom-Field":  {" a , b "},
		"User-Agent":      {"test"},
	}
	// One for the key, one per normalised Accept-Encoding/-Language value,
	// and one for lowercasing "en-GB".
	if n := testing.AllocsPerRun(100, func() { Key(names, req) }); n != 4 {
		t.Fatalf("Key allocates %v times; want 4", n)
	}
	other := []string{"x-custom-field", "user-agent"}
	if n := testing.AllocsPerRun(100, func() { Key(other, req) }); n != 1 {
		t.Fatalf("Key allocates %v times for other fields; want 1", n)
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		extra []string
		want  string
	}{
		{"RFC9110_12.5.5_nothing", nil, nil, ""},
		{"RFC9110_12.5.5_existing_only", []string{"Accept-Encoding"}, nil, "Accept-Encoding"},
		{"RFC9110_12.5.5_extra_only", nil, []string{"Accept-Language"}, "Accept-Language"},
		{"RFC9110_12.5.5_append_extra", []string{"Accept-Encoding"}, []string{"Accept-Language", "Origin"}, "Accept-Encoding, Accept-Language, Origin"},
		{"RFC9110_5.1_dedupe_case-insensitive", []string{"accept-encoding"}, []string{"Accept-Encoding"}, "accept-encoding"},
		{"RFC9110_5.3_several_lines_and_duplicates", []string{"A, B", "b", " C "}, []string{"c", "D", "d"}, "A, B, C, D"},
		{"RFC9110_5.6.1.2_empty_members_dropped", []string{",,A,, "}, []string{"", " ", " B "}, "A, B"},
		{"RFC9110_12.5.5_existing_star_kept", []string{"*"}, []string{"Origin"}, "*, Origin"},
		{"RFC9110_12.5.5_proxy_must_not_generate_star", []string{"Accept"}, []string{"*"}, "Accept"},
		{"RFC9110_12.5.5_many_members", []string{"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"}, []string{"r", "A"}, "a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Merge(varyHeader(tt.lines...), tt.extra); got != tt.want {
				t.Fatalf("Merge(%q, %q) = %q; want %q", tt.lines, tt.extra, got, tt.want)
			}
		})
	}
	t.Run("RFC9110_12.5.5_nil_header", func(t *testing.T) {
		if got := Merge(nil, []string{"X"}); got != "X" {
			t.Fatalf("got %q", got)
		}
	})
}

func BenchmarkNames(b *testing.B) {
	h := varyHeader("Accept-Encoding, Accept-Language", "Origin")
	b.ReportAllocs()
	for b.Loop() {
		Names(h)
	}
}

func BenchmarkKey(b *testing.B) {
	names := []string{"accept-encoding", "accept-language", "origin"}
	req := http.Header{
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"Origin":          {"https://example.com"},
		"User-Agent":      {"Mozilla/5.0"},
		"Accept":          {"*/*"},
	}
	b.ReportAllocs()
	for b.Loop() {
		Key(names, req)
	}
}

func BenchmarkMerge(b *testing.B) {
	h := varyHeader("Accept-Encoding")
	extra := []string{"Accept-Language", "accept-encoding"}
	b.ReportAllocs()
	for b.Loop() {
		Merge(h, extra)
	}
}

func TestKeyNormalisesUnorderedFields(t *testing.T) {
	tests := []struct {
		name string
		a, b http.Header
		same bool
	}{
		{"RFC9110_12.5.4_language_order", http.Header{"Accept-Language": {"en, de"}}, http.Header{"Accept-Language": {"de, en"}}, true},
		{"RFC9110_8.5.1_language_case", http.Header{"Accept-Language": {"en, de"}}, http.Header{"Accept-Language": {"eN, De"}}, true},
		{"RFC9110_12.5.3_coding_order_and_lines", http.Header{"Accept-Encoding": {"gzip, br"}}, http.Header{"Accept-Encoding": {"br", "GZIP"}}, true},
		{"different_languages", http.Header{"Accept-Language": {"en"}}, http.Header{"Accept-Language": {"fr"}}, false},
		{"other_fields_keep_order", http.Header{"Foo": {"a, b"}}, http.Header{"Foo": {"b, a"}}, false},
	}
	names := []string{"accept-encoding", "accept-language", "foo"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Key(names, tc.a) == Key(names, tc.b); got != tc.same {
				t.Fatalf("same key = %v, want %v", got, tc.same)
			}
		})
	}
}
