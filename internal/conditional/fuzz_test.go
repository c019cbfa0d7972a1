package conditional

import (
	"strings"
	"testing"
)

func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`"x"`, `W/"x"`, `""`, ` W/"" `, `w/"x"`, `x`, `"`, `W/`, "\"\xff\"", `"a,b"`, `*`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := ParseETag(s)
		if !ok {
			if e != (ETag{}) {
				t.Fatalf("failed parse returned %+v", e)
			}
			return
		}
		o := e.Opaque
		if len(o) < 2 || o[0] != '"' || o[len(o)-1] != '"' {
			t.Fatalf("Opaque %q is not quoted", o)
		}
		if !strings.Contains(s, o) {
			t.Fatalf("Opaque %q not a substring of %q", o, s)
		}
		// Round trip.
		e2, ok := ParseETag(e.String())
		if !ok || e2 != e {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v, %v", s, e, e.String(), e2, ok)
		}
		if !WeakMatch(e, e) || StrongMatch(e, e) == e.Weak {
			t.Fatalf("self comparison wrong for %+v", e)
		}
	})
}

func FuzzMatchList(f *testing.F) {
	f.Add(`"a", W/"b"`, `"b"`, `W/"b"`)
	f.Add(`*`, ``, `"x"`)
	f.Add(`"a,b", junk`, `*, "c"`, `"a,b"`)
	f.Add(`"unterminated`, `"x"`, `"x"`)
	f.Fuzz(func(t *testing.T, l1, l2, etag string) {
		lines := []string{l1, l2}
		for _, exists := range []bool{false, true} {
			strong := MatchList(lines, etag, false, exists)
			weak := MatchList(lines, etag, true, exists)
			// Whatever passes the strong comparison passes the weak one (RFC 9110 §8.8.3.2).
			if strong && !weak {
				t.Fatalf("strong match without weak match: %q vs %q", lines, etag)
			}
			// Without a representation only a list can match, and only a valid current tag.
			if _, ok := ParseETag(etag); !ok && weak && !isWildcard(lines) {
				t.Fatalf("match against invalid current tag %q", etag)
			}
		}
		// A valid tag on its own field line always matches itself (weakly),
		// whatever the other lines hold.
		if cur, ok := ParseETag(etag); ok {
			if !MatchList([]string{l1, etag, l2}, etag, true, true) {
				t.Fatalf("%q does not match itself among %q", etag, lines)
			}
			if !cur.Weak && !MatchList([]string{l1, cur.Opaque}, etag, false, true) {
				t.Fatalf("strong %q does not strongly match itself", etag)
			}
		}
	})
}
