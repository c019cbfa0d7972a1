package cachecontrol

import (
	"net/http"
	"testing"
)

func checkDelta(t *testing.T, what string, d Delta) {
	t.Helper()
	if d.Seconds < 0 || d.Seconds > MaxDelta {
		t.Errorf("%s.Seconds = %d, outside [0, %d]", what, d.Seconds, int64(MaxDelta))
	}
	if d.Set && d.Invalid {
		t.Errorf("%s is both Set and Invalid", what)
	}
	if !d.Set && d.Seconds != 0 {
		t.Errorf("%s has Seconds %d but is not Set", what, d.Seconds)
	}
	if dur := d.Duration(); dur < 0 {
		t.Errorf("%s.Duration() = %v < 0", what, dur)
	}
}

func checkFields(t *testing.T, what string, flag bool, fields []string) {
	t.Helper()
	if len(fields) > 0 && !flag {
		t.Errorf("%s fields %q without the directive", what, fields)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if f == "" || http.CanonicalHeaderKey(f) != f || !isToken(f) {
			t.Errorf("%s field %q is not a canonical field name", what, f)
		}
		if seen[f] {
			t.Errorf("%s field %q listed twice", what, f)
		}
		seen[f] = true
	}
}

func checkDirectives(t *testing.T, what string, d Directives) {
	t.Helper()
	checkDelta(t, what+".MaxAge", d.MaxAge)
	checkDelta(t, what+".SMaxAge", d.SMaxAge)
	checkDelta(t, what+".MinFresh", d.MinFresh)
	checkDelta(t, what+".MaxStale", d.MaxStale)
	checkDelta(t, what+".StaleWhileRevalidate", d.StaleWhileRevalidate)
	checkDelta(t, what+".StaleIfError", d.StaleIfError)
	checkFields(t, what+".NoCache", d.NoCache, d.NoCacheFields)
	checkFields(t, what+".Private", d.Private, d.PrivateFields)
	if d.MaxStaleAny && d.MaxStale.Set {
		t.Errorf("%s: MaxStaleAny and MaxStale.Set", what)
	}
	if d.Targeted && !d.Present {
		t.Errorf("%s: Targeted but not Present", what)
	}
}

// FuzzParse checks that no input panics and that parsed directives keep their
// invariants (RFC 9111 §1.2.2: delta-seconds within [0, 2147483648]).
func FuzzParse(f *testing.F) {
	seeds := []string{
		"max-age=60, public",
		`no-cache="a, b", private="x", max-age="3600"`,
		"max-age =3600, max-age= 1, s-maxage=99999999999999999999",
		`extension="max-age=3600, \"x", max-age=1`,
		"max-stale, min-fresh=5, only-if-cached, no-store=?1",
		`a=:YWJj:, b=?1, c=@1659578233, d=%"f%c3%bc", e=1.5, f=-3, g=*tok/x:y, h=(1 "x" y;p=1);q`,
		"max-age=10000, &&&&&",
		`no-cache="`,
		", , ,",
		"MaX-aGe=1;x=2",
	}
	for _, s := range seeds {
		f.Add(s, "")
		f.Add(s, "public")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, lines := range [][]string{{a}, {a, b}} {
			h := http.Header{"Cache-Control": lines, "Cdn-Cache-Control": lines, "Pragma": lines}
			d := Parse(h, "Cache-Control")
			checkDirectives(t, "Parse", d)
			if !d.Present || d.Targeted {
				t.Errorf("Parse(Cache-Control) Present=%v Targeted=%v", d.Present, d.Targeted)
			}
			td := Parse(h, "Cdn-Cache-Control")
			checkDirectives(t, "Parse(targeted)", td)
			if !td.Present {
				t.Errorf("Parse(targeted) not Present")
			}
			pd, used := ParseTargeted(h, []string{"Cdn-Cache-Control"})
			checkDirectives(t, "ParseTargeted", pd)
			if used != pd.Targeted || used != td.Targeted {
				t.Errorf("ParseTargeted used=%v, Targeted=%v, Parse Targeted=%v", used, pd.Targeted, td.Targeted)
			}
			checkDirectives(t, "ParseRequest", ParseRequest(http.Header{"Pragma": lines}))
		}
	})
}
