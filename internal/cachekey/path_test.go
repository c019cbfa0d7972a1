package cachekey

import (
	"net/url"
	"strings"
	"testing"
)

// TestEscapedPath: escapedPath agrees with url.URL.EscapedPath for a path
// with each byte value in it, with and without a RawPath, and dotSegment
// with strings.Contains(path, "/.").
func TestEscapedPath(t *testing.T) {
	var paths []string
	for c := range 256 {
		b := string(rune(c))
		if c >= 0x80 {
			b = string([]byte{byte(c)})
		}
		paths = append(paths, "/a"+b, "/"+b+"/x", b)
	}
	paths = append(paths, "", "*", "/", "/a/./b", "/a/../b", "/.a", "/a.b/c.d", "/a/b.", "/a%2fb", "/ä", "/a b")
	for _, p := range paths {
		for _, u := range []*url.URL{{Path: p}, mustParse(t, p)} {
			if u == nil {
				continue
			}
			if got, want := escapedPath(u), u.EscapedPath(); got != want {
				t.Errorf("escapedPath(%+v) = %q, want %q", u, got, want)
			}
		}
		if p != "" && p[0] == '/' {
			if got, want := dotSegment(p), strings.Contains(p, "/."); got != want {
				t.Errorf("dotSegment(%q) = %v, want %v", p, got, want)
			}
		}
	}
}

// mustParse parses p as a request target, or returns nil when it is not one.
func mustParse(t *testing.T, p string) *url.URL {
	t.Helper()
	u, err := url.ParseRequestURI(p)
	if err != nil {
		return nil
	}
	return u
}

// FuzzEscapedPath: escapedPath agrees with url.URL.EscapedPath, and
// dotSegment with strings.Contains(path, "/."), for any path.
func FuzzEscapedPath(f *testing.F) {
	for _, s := range []string{"/a/b", "/a%2Fb", "/./a", "/a/.b", "/a.b", "/a b", "/ä", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		for _, u := range []*url.URL{{Path: p}, mustParse(t, p)} {
			if u == nil {
				continue
			}
			if got, want := escapedPath(u), u.EscapedPath(); got != want {
				t.Fatalf("escapedPath(%+v) = %q, want %q", u, got, want)
			}
		}
		if p != "" && p[0] == '/' {
			if got, want := dotSegment(p), strings.Contains(p, "/."); got != want {
				t.Fatalf("dotSegment(%q) = %v, want %v", p, got, want)
			}
		}
	})
}
