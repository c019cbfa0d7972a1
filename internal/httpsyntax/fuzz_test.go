package httpsyntax

import (
	"slices"
	"strings"
	"testing"
)

// FuzzListElements compares ListElements with refListElements over two field
// lines, and checks that stopping after stop elements yields their prefix.
func FuzzListElements(f *testing.F) {
	f.Add("a, b", "c", uint8(255))
	f.Add(" , a ,, b ,", "\t", uint8(1))
	f.Add(`no-cache="a, b", max-age=5`, "", uint8(2))
	f.Add(",,,", " ,\t, ", uint8(0))
	f.Add("a\r, b\v", "\u00a0c", uint8(3))
	f.Fuzz(func(t *testing.T, a, b string, stop uint8) {
		lines := []string{a, b}
		want := refListElements(lines)
		var got []string
		for e := range ListElements(lines) {
			if e == "" || e != TrimOWS(e) || strings.IndexByte(e, ',') >= 0 {
				t.Fatalf("ListElements(%q) yielded %q", lines, e)
			}
			got = append(got, e)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ListElements(%q) = %q, reference %q", lines, got, want)
		}
		n := int(stop) % (len(want) + 1)
		var prefix []string
		for e := range ListElements(lines) {
			if len(prefix) == n {
				break
			}
			prefix = append(prefix, e)
		}
		if !slices.Equal(prefix, want[:n]) {
			t.Fatalf("first %d of ListElements(%q) = %q, want %q", n, lines, prefix, want[:n])
		}
	})
}

// FuzzTokenOWS compares IsToken and TrimOWS with their definitions.
func FuzzTokenOWS(f *testing.F) {
	for _, s := range []string{"", "max-age", "a b", " \tx\t ", "\r\n", "caf\xc3\xa9", `"q"`, "~|`^_.-+*'&%$#!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s != ""
		for i := 0; i < len(s); i++ {
			want = want && refIsTchar(s[i])
		}
		if got := IsToken(s); got != want {
			t.Fatalf("IsToken(%q) = %v, want %v", s, got, want)
		}
		if got, want := TrimOWS(s), strings.Trim(s, " \t"); got != want {
			t.Fatalf("TrimOWS(%q) = %q, want %q", s, got, want)
		}
	})
}
