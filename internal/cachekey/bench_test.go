package cachekey

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

var sink string

// BenchmarkKey measures the primary key of a request (the hit path's first
// step): a plain target takes one allocation, the key, with or without a
// query policy that leaves it alone.
func BenchmarkKey(b *testing.B) {
	for _, tc := range []struct {
		name, target string
		cfg          Config
	}{
		{"plain", "/users/42/profile", Config{}},
		{"plain-query", "/search?q=shoes&page=2", Config{}},
		{"plain-query-policy", "/search?page=2&q=shoes", Config{DropQuery: []string{"utm_*", "fbclid", "gclid"}, SortQuery: true}},
		{"drop", "/search?q=shoes&utm_source=x&page=2", Config{DropQuery: []string{"utm_*", "fbclid", "gclid"}}},
		{"sort", "/search?q=shoes&page=2", Config{SortQuery: true}},
		{"normalise", "/a/./b/%7Ec?x=%7e", Config{}},
	} {
		r := httptest.NewRequest("GET", "http://example.com"+tc.target, nil)
		p := New(tc.cfg)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = p.Request(r)
			}
		})
	}
	// A client's request (a Transport's): no RequestURI, the URL parsed
	// from an absolute one.
	cr, _ := http.NewRequest("GET", "https://api.example.com/repos/larder-cache/larder/issues/12?per_page=100", nil)
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink, _ = (*Policy)(nil).Request(cr)
		}
	})
	u, _ := url.Parse("http://example.com/search?q=shoes&page=2")
	b.Run("url", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink, _ = (*Policy)(nil).URL(u)
		}
	})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session=abc; lang=en")
	r.Header.Set("X-Tenant", "acme")
	p := New(Config{Cookies: []string{"lang"}, Headers: []string{"X-Tenant"}})
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = p.Fields(r)
		}
	})
}

// TestPlainAllocs: a target in normal form that the policy leaves alone
// costs one allocation, the key, as before this package (the hit path).
func TestPlainAllocs(t *testing.T) {
	r := httptest.NewRequest("GET", "/search?page=2&q=shoes", nil)
	u, _ := url.Parse("http://example.com/search?page=2&q=shoes")
	for _, cfg := range []Config{{}, {DropQuery: []string{"utm_*", "fbclid"}, SortQuery: true}, {Cookies: []string{"lang"}}} {
		p := New(cfg)
		if n := testing.AllocsPerRun(100, func() { sink, _ = p.Request(r) }); n != 1 {
			t.Errorf("%+v: Request makes %v allocations, want 1", cfg, n)
		}
		if n := testing.AllocsPerRun(100, func() { sink, _ = p.URL(u) }); n != 1 {
			t.Errorf("%+v: URL makes %v allocations, want 1", cfg, n)
		}
		if n := testing.AllocsPerRun(100, func() { sink = p.Query(u.RawQuery) }); n != 0 {
			t.Errorf("%+v: Query makes %v allocations, want 0", cfg, n)
		}
	}
}
