package cachekey

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/larder-cache/larder/internal/invalidation"
)

// FuzzRequest checks the key against the request passed on, for any target
// and policy:
//
//   - the key names exactly the target passed on, so the handler never
//     answers a target other than the key's (RFC 9110 §4.2.3);
//   - that request has the same key and needs no change (a fixed point);
//   - no dropped parameter is passed on, and with sorting the names are in
//     order;
//   - when the target has a normal form, URL of the key gives the key back
//     (invalidation and purge find it), and so does invalidation.Normalize
//     without a policy;
//   - the fast path agrees with the full normalisation.
func FuzzRequest(f *testing.F) {
	f.Add("example.com", "/a/b?c=1", "", false)
	f.Add("Example.COM:80", "/x/../a/%7e?utm_source=1&b=%2f&a", "utm_*,fbclid", true)
	f.Add("h:0443", "/a/./b?&&z=1&y", "*", false)
	f.Add("[::1]:8080", "/%2e%2E/%2F?q=%41&Q", "q", true)
	f.Add("h h", "/a?b+c=1&b%20c=2&b c=3", "b c", true)
	f.Add("h", "/a?b#c&a=1", "", true)
	f.Add("h", "/?%%30a", "", false)
	f.Fuzz(func(t *testing.T, host, target, dropList string, sortQuery bool) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" || u.Scheme != "" {
			return
		}
		r := &http.Request{Method: "GET", URL: u, Host: host, RequestURI: target, Header: http.Header{}}
		var dropped []string
		if dropList != "" {
			dropped = strings.Split(dropList, ",")
		}
		p := New(Config{DropQuery: dropped, SortQuery: sortQuery})
		key, fwd := p.Request(r)

		// AppendRequest: the same key, when the target is in its form.
		if b, ok := p.AppendRequest([]byte("x"), r); ok {
			if string(b) != "x"+key || fwd != r {
				t.Fatalf("%s %q: AppendRequest %q, Request %q (request passed on changed: %v)", host, target, b[1:], key, fwd != r)
			}
		} else if string(b) != "x" {
			t.Fatalf("%s %q: AppendRequest changed dst to %q and reported false", host, target, b)
		}

		// The key is the target passed on.
		q := fwd.URL.RawQuery
		want := "http://" + fwd.Host + fwd.URL.EscapedPath()
		if q != "" {
			want += "?" + q
		}
		if key != want {
			t.Fatalf("%s %q: key %q, but %q is passed on", host, target, key, want)
		}
		if fwd != r && fwd.RequestURI != fwd.URL.RequestURI() {
			t.Fatalf("RequestURI %q, URL %q", fwd.RequestURI, fwd.URL.RequestURI())
		}

		if strayPercent(target) {
			// invalidation.Normalize is not idempotent on malformed escapes:
			// decoding "%30" in "%%30a" makes a new escape, "%0a", that a
			// second pass upper-cases. The key is still what is passed on.
			return
		}

		// A fixed point.
		again, same := p.Request(fwd)
		if again != key || same.Host != fwd.Host || same.URL.String() != fwd.URL.String() {
			t.Fatalf("%s %q: key %q, then %q for %q", host, target, key, again, fwd.URL)
		}

		// Dropped parameters are gone, sorted names in order.
		if p.rewritesQuery() && q != "" {
			prev := ""
			forEachParam(q, func(seg, name string) bool {
				if d, err := url.QueryUnescape(name); err == nil {
					name = d
				}
				if seg == "" {
					t.Fatalf("empty parameter in %q", q)
				}
				if p.drops(name) {
					t.Fatalf("dropped %q passed on in %q", name, q)
				}
				if p.sort && name < prev {
					t.Fatalf("%q not sorted", q)
				}
				prev = name
				return true
			})
		}

		// Invalidation and purge find the key.
		v := url.URL{Scheme: "http", Host: host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
		norm, ok := invalidation.Normalize(&v)
		if !ok {
			return
		}
		if p == nil && norm != key {
			t.Fatalf("%s %q: key %q, Normalize %q", host, target, key, norm)
		}
		ku, err := url.Parse(key)
		if err != nil || strings.Contains(key, "#") || ku.Host != fwd.Host {
			return // a "#" in the query, a "%" in the host: no URL names this key
		}
		if k, ok := p.URL(ku); !ok || k != key {
			t.Fatalf("URL(%q) = %q, %v", key, k, ok)
		}
		if k, ok := p.URL(&v); !ok || k != key {
			t.Fatalf("URL(%q) = %q, %v; want the request's key %q", v.String(), k, ok, key)
		}
	})
}

// strayPercent reports whether s has a "%" not followed by two hex digits.
func strayPercent(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// FuzzQuery checks that Query is idempotent, keeps every parameter it does
// not drop, and that keepsQuery never claims a change is not needed.
func FuzzQuery(f *testing.F) {
	f.Add("b=1&a=2&utm_x=3", "utm_*", true)
	f.Add("&&a&", "", true)
	f.Add("a+b=1&a%20b=2&%zz", "a b", false)
	f.Fuzz(func(t *testing.T, q, dropList string, sortQuery bool) {
		p := New(Config{DropQuery: strings.Split(dropList, ","), SortQuery: sortQuery})
		out := p.Query(q)
		if again := p.Query(out); again != out {
			t.Fatalf("Query(%q) = %q, then %q", q, out, again)
		}
		if p.keepsQuery(q) && out != q {
			t.Fatalf("keepsQuery(%q), but Query changes it to %q", q, out)
		}
		kept := 0
		forEachParam(q, func(seg, name string) bool {
			if d, err := url.QueryUnescape(name); err == nil {
				name = d
			}
			if seg != "" && !p.drops(name) {
				kept++
			}
			return true
		})
		if !p.rewritesQuery() {
			if out != q {
				t.Fatalf("no policy, Query(%q) = %q", q, out)
			}
			return
		}
		got := 0
		if out != "" {
			got = strings.Count(out, "&") + 1
		}
		if got != kept {
			t.Fatalf("Query(%q) = %q: %d parameters, want %d", q, out, got, kept)
		}
	})
}
