package cachecontrol

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func set(n int64) Delta { return Delta{Seconds: n, Set: true} }

var invalid = Delta{Invalid: true}

func ccHeader(lines ...string) http.Header {
	if lines == nil {
		return http.Header{}
	}
	return http.Header{"Cache-Control": lines}
}

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		name  string
		lines []string // nil: field absent
		want  Directives
	}{
		{"RFC9111_5.2_absent_field_is_not_present", nil, Directives{}},
		{"RFC9111_5.2_empty_field_line_is_present", []string{""}, Directives{Present: true}},
		{"RFC9111_5.2.2.1_max-age", []string{"max-age=60"}, Directives{Present: true, MaxAge: set(60)}},
		{"RFC9111_5.2_typical_value", []string{"max-age=60, public"}, Directives{Present: true, MaxAge: set(60), Public: true}},
		{"RFC9111_5.2_directive_names_are_case-insensitive", []string{"MaX-aGe=3600, No-StOrE, PUBLIC, S-MAXAGE=5"},
			Directives{Present: true, MaxAge: set(3600), NoStore: true, Public: true, SMaxAge: set(5)}},
		{"RFC9111_5.2_quoted-string_argument_accepted", []string{`max-age="3600"`}, Directives{Present: true, MaxAge: set(3600)}},
		{"RFC9110_5.6.4_quoted-pair_in_argument_unescaped", []string{`max-age="36\00"`}, Directives{Present: true, MaxAge: set(3600)}},
		{"RFC9111_5.2_whitespace_before_equals_is_invalid", []string{"max-age =3600"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_5.2_whitespace_after_equals_is_invalid", []string{"max-age= 3600"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_5.2_empty_argument_is_invalid", []string{"max-age=, public"}, Directives{Present: true, MaxAge: invalid, Public: true}},
		{"RFC9111_1.2.2_missing_argument_is_invalid", []string{"max-age"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_leading_zeros_accepted", []string{"max-age=003600"}, Directives{Present: true, MaxAge: set(3600)}},
		{"RFC9111_1.2.2_zero_is_valid", []string{"max-age=0"}, Directives{Present: true, MaxAge: set(0)}},
		{"RFC9111_1.2.2_negative_is_invalid", []string{"max-age=-1"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_plus_sign_is_invalid", []string{"max-age=+1"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_decimal_is_invalid", []string{"max-age=1.5"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_decimal_zero_fraction_is_invalid", []string{"max-age=3600.0"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_leading_alpha_is_invalid", []string{"max-age=a3600"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_trailing_alpha_is_invalid", []string{"max-age=3600a"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_non-numeric_is_invalid", []string{"max-age=abc"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_single-quoted_is_invalid", []string{"max-age='3600'"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_empty_quoted_is_invalid", []string{`max-age=""`}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_non-ASCII_is_invalid", []string{"max-age=6\xff0"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_1.2.2_greatest_31-bit_value_kept", []string{"max-age=2147483647"}, Directives{Present: true, MaxAge: set(2147483647)}},
		{"RFC9111_1.2.2_2147483648_kept", []string{"max-age=2147483648"}, Directives{Present: true, MaxAge: set(MaxDelta)}},
		{"RFC9111_1.2.2_overflow_clamps_to_2147483648", []string{"max-age=99999999999"}, Directives{Present: true, MaxAge: set(MaxDelta)}},
		{"RFC9111_1.2.2_int64_overflow_clamps_to_2147483648", []string{"s-maxage=999999999999999999999999999999"}, Directives{Present: true, SMaxAge: set(MaxDelta)}},
		{"RFC9111_4.2.1_duplicate_first_occurrence_wins_fresh_stale_same_line", []string{"max-age=1800, max-age=1"}, Directives{Present: true, MaxAge: set(1800)}},
		{"RFC9111_4.2.1_duplicate_first_occurrence_wins_stale_fresh_same_line", []string{"max-age=1, max-age=1800"}, Directives{Present: true, MaxAge: set(1)}},
		{"RFC9111_4.2.1_duplicate_first_occurrence_wins_separate_lines", []string{"max-age=1800", "max-age=1"}, Directives{Present: true, MaxAge: set(1800)}},
		{"RFC9111_4.2.1_duplicate_first_occurrence_wins_even_if_invalid", []string{"max-age=abc, max-age=60"}, Directives{Present: true, MaxAge: invalid}},
		{"RFC9111_4.2.1_duplicate_s-maxage_first_occurrence_wins", []string{"s-maxage=5", "s-maxage=500"}, Directives{Present: true, SMaxAge: set(5)}},
		{"RFC9111_5.2_field_lines_combine", []string{"max-age=60", "public", "", "no-transform"},
			Directives{Present: true, MaxAge: set(60), Public: true, NoTransform: true}},
		{"RFC9111_5.2.3_unknown_directives_ignored", []string{`foobar, max-age=3600, community="UCI", x=y`}, Directives{Present: true, MaxAge: set(3600)}},
		{"RFC9111_5.2.3_directive_in_quoted_extension_ignored_before", []string{`extension="max-age=3600", max-age=1`}, Directives{Present: true, MaxAge: set(1)}},
		{"RFC9111_5.2.3_directive_in_quoted_extension_ignored_after", []string{`max-age=1, extension="max-age=3600"`}, Directives{Present: true, MaxAge: set(1)}},
		{"RFC9111_5.2.3_quoted_extension_with_comma_and_escaped_quote", []string{`ext="a, \"no-store, b", public`}, Directives{Present: true, Public: true}},
		{"RFC9111_5.2.3_quoted_max-age_after_quoted_extension", []string{`extension="max-age=100", max-age="1"`}, Directives{Present: true, MaxAge: set(1)}},
		{"RFC9110_5.6.1.2_empty_list_elements_tolerated", []string{", ,max-age=5,, public ,"}, Directives{Present: true, MaxAge: set(5), Public: true}},
		{"RFC9110_5.6.3_tabs_as_OWS", []string{"\tmax-age=60\t,\tpublic\t"}, Directives{Present: true, MaxAge: set(60), Public: true}},
		{"RFC9111_5.2_garbage_elements_skipped", []string{`@@@, "quoted, x", =5, (a,b), max-age=5`}, Directives{Present: true, MaxAge: set(5)}},
		{"RFC9111_5.2_garbage_after_argument_is_invalid", []string{`max-age="60"x, public`}, Directives{Present: true, MaxAge: invalid, Public: true}},
		{"RFC9111_5.2_garbage_after_token_argument_is_invalid", []string{`max-age=60 x, public`}, Directives{Present: true, MaxAge: invalid, Public: true}},
		{"RFC9111_5.2.2.4_unqualified_no-cache", []string{"no-cache"}, Directives{Present: true, NoCache: true}},
		{"RFC9111_5.2.2.4_qualified_no-cache_single_field", []string{`no-cache="set-cookie"`}, Directives{Present: true, NoCache: true, NoCacheFields: []string{"Set-Cookie"}}},
		{"RFC9111_5.2.2.4_qualified_no-cache_field_list_with_comma", []string{`no-cache="a, b", max-age=3600`},
			Directives{Present: true, NoCache: true, NoCacheFields: []string{"A", "B"}, MaxAge: set(3600)}},
		{"RFC9111_5.2_qualified_no-cache_token_form_accepted", []string{"no-cache=Set-Cookie"}, Directives{Present: true, NoCache: true, NoCacheFields: []string{"Set-Cookie"}}},
		{"RFC9111_5.2.2.4_qualified_no-cache_lists_merge", []string{`no-cache="a"`, `no-cache="b, A, ,x-Foo"`},
			Directives{Present: true, NoCache: true, NoCacheFields: []string{"A", "B", "X-Foo"}}},
		{"RFC9111_4.2.1_unqualified_no-cache_wins_over_qualified", []string{`no-cache="a", no-cache`}, Directives{Present: true, NoCache: true}},
		{"RFC9111_4.2.1_unqualified_no-cache_wins_over_later_qualified", []string{`no-cache, no-cache="a"`}, Directives{Present: true, NoCache: true}},
		{"RFC9111_5.2.2.4_empty_qualified_no-cache_is_unqualified", []string{`no-cache=""`}, Directives{Present: true, NoCache: true}},
		{"RFC9111_5.2.2.4_no-cache_without_valid_names_is_unqualified", []string{`no-cache="a b, (c)"`}, Directives{Present: true, NoCache: true}},
		{"RFC9111_4.2.1_unterminated_no-cache_is_unqualified", []string{`no-cache="a, max-age=5`}, Directives{Present: true, NoCache: true}},
		{"RFC9111_5.2.2.7_unqualified_private", []string{"private, max-age=3600"}, Directives{Present: true, Private: true, MaxAge: set(3600)}},
		{"RFC9111_5.2.2.7_qualified_private", []string{`private="x, Authorization-Info"`}, Directives{Present: true, Private: true, PrivateFields: []string{"X", "Authorization-Info"}}},
		{"RFC9111_4.2.1_unqualified_private_wins_over_qualified", []string{`private="x"`, "private"}, Directives{Present: true, Private: true}},
		{"RFC9111_5.2.2_boolean_response_directives", []string{"no-store, no-transform, must-revalidate, proxy-revalidate, must-understand, public, immutable"},
			Directives{Present: true, NoStore: true, NoTransform: true, MustRevalidate: true, ProxyRevalidate: true, MustUnderstand: true, Public: true, Immutable: true}},
		{"RFC9111_5.2.1_request_directives", []string{"max-age=0, min-fresh=20, no-cache, no-store, no-transform, only-if-cached"},
			Directives{Present: true, MaxAge: set(0), MinFresh: set(20), NoCache: true, NoStore: true, NoTransform: true, OnlyIfCached: true}},
		{"RFC9111_5.2.1.2_max-stale_without_value_is_any", []string{"max-stale"}, Directives{Present: true, MaxStaleAny: true}},
		{"RFC9111_5.2.1.2_max-stale_with_value", []string{"max-stale=10"}, Directives{Present: true, MaxStale: set(10)}},
		{"RFC9111_5.2.1.2_max-stale_invalid_value", []string{"max-stale=abc"}, Directives{Present: true, MaxStale: invalid}},
		{"RFC9111_5.2.1.2_max-stale_first_occurrence_wins", []string{"max-stale=5, max-stale"}, Directives{Present: true, MaxStale: set(5)}},
		{"RFC5861_3_stale-while-revalidate", []string{"max-age=60, stale-while-revalidate=30"}, Directives{Present: true, MaxAge: set(60), StaleWhileRevalidate: set(30)}},
		{"RFC5861_4_stale-if-error", []string{"stale-if-error=60, Stale-If-Error=5"}, Directives{Present: true, StaleIfError: set(60)}},
		{"RFC9111_4.2.1_malformed_restrictive_directive_honoured", []string{"no-store=1, must-revalidate=\"x\", proxy-revalidate x"},
			Directives{Present: true, NoStore: true, MustRevalidate: true, ProxyRevalidate: true}},
		{"RFC9111_4.2.1_malformed_permissive_directive_ignored", []string{`public=1, immutable="x", must-understand =1, only-if-cached=y`}, Directives{Present: true}},
		{"RFC9111_4.2.1_malformed_max-stale_ignored", []string{"max-stale =5"}, Directives{Present: true, MaxStale: invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.lines != nil {
				h["Cache-Control"] = tt.lines
			}
			got := Parse(h, "Cache-Control")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseFieldNames(t *testing.T) {
	tests := []struct {
		name  string
		h     http.Header
		field string
		want  Directives
	}{
		{"RFC9110_5.1_field_name_lookup_is_case-insensitive", http.Header{"Cache-Control": {"max-age=5"}}, "cache-control",
			Directives{Present: true, MaxAge: set(5)}},
		{"RFC9111_5.2_nil_header", nil, "Cache-Control", Directives{}},
		{"RFC9213_2.1_targeted_field_parsed_as_dictionary", http.Header{"Cdn-Cache-Control": {"max-age=60, private"}}, "CDN-Cache-Control",
			Directives{Present: true, Targeted: true, MaxAge: set(60), Private: true}},
		{"RFC9213_2.1_invalid_targeted_field_is_ignored", http.Header{"Cdn-Cache-Control": {"max-age =60"}}, "Cdn-Cache-Control",
			Directives{Present: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.h, tt.field); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%v, %q)\n got %+v\nwant %+v", tt.h, tt.field, got, tt.want)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want Directives
	}{
		{"RFC9111_5.4_pragma_no-cache_without_cache-control", http.Header{"Pragma": {"no-cache"}}, Directives{NoCache: true}},
		{"RFC9111_5.4_pragma_no-cache_case-insensitive_in_list", http.Header{"Pragma": {"foo, No-Cache"}}, Directives{NoCache: true}},
		{"RFC9111_5.4_pragma_no-cache_on_second_line", http.Header{"Pragma": {"x=1", " no-cache "}}, Directives{NoCache: true}},
		{"RFC9111_5.4_pragma_ignored_when_cache-control_present", http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"max-age=5"}},
			Directives{Present: true, MaxAge: set(5)}},
		{"RFC9111_5.4_pragma_ignored_when_cache-control_empty", http.Header{"Pragma": {"no-cache"}, "Cache-Control": {""}}, Directives{Present: true}},
		{"RFC9111_5.4_pragma_extension_ignored", http.Header{"Pragma": {"unrecognised-extension"}}, Directives{}},
		{"RFC9111_5.4_pragma_no-cache_with_argument_ignored", http.Header{"Pragma": {"no-cache=1"}}, Directives{}},
		{"RFC9111_5.2.1_request_cache-control", http.Header{"Cache-Control": {"max-stale, only-if-cached"}},
			Directives{Present: true, MaxStaleAny: true, OnlyIfCached: true}},
		{"RFC9111_5.2.1_nil_header", nil, Directives{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRequest(tt.h); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseRequest(%v)\n got %+v\nwant %+v", tt.h, got, tt.want)
			}
		})
	}
}

func TestParseTargetedSyntax(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		ok    bool
		want  Directives // Present and Targeted are implied when ok
	}{
		{"RFC9213_2.1_max-age_integer", []string{"max-age=60"}, true, Directives{MaxAge: set(60)}},
		{"RFC9213_2.1_max-age_and_boolean", []string{"max-age=60, private"}, true, Directives{MaxAge: set(60), Private: true}},
		{"RFC9213_2.1_lenient_upper-case_key", []string{"MaX-aGe=3600"}, true, Directives{MaxAge: set(3600)}},
		{"RFC9213_2.1_extension_boolean_ignored", []string{"foobar, max-age=3600"}, true, Directives{MaxAge: set(3600)}},
		{"RFC9213_3.1_none_is_valid_and_non-empty", []string{"none"}, true, Directives{}},
		{"RFC9213_2.1_no-store", []string{"no-store"}, true, Directives{NoStore: true}},
		{"RFC9213_2.1_boolean_false_is_absent", []string{"no-store=?0, must-revalidate=?1, no-cache=?0"}, true, Directives{MustRevalidate: true}},
		{"RFC9213_2.1_no-cache_string_field_list", []string{`no-cache="a, b", max-age=5`}, true,
			Directives{NoCache: true, NoCacheFields: []string{"A", "B"}, MaxAge: set(5)}},
		{"RFC9213_2.1_private_token_is_one-name_list", []string{"private=set-cookie"}, true, Directives{Private: true, PrivateFields: []string{"Set-Cookie"}}},
		{"RFC9213_2.1_no-cache_boolean", []string{"no-cache"}, true, Directives{NoCache: true}},
		{"RFC9213_2.1_empty_no-cache_string_is_unqualified", []string{`no-cache=""`}, true, Directives{NoCache: true}},
		{"RFC9213_2.1_all_response_directives", []string{"s-maxage=10, stale-while-revalidate=5, stale-if-error=6, public, immutable, proxy-revalidate, no-transform, must-understand"}, true,
			Directives{SMaxAge: set(10), StaleWhileRevalidate: set(5), StaleIfError: set(6), Public: true, Immutable: true, ProxyRevalidate: true, NoTransform: true, MustUnderstand: true}},
		{"RFC9213_2.1_max-stale_forms", []string{"max-stale, min-fresh=3, only-if-cached"}, true, Directives{MaxStaleAny: true, MinFresh: set(3), OnlyIfCached: true}},
		{"RFC9213_2.1_max-stale_integer", []string{"max-stale=7"}, true, Directives{MaxStale: set(7)}},
		{"RFC9213_2.1_parameters_ignored", []string{"max-age=60;foo=bar;baz, public;x=?0;y=\"s\""}, true, Directives{MaxAge: set(60), Public: true}},
		{"RFC8941_4.2.2_duplicate_key_last_value_wins", []string{"max-age=1, max-age=60"}, true, Directives{MaxAge: set(60)}},
		{"RFC8941_4.2.2_duplicate_key_wrong_type_overwritten", []string{`max-age="x", max-age=60`}, true, Directives{MaxAge: set(60)}},
		{"RFC8941_4.2_field_lines_combine", []string{"max-age=60", "private"}, true, Directives{MaxAge: set(60), Private: true}},
		{"RFC8941_4.2_surrounding_spaces_discarded", []string{"  max-age=60  "}, true, Directives{MaxAge: set(60)}},
		{"RFC8941_4.2.2_OWS_around_comma", []string{"max-age=60 ,\tprivate"}, true, Directives{MaxAge: set(60), Private: true}},
		{"RFC9111_1.2.2_integer_clamps_to_2147483648", []string{"max-age=99999999999"}, true, Directives{MaxAge: set(MaxDelta)}},
		{"RFC9213_2.1_max-age_2147483648", []string{"max-age=2147483648"}, true, Directives{MaxAge: set(MaxDelta)}},
		{"RFC8941_3.3_other_item_types_in_extensions", []string{`a=:YWJj:, b=?1, c=@1659578233, d=%"f%c3%bc", e=1.5, f=-3, g=*tok/x:y, h=(1 "x" y;p=1);q, i=()`}, true, Directives{}},
		{"RFC9213_2.1_space_before_equals_invalid", []string{"max-age =100"}, false, Directives{}},
		{"RFC9213_2.1_space_after_equals_invalid", []string{"max-age= 100"}, false, Directives{}},
		{"RFC9213_2.1_unknown_type_invalid", []string{"max-age=10000, &&&&&"}, false, Directives{}},
		{"RFC9213_2.1_string_max-age_is_wrong_type", []string{`max-age="10000"`}, false, Directives{}},
		{"RFC9213_2.1_negative_max-age_is_wrong_type", []string{"max-age=-1"}, false, Directives{}},
		{"RFC9213_2.1_decimal_max-age_is_wrong_type", []string{"max-age=1.5"}, false, Directives{}},
		{"RFC9213_2.1_boolean_max-age_is_wrong_type", []string{"max-age"}, false, Directives{}},
		{"RFC9213_2.1_inner_list_max-age_is_wrong_type", []string{"max-age=(1)"}, false, Directives{}},
		{"RFC9213_2.1_integer_no-store_is_wrong_type", []string{"no-store=1"}, false, Directives{}},
		{"RFC9213_2.1_integer_private_is_wrong_type", []string{"private=1"}, false, Directives{}},
		{"RFC9213_2.1_empty_field_ignored", []string{""}, false, Directives{}},
		{"RFC9213_2.1_blank_field_ignored", []string{"   "}, false, Directives{}},
		{"RFC8941_4.2.4_more_than_15_digits_invalid", []string{"max-age=1234567890123456"}, false, Directives{}},
		{"RFC8941_4.2.4_decimal_with_4_fraction_digits_invalid", []string{"x=1.2345"}, false, Directives{}},
		{"RFC8941_4.2.4_decimal_without_fraction_invalid", []string{"x=1."}, false, Directives{}},
		{"RFC8941_4.2.4_decimal_with_13_integer_digits_invalid", []string{"x=1234567890123.1"}, false, Directives{}},
		{"RFC8941_4.2.2_trailing_comma_invalid", []string{"max-age=60,"}, false, Directives{}},
		{"RFC8941_4.2.2_missing_comma_invalid", []string{"max-age=60 private"}, false, Directives{}},
		{"RFC8941_4.2.2_empty_member_invalid", []string{"max-age=60,,private"}, false, Directives{}},
		{"RFC8941_4.2_empty_line_among_lines_invalid", []string{"max-age=60", "", "private"}, false, Directives{}},
		{"RFC8941_4.2_leading_tab_invalid", []string{"\tmax-age=60"}, false, Directives{}},
		{"RFC8941_4.2.5_unterminated_string_invalid", []string{`no-cache="a`}, false, Directives{}},
		{"RFC8941_4.2.5_bad_escape_invalid", []string{`no-cache="\a"`}, false, Directives{}},
		{"RFC8941_4.2.5_control_character_invalid", []string{"x=\"a\x01\""}, false, Directives{}},
		{"RFC8941_4.2.7_bad_byte_sequence_invalid", []string{"x=:ab$:"}, false, Directives{}},
		{"RFC8941_4.2.8_bad_boolean_invalid", []string{"x=?2"}, false, Directives{}},
		{"RFC8941_4.2.3.3_key_must_start_with_letter", []string{"1x=1"}, false, Directives{}},
		{"RFC8941_4.2.1.2_unterminated_inner_list_invalid", []string{"x=(1 2"}, false, Directives{}},
		{"RFC8941_4.2.1.2_inner_list_items_need_space", []string{"x=(1\"a\")"}, false, Directives{}},
		{"RFC8941_4.2.3.2_bad_parameter_invalid", []string{"max-age=5;=1"}, false, Directives{}},
		{"RFC9651_4.2.9_decimal_date_invalid", []string{"x=@1.5"}, false, Directives{}},
		{"RFC9651_4.2.10_bad_display_string_invalid", []string{`x=%"%C3"`}, false, Directives{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Cdn-Cache-Control": tt.lines, "Cache-Control": {"no-store"}}
			got, ok := ParseTargeted(h, []string{"Cdn-Cache-Control"})
			want := tt.want
			if tt.ok {
				want.Present, want.Targeted = true, true
			} else {
				want = Directives{Present: true, NoStore: true} // fell back to Cache-Control
			}
			if ok != tt.ok || !reflect.DeepEqual(got, want) {
				t.Errorf("ParseTargeted(%q)\n got %+v, %v\nwant %+v, %v", tt.lines, got, ok, want, tt.ok)
			}
		})
	}
}

func TestParseTargetedTargetList(t *testing.T) {
	tests := []struct {
		name     string
		h        http.Header
		fields   []string
		wantMax  Delta
		wantUsed bool
	}{
		{"RFC9213_2.2_targeted_field_replaces_cache-control",
			http.Header{"Cache-Control": {"max-age=1"}, "Cdn-Cache-Control": {"max-age=3600"}}, []string{"Cdn-Cache-Control"}, set(3600), true},
		{"RFC9213_2.2_short_targeted_max-age_preferred",
			http.Header{"Cache-Control": {"max-age=3600"}, "Cdn-Cache-Control": {"max-age=1"}}, []string{"Cdn-Cache-Control"}, set(1), true},
		{"RFC9213_2.2_absent_targeted_field_falls_back",
			http.Header{"Cache-Control": {"max-age=7"}}, []string{"Cdn-Cache-Control"}, set(7), false},
		{"RFC9213_2.2_invalid_targeted_field_falls_back",
			http.Header{"Cache-Control": {"max-age=7"}, "Cdn-Cache-Control": {"max-age=10000, &&&&&"}}, []string{"Cdn-Cache-Control"}, set(7), false},
		{"RFC9213_2.2_empty_targeted_field_falls_back",
			http.Header{"Cache-Control": {"max-age=7"}, "Cdn-Cache-Control": {""}}, []string{"Cdn-Cache-Control"}, set(7), false},
		{"RFC9213_2.2_first_field_in_target_list_wins",
			http.Header{"Cdn-Cache-Control": {"max-age=1"}, "Examplecdn-Cache-Control": {"max-age=2"}}, []string{"Examplecdn-Cache-Control", "Cdn-Cache-Control"}, set(2), true},
		{"RFC9213_2.2_invalid_first_field_skipped",
			http.Header{"Cdn-Cache-Control": {"max-age=1"}, "Examplecdn-Cache-Control": {"max-age=\"2\""}}, []string{"Examplecdn-Cache-Control", "Cdn-Cache-Control"}, set(1), true},
		{"RFC9213_2.2_non-canonical_names_in_target_list",
			http.Header{"Cdn-Cache-Control": {"max-age=9"}}, []string{"CDN-Cache-Control"}, set(9), true},
		{"RFC9213_2.2_empty_target_list_uses_cache-control",
			http.Header{"Cache-Control": {"max-age=7"}, "Cdn-Cache-Control": {"max-age=9"}}, nil, set(7), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, used := ParseTargeted(tt.h, tt.fields)
			if used != tt.wantUsed || got.MaxAge != tt.wantMax || got.Targeted != tt.wantUsed {
				t.Errorf("ParseTargeted() = max-age %+v, targeted %v, used %v; want %+v, %v", got.MaxAge, got.Targeted, used, tt.wantMax, tt.wantUsed)
			}
		})
	}
}

func TestDeltaDuration(t *testing.T) {
	tests := []struct {
		name string
		d    Delta
		want time.Duration
	}{
		{"RFC9111_1.2.2_unset_is_zero", Delta{}, 0},
		{"RFC9111_1.2.2_invalid_is_zero", Delta{Invalid: true}, 0},
		{"RFC9111_1.2.2_seconds", set(60), time.Minute},
		{"RFC9111_1.2.2_2147483648_does_not_overflow", set(MaxDelta), MaxDelta * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Duration(); got != tt.want {
				t.Errorf("Duration() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDirectiveHelpers(t *testing.T) {
	tests := []struct {
		name                  string
		value                 string
		noCacheUnq, privUnq   bool
		maxAgePresent, smaxPr bool
	}{
		{"RFC9111_5.2.2.4_unqualified_no-cache", "no-cache", true, false, false, false},
		{"RFC9111_5.2.2.4_qualified_no-cache_is_not_unqualified", `no-cache="a"`, false, false, false, false},
		{"RFC9111_5.2.2.7_unqualified_private", "private", false, true, false, false},
		{"RFC9111_5.2.2.7_qualified_private_is_not_unqualified", `private="a"`, false, false, false, false},
		{"RFC9111_4.2.1_invalid_max-age_is_present", "max-age=x, s-maxage=1", false, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Parse(ccHeader(tt.value), "Cache-Control")
			if d.NoCacheUnqualified() != tt.noCacheUnq || d.PrivateUnqualified() != tt.privUnq ||
				d.MaxAge.Present() != tt.maxAgePresent || d.SMaxAge.Present() != tt.smaxPr {
				t.Errorf("helpers for %q: %v %v %v %v", tt.value, d.NoCacheUnqualified(), d.PrivateUnqualified(), d.MaxAge.Present(), d.SMaxAge.Present())
			}
		})
	}
}

func TestParseAllocations(t *testing.T) {
	cc := http.Header{"Cache-Control": {"max-age=60, public"}}
	multi := http.Header{"Cache-Control": {"max-age=60, must-revalidate", "stale-while-revalidate=30, no-transform"}}
	req := http.Header{"Pragma": {"no-cache"}}
	cdn := http.Header{"Cdn-Cache-Control": {"max-age=60, private"}, "Cache-Control": {"no-store"}}
	targets := []string{"Cdn-Cache-Control"}
	cases := []struct {
		name string
		run  func()
	}{
		{"typical_cache-control", func() { _ = Parse(cc, "Cache-Control") }},
		{"multi-line_cache-control", func() { _ = Parse(multi, "Cache-Control") }},
		{"request_with_pragma", func() { _ = ParseRequest(req) }},
		{"targeted_dictionary", func() { _, _ = ParseTargeted(cdn, targets) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, c.run); n != 0 {
				t.Errorf("%s: %v allocations, want 0", c.name, n)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	h := http.Header{"Cache-Control": {"max-age=60, public"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(h, "Cache-Control")
	}
}

func BenchmarkParseTargeted(b *testing.B) {
	h := http.Header{"Cdn-Cache-Control": {"max-age=60, private"}, "Cache-Control": {"no-store"}}
	fields := []string{"Cdn-Cache-Control"}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseTargeted(h, fields)
	}
}
