package conditional

import (
	"strings"
	"testing"
)

func TestParseETag(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ETag
		ok   bool
	}{
		{"RFC9110_8.8.3_strong", `"xyzzy"`, ETag{Opaque: `"xyzzy"`}, true},
		{"RFC9110_8.8.3_weak", `W/"xyzzy"`, ETag{Weak: true, Opaque: `"xyzzy"`}, true},
		{"RFC9110_8.8.3_empty_opaque", `""`, ETag{Opaque: `""`}, true},
		{"RFC9110_8.8.3_weak_empty_opaque", `W/""`, ETag{Weak: true, Opaque: `""`}, true},
		{"RFC9110_8.8.3_obs-text", "\"abcdef\xc3\xbc\"", ETag{Opaque: "\"abcdef\xc3\xbc\""}, true},
		{"RFC9110_8.8.3_etagc_includes_comma", `"a,b"`, ETag{Opaque: `"a,b"`}, true},
		{"RFC9110_8.8.3_etagc_includes_backslash", `"a\b"`, ETag{Opaque: `"a\b"`}, true},
		{"RFC9110_5.6.3_surrounding_OWS_ignored", " \t\"x\" \t", ETag{Opaque: `"x"`}, true},
		{"RFC9110_5.6.3_surrounding_OWS_weak", `  W/"x"  `, ETag{Weak: true, Opaque: `"x"`}, true},
		{"RFC9110_8.8.3_weak_is_case_sensitive", `w/"x"`, ETag{}, false},
		{"RFC9110_8.8.3_unquoted", `xyzzy`, ETag{}, false},
		{"RFC9110_8.8.3_backslash_weak_indicator", `W\"x"`, ETag{}, false},
		{"RFC9110_8.8.3_weak_without_slash", `W"x"`, ETag{}, false},
		{"RFC9110_8.8.3_space_after_W/", `W/ "x"`, ETag{}, false},
		{"RFC9110_8.8.3_inner_DQUOTE", `"a"b"`, ETag{}, false},
		{"RFC9110_8.8.3_inner_space", `"a b"`, ETag{}, false},
		{"RFC9110_8.8.3_inner_control", "\"a\x01b\"", ETag{}, false},
		{"RFC9110_8.8.3_inner_DEL", "\"a\x7fb\"", ETag{}, false},
		{"RFC9110_8.8.3_unterminated", `"abc`, ETag{}, false},
		{"RFC9110_8.8.3_lone_DQUOTE", `"`, ETag{}, false},
		{"RFC9110_8.8.3_weak_only", `W/`, ETag{}, false},
		{"RFC9110_8.8.3_empty", ``, ETag{}, false},
		{"RFC9110_8.8.3_whitespace_only", "  ", ETag{}, false},
		{"RFC9110_8.8.3_list_is_not_one_tag", `"a", "b"`, ETag{}, false},
		{"RFC9110_8.8.3_wildcard_is_not_a_tag", `*`, ETag{}, false},
		{"RFC9110_8.8.3_trailing_garbage", `"a"x`, ETag{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseETag(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("ParseETag(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestETagString(t *testing.T) {
	tests := []struct {
		name string
		in   ETag
		want string
	}{
		{"RFC9110_8.8.3_strong", ETag{Opaque: `"x"`}, `"x"`},
		{"RFC9110_8.8.3_weak_prefix_W/", ETag{Weak: true, Opaque: `"x"`}, `W/"x"`},
		{"RFC9110_8.8.3_zero", ETag{}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Fatalf("String() = %q; want %q", got, tt.want)
			}
		})
	}
}

// TestCompare is Table 3 of RFC 9110 §8.8.3.2 plus edge cases.
func TestCompare(t *testing.T) {
	w := func(s string) ETag { return ETag{Weak: true, Opaque: s} }
	s := func(s string) ETag { return ETag{Opaque: s} }
	tests := []struct {
		name         string
		a, b         ETag
		strong, weak bool
	}{
		{"RFC9110_8.8.3.2_W1_W1", w(`"1"`), w(`"1"`), false, true},
		{"RFC9110_8.8.3.2_W1_W2", w(`"1"`), w(`"2"`), false, false},
		{"RFC9110_8.8.3.2_W1_S1", w(`"1"`), s(`"1"`), false, true},
		{"RFC9110_8.8.3.2_S1_W1", s(`"1"`), w(`"1"`), false, true},
		{"RFC9110_8.8.3.2_S1_S1", s(`"1"`), s(`"1"`), true, true},
		{"RFC9110_8.8.3.2_S1_S2", s(`"1"`), s(`"2"`), false, false},
		{"RFC9110_8.8.3.2_character_by_character_case_sensitive", s(`"a"`), s(`"A"`), false, false},
		{"RFC9110_8.8.3.2_empty_opaque_tags_match", s(`""`), s(`""`), true, true},
		{"RFC9110_8.8.3_zero_ETag_never_matches", ETag{}, ETag{}, false, false},
		{"RFC9110_8.8.3_invalid_opaque_never_matches", s(`x`), s(`x`), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StrongMatch(tt.a, tt.b); got != tt.strong {
				t.Errorf("StrongMatch = %v; want %v", got, tt.strong)
			}
			if got := WeakMatch(tt.a, tt.b); got != tt.weak {
				t.Errorf("WeakMatch = %v; want %v", got, tt.weak)
			}
		})
	}
}

func TestMatchList(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string
		etag   string
		weak   bool
		exists bool
		want   bool
	}{
		// Wildcard.
		{"RFC9110_13.1.1_star_matches_existing_representation", []string{"*"}, `"a"`, false, true, true},
		{"RFC9110_13.1.1_star_without_representation", []string{"*"}, `"a"`, false, false, false},
		{"RFC9110_13.1.2_star_matches_without_ETag", []string{"*"}, ``, true, true, true},
		{"RFC9110_13.1.2_star_with_OWS_and_empty_members", []string{" , * ,", ""}, `"a"`, true, true, true},
		{"RFC9110_13.1.2_star_with_other_member_is_invalid", []string{`*, "b"`}, `"a"`, true, true, false},
		{"RFC9110_13.1.2_star_with_other_member_still_compares_tags", []string{`*, "a"`}, `"a"`, true, true, true},
		{"RFC9110_13.1.2_star_star_is_invalid", []string{"*, *"}, `"a"`, true, true, false},
		{"RFC9110_13.1.2_star_on_two_lines_is_invalid", []string{"*", "*"}, `"a"`, true, true, false},
		// Lists.
		{"RFC9110_13.1.2_single_match", []string{`"abcdef"`}, `"abcdef"`, true, true, true},
		{"RFC9110_13.1.2_list_first", []string{`"abcdef", "1234", "5678"`}, `"abcdef"`, true, true, true},
		{"RFC9110_13.1.2_list_middle", []string{`"1234", "abcdef", "5678"`}, `"abcdef"`, true, true, true},
		{"RFC9110_13.1.2_list_last", []string{`"1234", "5678", "abcdef"`}, `"abcdef"`, true, true, true},
		{"RFC9110_13.1.2_no_member_matches", []string{`"1234", "5678"`}, `"abcdef"`, true, true, false},
		{"RFC9110_5.3_several_field_lines_form_one_list", []string{`"1"`, `"2", "abc"`}, `"abc"`, true, true, true},
		{"RFC9110_5.6.1.2_empty_members_ignored", []string{`,, "1" ,,"abc",`}, `"abc"`, true, true, true},
		{"RFC9110_5.6.1.2_no_OWS_around_commas", []string{`"1","abc"`}, `"abc"`, true, true, true},
		{"RFC9110_8.8.3_comma_inside_opaque_tag", []string{`"x", "a,b"`}, `"a,b"`, true, true, true},
		{"RFC9110_8.8.3_comma_inside_opaque_tag_is_not_a_separator", []string{`"a,b"`}, `"b"`, true, true, false},
		{"RFC9110_8.8.3_obs-text", []string{"\"abcdef\xc3\xbc\""}, "\"abcdef\xc3\xbc\"", true, true, true},
		// Comparison functions.
		{"RFC9110_13.1.2_weak_comparison_W_vs_W", []string{`W/"abcdef"`}, `W/"abcdef"`, true, true, true},
		{"RFC9110_13.1.2_weak_comparison_W_vs_strong", []string{`W/"abcdef"`}, `"abcdef"`, true, true, true},
		{"RFC9110_13.1.2_weak_comparison_strong_vs_W", []string{`"abcdef"`}, `W/"abcdef"`, true, true, true},
		{"RFC9110_13.1.1_strong_comparison_strong_vs_strong", []string{`"abcdef"`}, `"abcdef"`, false, true, true},
		{"RFC9110_13.1.1_strong_comparison_rejects_weak_member", []string{`W/"abcdef"`}, `"abcdef"`, false, true, false},
		{"RFC9110_13.1.1_strong_comparison_rejects_weak_current", []string{`"abcdef"`}, `W/"abcdef"`, false, true, false},
		{"RFC9110_13.1.1_strong_comparison_finds_strong_member_after_weak", []string{`W/"a", "a"`}, `"a"`, false, true, true},
		// Malformed input.
		{"RFC9110_13.1.2_malformed_member_skipped", []string{`junk, "abc"`}, `"abc"`, true, true, true},
		{"RFC9110_13.1.2_unterminated_quote_runs_to_end_of_line", []string{`"abc, "x"`}, `"x"`, true, true, false},
		{"RFC9110_13.1.2_unterminated_quote_confined_to_its_line", []string{`"abc`, `"x"`}, `"x"`, true, true, true},
		{"RFC9110_13.1.2_entirely_malformed_field_does_not_match", []string{`abcdef`}, `"abcdef"`, true, true, false},
		{"RFC9110_8.8.3_unquoted_member_does_not_match_unquoted_ETag", []string{`abcdef`}, `abcdef`, true, true, false},
		{"RFC9110_8.8.3_quoted_member_does_not_match_unquoted_ETag", []string{`"abcdef"`}, `abcdef`, true, true, false},
		{"RFC9110_8.8.3_lowercase_w_is_not_weak", []string{`w/"abcdef"`}, `w/"abcdef"`, true, true, false},
		{"RFC9110_8.8.3_backslash_is_not_weak", []string{`W\"abcdef"`}, `W\"abcdef"`, true, true, false},
		{"RFC9110_8.8.3_missing_slash_is_not_weak", []string{`W"abcdef"`}, `W"abcdef"`, true, true, false},
		{"RFC9110_13.1.2_no_current_ETag", []string{`"a"`}, ``, true, true, false},
		{"RFC9110_13.1.2_empty_field", []string{``}, `"a"`, true, true, false},
		{"RFC9110_13.1.2_no_field_lines", nil, `"a"`, true, true, false},
		{"RFC9110_8.8.3_OWS_around_current_ETag", []string{`"a"`}, ` "a" `, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchList(tt.lines, tt.etag, tt.weak, tt.exists); got != tt.want {
				t.Fatalf("MatchList(%q, %q, weak=%v, exists=%v) = %v; want %v",
					tt.lines, tt.etag, tt.weak, tt.exists, got, tt.want)
			}
		})
	}
}

func TestMatchListDoesNotAllocate(t *testing.T) {
	lines := []string{`"1234", W/"5678"`, `"a,b", "abcdef"`}
	n := testing.AllocsPerRun(100, func() {
		if !MatchList(lines, `W/"abcdef"`, true, true) {
			t.Fatal("no match")
		}
		MatchList(lines, `"abcdef"`, false, true)
		MatchList([]string{"*"}, `"abcdef"`, false, true)
	})
	if n != 0 {
		t.Fatalf("MatchList allocates %v times per run; want 0", n)
	}
}

func BenchmarkMatchList(b *testing.B) {
	cases := []struct {
		name  string
		lines []string
		etag  string
		weak  bool
	}{
		{"single", []string{`"abcdef"`}, `"abcdef"`, true},
		{"list_last_of_5", []string{`"v1", "v2", W/"v3", "v4", "abcdef"`}, `"abcdef"`, true},
		{"miss_long", []string{strings.Repeat(`"0123456789abcdef", `, 16)}, `"abcdef"`, true},
		{"star", []string{`*`}, `"abcdef"`, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MatchList(c.lines, c.etag, c.weak, true)
			}
		})
	}
}

func BenchmarkParseETag(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ParseETag(`W/"0123456789abcdef"`)
	}
}
