package httpsyntax

import (
	"slices"
	"strings"
	"testing"
)

// refIsTchar is tchar as RFC 9110 §5.6.2 describes it in prose: any VCHAR
// (%x21-7E, RFC 5234 Appendix B.1) except the delimiters.
func refIsTchar(c byte) bool {
	return c >= 0x21 && c <= 0x7e && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
}

// refListElements is the reference #rule splitter (RFC 9110 §5.6.1): split
// every line at every comma, trim SP and HTAB, drop empty elements.
func refListElements(lines []string) []string {
	var out []string
	for _, line := range lines {
		for _, e := range strings.Split(line, ",") {
			if e = strings.Trim(e, " \t"); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

func TestIsTchar(t *testing.T) {
	// The ABNF of RFC 9110 §5.6.2, spelled out.
	abnf := "!#$%&'*+-.^_`|~0123456789" +
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for c := range 256 {
		b := byte(c)
		want := strings.IndexByte(abnf, b) >= 0
		if got := IsTchar(b); got != want {
			t.Errorf("IsTchar(%#02x) = %v, want %v", b, got, want)
		}
		if want != refIsTchar(b) {
			t.Errorf("RFC 9110 §5.6.2 ABNF and prose disagree on %#02x", b)
		}
	}
}

func TestIsToken(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"RFC9110_5.6.2_empty_is_not_a_token", "", false},
		{"RFC9110_5.6.2_field_name", "Cache-Control", true},
		{"RFC9110_5.6.2_all_specials", "!#$%&'*+-.^_`|~", true},
		{"RFC9110_5.6.2_digits", "0123456789", true},
		{"RFC9110_5.6.2_single_star", "*", true},
		{"RFC9110_5.6.2_space", "a b", false},
		{"RFC9110_5.6.2_htab", "a\tb", false},
		{"RFC9110_5.6.2_comma", "a,b", false},
		{"RFC9110_5.6.2_dquote", `"a"`, false},
		{"RFC9110_5.6.2_slash", "a/b", false},
		{"RFC9110_5.6.2_equals", "a=b", false},
		{"RFC9110_5.6.2_semicolon", "a;b", false},
		{"RFC9110_5.6.2_colon", "a:b", false},
		{"RFC9110_5.6.2_braces", "{a}", false},
		{"RFC9110_5.6.2_DEL", "a\x7f", false},
		{"RFC9110_5.6.2_NUL", "a\x00", false},
		{"RFC9110_5.5_obs_text", "caf\xc3\xa9", false},
		{"RFC9110_5.6.2_trailing_CR", "a\r", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsToken(tt.s); got != tt.want {
				t.Errorf("IsToken(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestTrimOWS(t *testing.T) {
	tests := []struct {
		name, s, want string
	}{
		{"empty", "", ""},
		{"RFC9110_5.6.3_only_OWS", " \t \t", ""},
		{"RFC9110_5.6.3_SP", "  a  ", "a"},
		{"RFC9110_5.6.3_HTAB", "\ta\t", "a"},
		{"RFC9110_5.6.3_mixed", " \t a b \t ", "a b"},
		{"RFC9110_5.6.3_inner_OWS_kept", "a \t b", "a \t b"},
		{"RFC9110_5.6.3_CR_LF_not_OWS", "\r\na\r\n", "\r\na\r\n"},
		{"RFC9110_5.6.3_VT_FF_not_OWS", "\va\f", "\va\f"},
		{"RFC9110_5.6.3_NBSP_not_OWS", "\u00a0a\u00a0", "\u00a0a\u00a0"},
		{"RFC9110_5.6.3_CR_stops_trimming", " \r a", "\r a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TrimOWS(tt.s); got != tt.want {
				t.Errorf("TrimOWS(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestListElements(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"no_lines", nil, nil},
		{"RFC9110_5.6.1.2_empty_line", []string{""}, nil},
		{"RFC9110_5.6.1.2_only_commas", []string{",,,"}, nil},
		{"RFC9110_5.6.1.2_only_OWS_and_commas", []string{" , \t ,", "\t"}, nil},
		{"RFC9110_5.6.1_single", []string{"a"}, []string{"a"}},
		{"RFC9110_5.6.1_no_OWS", []string{"a,b,c"}, []string{"a", "b", "c"}},
		{"RFC9110_5.6.1_OWS_around_commas", []string{"a , b\t,\tc"}, []string{"a", "b", "c"}},
		// The two examples of RFC 9110 §5.6.1.2.
		{"RFC9110_5.6.1.2_example_foo_bar", []string{"foo,bar"}, []string{"foo", "bar"}},
		{"RFC9110_5.6.1.2_example_empty_elements", []string{",", ",   ,"}, nil},
		{"RFC9110_5.6.1.2_example_example_list", []string{"foo ,bar,", "foo , ,bar,charlie"},
			[]string{"foo", "bar", "foo", "bar", "charlie"}},
		{"RFC9110_5.3_lines_combine", []string{"a", "", " b ,", "c"}, []string{"a", "b", "c"}},
		{"RFC9110_5.6.1_inner_OWS_kept", []string{"a b , c\td"}, []string{"a b", "c\td"}},
		{"RFC9110_5.6.3_CR_not_trimmed", []string{"a\r, b"}, []string{"a\r", "b"}},
		// Quoted-strings are not recognised: every comma separates.
		{"quoted_string_split_at_comma", []string{`a="x, y", b`}, []string{`a="x`, `y"`, "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Collect(ListElements(tt.lines))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListElements(%q) = %q, want %q", tt.lines, got, tt.want)
			}
			if ref := refListElements(tt.lines); !slices.Equal(ref, tt.want) {
				t.Errorf("reference(%q) = %q, want %q", tt.lines, ref, tt.want)
			}
		})
	}
}

func TestListElementsStops(t *testing.T) {
	lines := []string{"a, b", "c, d"}
	var got []string
	for e := range ListElements(lines) {
		got = append(got, e)
		if e == "c" {
			break
		}
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// firstElement and hasElement are the shapes of the callers in this module.
func firstElement(lines []string) string {
	for e := range ListElements(lines) {
		return e
	}
	return ""
}

func hasElement(lines []string, want string) bool {
	for e := range ListElements(lines) {
		if e == want {
			return true
		}
	}
	return false
}

func TestNoAllocations(t *testing.T) {
	lines := []string{" , gzip, deflate ,", "br"}
	one := "x-a, x-b, no-cache"
	var sink int
	cases := []struct {
		name string
		run  func()
	}{
		{"IsToken", func() {
			if IsToken("Cache-Control") {
				sink++
			}
		}},
		{"TrimOWS", func() { sink += len(TrimOWS(" \tabc\t ")) }},
		{"range_all", func() {
			for e := range ListElements(lines) {
				sink += len(e)
			}
		}},
		{"range_break", func() { sink += len(firstElement(lines)) }},
		{"range_return", func() {
			if hasElement(lines, "deflate") {
				sink++
			}
		}},
		{"one_string_slice_literal", func() {
			for e := range ListElements([]string{one}) {
				sink += len(e)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, c.run); n != 0 {
				t.Errorf("%v allocations, want 0", n)
			}
		})
	}
	_ = sink
}

var benchLines = []string{"public, max-age=60, stale-while-revalidate=30", " , Accept-Encoding ,Origin"}

func BenchmarkListElements(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for e := range ListElements(benchLines) {
			n += len(e)
		}
	}
}

// BenchmarkListElementsManual is the hand-written loop that ListElements
// replaces in the callers, for comparison.
func BenchmarkListElementsManual(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, line := range benchLines {
			for line != "" {
				var e string
				if i := strings.IndexByte(line, ','); i >= 0 {
					e, line = line[:i], line[i+1:]
				} else {
					e, line = line, ""
				}
				if e = TrimOWS(e); e != "" {
					n += len(e)
				}
			}
		}
	}
}

func BenchmarkIsToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = IsToken("Stale-While-Revalidate")
	}
}
