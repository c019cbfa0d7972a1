package invalidation

import (
	"net/http"
	"net/url"
	"testing"
)

func FuzzTargets(f *testing.F) {
	f.Add("http://example.com/a?b", "/c", "d#e")
	f.Add("HTTPS://EXAMPLE.com:443/%7e/./x", "//other/x", "https://example.com:0443/y")
	f.Add("http://[::1]:8080/", "http://[::1]:8080/%2e%2E/z", "?q=%41")
	f.Fuzz(func(t *testing.T, target, loc, cl string) {
		u, err := url.Parse(target)
		if err != nil {
			return
		}
		got := Targets(u, http.Header{"Location": {loc}, "Content-Location": {cl}})
		self, ok := Normalize(u)
		if !ok {
			if got != nil {
				t.Fatalf("Targets(%q) = %q for an unusable target", target, got)
			}
			return
		}
		if len(got) == 0 || got[0] != self {
			t.Fatalf("Targets(%q) = %q; first must be %q", target, got, self)
		}
		seen := map[string]bool{}
		for _, s := range got {
			if seen[s] {
				t.Fatalf("duplicate %q in %q", s, got)
			}
			seen[s] = true
			v, err := url.Parse(s)
			if err != nil {
				continue
			}
			// RFC 9111 §4.4: never another origin.
			if !sameOrigin(u, v) {
				t.Fatalf("%q is not same-origin with %q", s, target)
			}
			// Normalize is idempotent.
			if again, ok := Normalize(v); !ok || again != s {
				t.Fatalf("Normalize(%q) = %q, %v; not idempotent", s, again, ok)
			}
		}
	})
}
