package cachekey

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var (
	drop = Config{DropQuery: []string{"utm_*", "fbclid", "gclid"}}
	sort = Config{SortQuery: true}
	both = Config{DropQuery: []string{"utm_*", "fbclid"}, SortQuery: true}
)

// TestRequest: the key of a request and the target the handler gets,
// which is always the key's (RFC 9110 §4.2.3; SECURITY.md "Poisoning").
func TestRequest(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		host    string
		target  string
		key     string
		fwd     string // the RequestURI passed on
		fwdHost string // "" for host
		same    bool   // r itself is passed on
	}{
		{"plain", Config{}, "example.com", "/a/b", "http://example.com/a/b", "/a/b", "", true},
		{"plain query", Config{}, "example.com", "/a?x=1&y", "http://example.com/a?x=1&y", "/a?x=1&y", "", true},
		{"root", Config{}, "example.com:8080", "/", "http://example.com:8080/", "/", "", true},
		{"host case and default port", Config{}, "Example.COM:80", "/a", "http://example.com/a", "/a", "example.com", false},
		{"dot segments", Config{}, "h", "/a/./b/../c", "http://h/a/c", "/a/c", "", false},
		{"unreserved decoded", Config{}, "h", "/%7Ea?q=%7e", "http://h/~a?q=~", "/~a?q=~", "", false},
		{"reserved kept", Config{}, "h", "/a%2fb?q=%2f", "http://h/a%2Fb?q=%2F", "/a%2Fb?q=%2F", "", false},
		{"empty query dropped", Config{}, "h", "/a?", "http://h/a", "/a?", "", true},
		{"no policy keeps empty params", Config{}, "h", "/a?b=1&&a=2", "http://h/a?b=1&&a=2", "/a?b=1&&a=2", "", true},
		{"malformed host", Config{}, "h h", "/a/../b", "http://h h/a/../b", "/a/../b", "h h", true},

		{"drop exact", drop, "h", "/a?x=1&fbclid=abc&y=2", "http://h/a?x=1&y=2", "/a?x=1&y=2", "", false},
		{"drop prefix", drop, "h", "/a?utm_source=x&utm_medium=y&id=3", "http://h/a?id=3", "/a?id=3", "", false},
		{"drop all", drop, "h", "/a?utm_source=x&gclid=1", "http://h/a", "/a", "", false},
		{"drop encoded name", drop, "h", "/a?utm%5Fsource=x&id=3", "http://h/a?id=3", "/a?id=3", "", false},
		{"drop plus-encoded name", Config{DropQuery: []string{"a b"}}, "h", "/a?a+b=1&c=2", "http://h/a?c=2", "/a?c=2", "", false},
		{"drop keeps other names", drop, "h", "/a?utm=1&xfbclid=2&fbclid2=3", "http://h/a?utm=1&xfbclid=2&fbclid2=3", "/a?utm=1&xfbclid=2&fbclid2=3", "", true},
		{"drop name without value", drop, "h", "/a?fbclid&b", "http://h/a?b", "/a?b", "", false},
		{"drop removes empty params", drop, "h", "/a?b=1&&c=2&", "http://h/a?b=1&c=2", "/a?b=1&c=2", "", false},
		{"drop with normalisation", drop, "Example.com", "/x/../a?utm_id=1&q=%7e", "http://example.com/a?q=~", "/a?q=~", "example.com", false},
		{"drop all stars", Config{DropQuery: []string{"*"}}, "h", "/a?b=1&c=2", "http://h/a", "/a", "", false},
		{"drop, malformed host", drop, "h h", "/a?fbclid=1&b=2", "http://h h/a?b=2", "/a?b=2", "h h", false},

		{"sort", sort, "h", "/a?b=1&a=2", "http://h/a?a=2&b=1", "/a?a=2&b=1", "", false},
		{"sorted already", sort, "h", "/a?a=2&b=1", "http://h/a?a=2&b=1", "/a?a=2&b=1", "", true},
		{"sort is stable", sort, "h", "/a?b=2&a=1&b=1", "http://h/a?a=1&b=2&b=1", "/a?a=1&b=2&b=1", "", false},
		{"sort by name, not value", sort, "h", "/a?a=2&a=1", "http://h/a?a=2&a=1", "/a?a=2&a=1", "", true},
		{"sort decoded names", sort, "h", "/a?%62=1&a=2", "http://h/a?a=2&b=1", "/a?a=2&b=1", "", false},
		{"drop and sort", both, "h", "/a?z=1&utm_x=2&fbclid=3&m=4", "http://h/a?m=4&z=1", "/a?m=4&z=1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Host = tt.host
			p := New(tt.cfg)
			key, fwd := p.Request(r)
			if key != tt.key {
				t.Errorf("key %q, want %q", key, tt.key)
			}
			if fwd.RequestURI != tt.fwd || fwd.URL.RequestURI() != tt.fwd {
				t.Errorf("passed on RequestURI %q, URL %q; want %q", fwd.RequestURI, fwd.URL.RequestURI(), tt.fwd)
			}
			wantHost := tt.fwdHost
			if wantHost == "" {
				wantHost = tt.host
			}
			if fwd.Host != wantHost {
				t.Errorf("passed on Host %q, want %q", fwd.Host, wantHost)
			}
			if (fwd == r) != tt.same {
				t.Errorf("passed on the request itself: %v, want %v", fwd == r, tt.same)
			}
			if r.RequestURI != tt.target {
				t.Errorf("the original request changed: %q", r.RequestURI)
			}
			// The key of what is passed on is the same key.
			if again, _ := p.Request(fwd); again != key {
				t.Errorf("key of the request passed on %q, want %q", again, key)
			}
		})
	}
}

func TestScheme(t *testing.T) {
	server := httptest.NewRequest("GET", "/a", nil)
	tlsServer := httptest.NewRequest("GET", "/a", nil)
	tlsServer.TLS = &tls.ConnectionState{}
	absServer := httptest.NewRequest("GET", "https://h/a", nil) // absolute-form, but no TLS
	absServer.TLS = nil
	client, _ := http.NewRequest("GET", "https://h/a", nil)
	noScheme, _ := http.NewRequest("GET", "/a", nil)
	upper := &http.Request{URL: &url.URL{Scheme: "HTTPS", Host: "h", Path: "/a"}}
	for _, tt := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"server", server, "http"},
		{"server TLS", tlsServer, "https"},
		{"server absolute-form", absServer, "http"},
		{"client", client, "https"},
		{"client without scheme", noScheme, "http"},
		{"client upper case", upper, "https"},
	} {
		if got := Scheme(tt.r); got != tt.want {
			t.Errorf("%s: Scheme = %q, want %q", tt.name, got, tt.want)
		}
	}
	if k, _ := New(Config{}).Request(client); k != "https://h/a" {
		t.Errorf("client request key %q", k)
	}
	if k, _ := New(Config{}).Request(upper); k != "https://h/a" {
		t.Errorf("client request key %q", k)
	}
}

// TestURL: the key of an absolute URL is the key of a request for it, so
// invalidation and purge find what was stored.
func TestURL(t *testing.T) {
	tests := []struct {
		cfg  Config
		url  string
		key  string
		ok   bool
		reqs []string // request targets (Host h) that share the key
	}{
		{Config{}, "http://h/a?b=1", "http://h/a?b=1", true, []string{"/a?b=1", "/x/../a?b=%31"}},
		{Config{}, "HTTP://H:80/%7Ea", "http://h/~a", true, []string{"/~a", "/%7ea"}},
		{Config{}, "https://h:443/a", "https://h/a", true, nil},
		{Config{}, "http://h", "http://h/", true, []string{"/"}},
		{drop, "http://h/a?utm_source=x", "http://h/a", true, []string{"/a", "/a?utm_medium=y", "/a?fbclid=1&utm_x=2"}},
		{drop, "http://h/a?utm_source=x&b=%7e", "http://h/a?b=~", true, []string{"/a?b=~&gclid=3"}},
		{sort, "http://h/a?b=1&a=2", "http://h/a?a=2&b=1", true, []string{"/a?a=2&b=1", "/a?b=1&a=2"}},
		{both, "http://h/./a?b=1&utm_c=3&a=2", "http://h/a?a=2&b=1", true, []string{"/a?utm_z=9&a=2&b=1"}},
	}
	for _, tt := range tests {
		p := New(tt.cfg)
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		key, ok := p.URL(u)
		if key != tt.key || ok != tt.ok {
			t.Errorf("%+v: URL(%q) = %q, %v; want %q, %v", tt.cfg, tt.url, key, ok, tt.key, tt.ok)
		}
		for _, target := range tt.reqs {
			r := httptest.NewRequest("GET", target, nil)
			r.Host = "h"
			if k, _ := p.Request(r); k != tt.key {
				t.Errorf("%+v: request %s has key %q, want %q", tt.cfg, target, k, tt.key)
			}
		}
	}
}

func TestURLNoNormalForm(t *testing.T) {
	u := &url.URL{Scheme: "http", Host: "h:x", Path: "/a/../b", RawQuery: "fbclid=1&c"}
	if key, ok := New(drop).URL(u); ok || key != "http://h:x/a/../b?c" {
		t.Errorf("URL(%v) = %q, %v", u, key, ok)
	}
	if key, ok := New(Config{}).URL(&url.URL{Opaque: "x", Scheme: "http"}); ok {
		t.Errorf("opaque URL: %q, %v", key, ok)
	}
}

func TestQuery(t *testing.T) {
	for _, tt := range []struct {
		cfg     Config
		in, out string
	}{
		{Config{}, "b=1&&a", "b=1&&a"},
		{Config{Cookies: []string{"c"}}, "b=1&&a", "b=1&&a"},
		{sort, "", ""},
		{sort, "&", ""},
		{sort, "c&b=&a=1", "a=1&b=&c"},
		{sort, "a=1;b=2&a=0", "a=1;b=2&a=0"}, // ";" is no separator
		{sort, "b%20=1&b+=2&a", "a&b%20=1&b+=2"},
		{drop, "utm_=1", ""},
		{drop, "UTM_source=1", "UTM_source=1"}, // names are case-sensitive
		{drop, "x=utm_source", "x=utm_source"},
		{drop, "%zz=1&fbclid=2", "%zz=1"},
		{Config{DropQuery: []string{"a*b"}}, "a*b=1&a*bc=2&ab=3", "a*bc=2&ab=3"},
		{Config{DropQuery: []string{"a**"}}, "a*=1&a=2", "a=2"},
	} {
		if got := New(tt.cfg).Query(tt.in); got != tt.out {
			t.Errorf("%+v: Query(%q) = %q, want %q", tt.cfg, tt.in, got, tt.out)
		}
	}
}

func TestNewNil(t *testing.T) {
	if p := New(Config{DropQuery: []string{""}, Cookies: []string{" "}}); p != nil {
		t.Errorf("New of an empty Config = %+v, want nil", p)
	}
	if p := New(Config{Headers: []string{"X-A", "x-a", "X-B"}, Cookies: []string{"b", "a", "b"}}); p == nil ||
		strings.Join(p.headers, ",") != "x-a,x-b" || strings.Join(p.cookies, ",") != "a,b" {
		t.Errorf("New = %+v", p)
	}
}

func TestFields(t *testing.T) {
	get := func(hdr ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Add(hdr[i], hdr[i+1])
		}
		return r
	}
	lang := New(Config{Cookies: []string{"lang"}})
	tenant := New(Config{Headers: []string{"X-Tenant"}})
	var none *Policy
	if f := none.Fields(get("Cookie", "lang=en")); f != "" {
		t.Fatalf("nil policy: Fields = %q", f)
	}
	if f := New(Config{SortQuery: true}).Fields(get("Cookie", "lang=en")); f != "" {
		t.Fatalf("query-only policy: Fields = %q", f)
	}
	f := lang.Fields(get("Cookie", "lang=en"))
	if !strings.HasPrefix(f, "k=") || len(f) != 2+32 || strings.Contains(f, "en") {
		t.Fatalf("Fields = %q: want k= and a hash", f)
	}
	// Same key.
	for _, tt := range []struct {
		p    *Policy
		a, b *http.Request
	}{
		{lang, get("Cookie", "lang=en"), get("Cookie", "a=1; lang=en")},
		{lang, get("Cookie", "lang=en"), get("Cookie", "a=1", "Cookie", `lang="en"`)},
		{lang, get(), get("Cookie", "other=1")},
		{tenant, get("X-Tenant", "a"), get("x-tenant", "a")},
		{tenant, get("X-Tenant", "a, b"), get("X-Tenant", "a", "X-Tenant", "b")}, // a list, as Vary sees it
		{tenant, get("Cookie", "lang=en"), get("Cookie", "lang=fr")},
	} {
		if fa, fb := tt.p.Fields(tt.a), tt.p.Fields(tt.b); fa != fb {
			t.Errorf("%v and %v: different keys", tt.a.Header, tt.b.Header)
		}
	}
	// Different keys.
	for _, tt := range []struct {
		p    *Policy
		a, b *http.Request
	}{
		{lang, get("Cookie", "lang=en"), get("Cookie", "lang=fr")},
		{lang, get("Cookie", "lang="), get()},
		{lang, get("Cookie", "lang=en"), get("Cookie", "lang=en; lang=fr")},
		{lang, get("Cookie", "lang=en; lang=fr"), get("Cookie", "lang=fr; lang=en")},
		{tenant, get("X-Tenant", "a"), get("X-Tenant", "b")},
		{tenant, get("X-Tenant", ""), get()},
	} {
		if fa, fb := tt.p.Fields(tt.a), tt.p.Fields(tt.b); fa == fb {
			t.Errorf("%v and %v: same key %q", tt.a.Header, tt.b.Header, fa)
		}
	}
	// A cookie and a header field of the same name and value are told apart.
	c := New(Config{Cookies: []string{"x"}}).Fields(get("Cookie", "x=1"))
	h := New(Config{Headers: []string{"x"}}).Fields(get("X", "1"))
	if c == h {
		t.Error("cookie and header field give the same key")
	}
}

func TestUser(t *testing.T) {
	if got := User("", false); got != Anonymous {
		t.Errorf("no user: %q", got)
	}
	// The per-user part is what it has always been: existing entries keep
	// their keys.
	if got, want := User("alice", true), "u=2bd806c97f0e00af1a1fc3328fa763a9"; got != want {
		t.Errorf("User(alice) = %q, want %q", got, want)
	}
	if User("alice", true) == User("bob", true) {
		t.Error("two users, one key")
	}
}

func TestVariant(t *testing.T) {
	if got, want := Variant("http://h/a", "N", "u=1", "3:foo-"), "http://h/a\x00v=N\x00u=1\x003:foo-"; got != want {
		t.Errorf("Variant = %q, want %q", got, want)
	}
	for _, tt := range []struct{ user, fields, want string }{
		{"", "", ""},
		{"u=1", "", "u=1"},
		{"", "k=2", "\x00k=2"},
		{Anonymous, "k=2", "-\x00k=2"},
		{"u=1", "k=2", "u=1\x00k=2"},
	} {
		if got := UserFields(tt.user, tt.fields); got != tt.want {
			t.Errorf("UserFields(%q, %q) = %q, want %q", tt.user, tt.fields, got, tt.want)
		}
	}
	// No variant key with key fields is a variant key without them.
	seen := map[string]string{}
	for _, user := range []string{"", Anonymous, "u=1"} {
		for _, fields := range []string{"", "k=2"} {
			for _, sec := range []string{"", "1:a-", "1:a=1:x"} {
				k := Variant("http://h/a", "N", UserFields(user, fields), sec)
				id := user + "|" + fields + "|" + sec
				if other, dup := seen[k]; dup {
					t.Errorf("%s and %s share %q", id, other, k)
				}
				seen[k] = id
			}
		}
	}
}
