package larder_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// echoTarget answers with the target it received, cacheable for a minute,
// and reflects utm_source into the page (the poisoning risk of a key that
// ignores a parameter the page shows).
func echoTarget(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" src="+r.URL.Query().Get("utm_source"))
}

// TestKeyQueryOptions: WithKeyDropQuery and WithKeySortQuery shape the key
// and, the same way, the request the handler gets (SECURITY.md,
// "Poisoning"): what is stored under a key is always the answer for the
// target the key names.
func TestKeyQueryOptions(t *testing.T) {
	drop := larder.WithKeyDropQuery("utm_*", "fbclid", "gclid")
	sortQ := larder.WithKeySortQuery()
	tests := []struct {
		name   string
		opts   []larder.Option
		first  string // stored by the first request
		sees   string // the target the handler gets
		hits   []string
		misses []string
	}{
		{"drop", []larder.Option{drop},
			"/a?utm_source=evil&id=1&fbclid=x", "/a?id=1",
			[]string{"/a?id=1", "/a?id=1&gclid=2", "/a?utm_medium=m&id=1&utm_source=other", "/a?id=1&&utm_x"},
			[]string{"/a?id=2", "/a?id=1&utm=1", "/a?ID=1", "/a"}},
		{"drop every parameter", []larder.Option{larder.WithKeyDropQuery("*")},
			"/a?utm_source=evil&id=1", "/a",
			[]string{"/a", "/a?x=1", "/a?"},
			[]string{"/b"}},
		{"sort", []larder.Option{sortQ},
			"/a?b=1&a=2", "/a?a=2&b=1",
			[]string{"/a?a=2&b=1", "/a?b=1&a=2", "/a?a=2&&b=1"},
			[]string{"/a?a=1&b=2", "/a?a=2"}},
		{"sort keeps the order of one name's values", []larder.Option{sortQ},
			"/a?x=2&b=0&x=1", "/a?b=0&x=2&x=1",
			[]string{"/a?x=2&x=1&b=0"},
			[]string{"/a?x=1&x=2&b=0"}},
		{"drop and sort", []larder.Option{drop, sortQ},
			"/a?z=1&utm_source=evil&y=2", "/a?y=2&z=1",
			[]string{"/a?y=2&z=1", "/a?fbclid=1&z=1&y=2"},
			[]string{"/a?y=2"}},
		{"normalised and dropped", []larder.Option{drop},
			"/x/../a?utm%5Fsource=evil&q=%7e", "/a?q=~",
			[]string{"/a?q=~", "/a?q=%7E"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, echoTarget, tt.opts...)
			defer f.cache.Close()
			want := "GET " + tt.sees + " src="
			if got := f.do("GET", tt.first).Body.String(); got != want {
				t.Fatalf("first response %q, want %q", got, want)
			}
			if r := f.orig.last.Load(); r.RequestURI != tt.sees || r.URL.RequestURI() != tt.sees {
				t.Fatalf("handler got RequestURI %q, URL %q; want %q", r.RequestURI, r.URL.RequestURI(), tt.sees)
			}
			for _, target := range tt.hits {
				w := f.do("GET", target)
				if got := w.Body.String(); got != want {
					t.Errorf("%s: %q, want the stored %q", target, got, want)
				}
			}
			expectCalls(t, f.orig, 1)
			for i, target := range tt.misses {
				if got := f.do("GET", target).Body.String(); got == want {
					t.Errorf("%s: got the response for %s", target, tt.sees)
				}
				expectCalls(t, f.orig, int64(2+i))
			}
		})
	}
}

// TestKeyQueryOptionsUnsafe: unsafe requests get the shaped target too, and
// invalidate the key of the shaped target, and of shaped Location and
// Content-Location URIs (RFC 9111 §4.4).
func TestKeyQueryOptionsUnsafe(t *testing.T) {
	tests := []struct {
		name     string
		opts     []larder.Option
		stored   []string // GET targets stored first
		unsafe   string   // POST target
		sees     string   // what the handler gets for it
		location string   // the POST response's Location
	}{
		{"drop", []larder.Option{larder.WithKeyDropQuery("utm_*")},
			[]string{"/a", "/b?x=1"}, "/a?utm_source=x", "/a", "/b?utm_medium=y&x=1"},
		{"sort", []larder.Option{larder.WithKeySortQuery()},
			[]string{"/a?a=2&b=1", "/b?c=1&d=2"}, "/a?b=1&a=2", "/a?a=2&b=1", "/b?d=2&c=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.Header().Set("Location", "/b?"+strings.TrimPrefix(tt.location, "/b?"))
					w.WriteHeader(http.StatusCreated)
				}
				echoTarget(w, r)
			}, tt.opts...)
			defer f.cache.Close()
			for _, target := range tt.stored {
				f.do("GET", target)
				f.do("GET", target)
			}
			expectCalls(t, f.orig, int64(len(tt.stored)))
			f.do("POST", tt.unsafe)
			if r := f.orig.last.Load(); r.RequestURI != tt.sees {
				t.Fatalf("POST handler got %q, want %q", r.RequestURI, tt.sees)
			}
			for i, target := range tt.stored {
				f.do("GET", target)
				expectCalls(t, f.orig, int64(len(tt.stored)+2+i))
			}
		})
	}
}

// TestKeyQueryOptionsPurge: Purge keys its URL as a request for it would be.
func TestKeyQueryOptionsPurge(t *testing.T) {
	tests := []struct {
		name   string
		opts   []larder.Option
		stored string
		purge  string
	}{
		{"drop", []larder.Option{larder.WithKeyDropQuery("utm_*", "fbclid")}, "/a?id=1", "https://example.com/a?utm_source=x&id=1&fbclid=3"},
		{"sort", []larder.Option{larder.WithKeySortQuery()}, "/a?a=2&b=1", "http://EXAMPLE.com/a?b=1&a=2"},
		{"sort, stored unsorted", []larder.Option{larder.WithKeySortQuery()}, "/a?b=1&a=2", "http://example.com/a?a=2&b=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, echoTarget, tt.opts...)
			defer f.cache.Close()
			f.do("GET", tt.stored)
			f.do("GET", tt.stored)
			expectCalls(t, f.orig, 1)
			if err := f.cache.Purge(context.Background(), tt.purge); err != nil {
				t.Fatal(err)
			}
			f.do("GET", tt.stored)
			expectCalls(t, f.orig, 2)
		})
	}
}

// TestKeyFields: WithKeyCookie and WithKeyHeader store one copy per value,
// as if the responses had Vary on them, without saying so downstream; an
// unsafe request and a purge drop every copy at once.
func TestKeyFields(t *testing.T) {
	type req struct {
		hdr  []string
		want string // the value the response was made for
		hit  bool
	}
	tests := []struct {
		name  string
		opt   larder.Option
		value func(*http.Request) string
		reqs  []req
	}{
		{"cookie", larder.WithKeyCookie("lang"),
			func(r *http.Request) string {
				if c, err := r.Cookie("lang"); err == nil {
					return c.Value
				}
				return "none"
			},
			[]req{
				{[]string{"Cookie", "lang=en"}, "en", false},
				{[]string{"Cookie", "lang=fr"}, "fr", false},
				{[]string{"Cookie", "session=1; lang=en"}, "en", true},
				{nil, "none", false},
				{[]string{"Cookie", "session=2"}, "none", true},
				{[]string{"Cookie", "lang="}, "", false},
				{[]string{"Cookie", "lang=fr"}, "fr", true},
			}},
		{"header", larder.WithKeyHeader("X-Tenant"),
			func(r *http.Request) string {
				if v, ok := r.Header["X-Tenant"]; ok {
					return strings.Join(v, ",")
				}
				return "none"
			},
			[]req{
				{[]string{"X-Tenant", "acme"}, "acme", false},
				{[]string{"X-Tenant", "globex"}, "globex", false},
				{[]string{"X-Tenant", "acme", "X-Other", "1"}, "acme", true},
				{nil, "none", false},
				{[]string{"X-Tenant", ""}, "", false},
				{[]string{"X-Tenant", "globex"}, "globex", true},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				_, _ = io.WriteString(w, "for "+tt.value(r))
			}, tt.opt)
			defer f.cache.Close()
			check := func(round string) {
				t.Helper()
				for _, q := range tt.reqs {
					before := f.orig.n()
					w := f.do("GET", "/page", q.hdr...)
					if got := w.Body.String(); got != "for "+q.want {
						t.Fatalf("%s %v: %q, want %q", round, q.hdr, got, "for "+q.want)
					}
					if hit := f.orig.n() == before; hit != q.hit {
						t.Errorf("%s %v: hit %v, want %v (%s)", round, q.hdr, hit, q.hit, w.Header().Get("Cache-Status"))
					}
					if v := w.Header().Values("Vary"); len(v) != 0 {
						t.Errorf("Vary %q sent downstream", v)
					}
				}
			}
			check("first")
			// Every copy hits now.
			n := f.orig.n()
			for _, q := range tt.reqs {
				f.do("GET", "/page", q.hdr...)
			}
			expectCalls(t, f.orig, n)

			// An unsafe request drops them all.
			f.do("POST", "/page")
			n = f.orig.n()
			for _, q := range tt.reqs {
				f.do("GET", "/page", q.hdr...)
			}
			if f.orig.n() == n {
				t.Fatal("nothing invalidated")
			}
			if misses := f.orig.n() - n; misses != int64(distinct(tt.reqs, func(q req) string { return q.want })) {
				t.Errorf("after invalidation: %d misses, want one per value", misses)
			}
			// And so does a purge.
			if err := f.cache.Purge(context.Background(), "http://example.com/page"); err != nil {
				t.Fatal(err)
			}
			n = f.orig.n()
			for _, q := range tt.reqs {
				f.do("GET", "/page", q.hdr...)
			}
			if misses := f.orig.n() - n; misses != int64(distinct(tt.reqs, func(q req) string { return q.want })) {
				t.Errorf("after purge: %d misses, want one per value", misses)
			}
		})
	}
}

func distinct[T any](xs []T, key func(T) string) int {
	seen := map[string]bool{}
	for _, x := range xs {
		seen[key(x)] = true
	}
	return len(seen)
}

// TestKeyFieldsWithVary: key fields and the response's own Vary combine.
func TestKeyFieldsWithVary(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		c, _ := r.Cookie("cur")
		_, _ = io.WriteString(w, c.Value+"/"+r.Header.Get("Accept-Language"))
	}, larder.WithKeyCookie("cur"))
	defer f.cache.Close()
	for round := range 2 {
		for _, cur := range []string{"eur", "usd"} {
			for _, lang := range []string{"en", "fr"} {
				if got := f.do("GET", "/p", "Cookie", "cur="+cur, "Accept-Language", lang).Body.String(); got != cur+"/"+lang {
					t.Fatalf("round %d: %s %s got %q", round, cur, lang, got)
				}
			}
		}
	}
	expectCalls(t, f.orig, 4)
}

// TestKeyFieldsNotCollapsed: concurrent misses with different key field
// values are not given one another's response (request coalescing keys its
// flights as the store does).
func TestKeyFieldsNotCollapsed(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(1)
	var once sync.Once
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(started.Done)
		<-release
		w.Header().Set("Cache-Control", "public, max-age=60")
		c, _ := r.Cookie("lang")
		_, _ = io.WriteString(w, "for "+c.Value)
	}, larder.WithKeyCookie("lang"))
	defer f.cache.Close()
	langs := []string{"en", "fr", "de", "en", "fr"}
	got := make([]string, len(langs))
	var wg sync.WaitGroup
	for i, l := range langs {
		if i == 1 {
			started.Wait() // the first is the leader of its flight
		}
		wg.Go(func() { got[i] = f.do("GET", "/p", "Cookie", "lang="+l).Body.String() })
	}
	time.Sleep(20 * time.Millisecond) // let them all join or lead their flights
	close(release)
	wg.Wait()
	for i, l := range langs {
		if got[i] != "for "+l {
			t.Errorf("lang=%s got %q", l, got[i])
		}
	}
}

// TestKeyFieldsStayShared: key fields do not make a shared cache a private
// one: a private response is still not stored, and a response to a request
// with Cookie is stored only when explicitly cacheable.
func TestKeyFieldsStayShared(t *testing.T) {
	for _, cc := range []string{"private, max-age=60", ""} {
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			if cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
			w.Header().Set("Last-Modified", httpDate(time.Now().Add(-time.Hour)))
			_, _ = io.WriteString(w, "x")
		}, larder.WithKeyCookie("lang"))
		f.do("GET", "/p", "Cookie", "lang=en")
		f.do("GET", "/p", "Cookie", "lang=en")
		expectCalls(t, f.orig, 2)
		f.cache.Close()
	}
}

// TestPerUserKeysUnchanged: without key options, a per-user route's
// variant keys are what they were (primary, the index nonce, "u=" and the
// user's hash, the secondary key), so stored entries keep their keys; with
// key fields, each user still gets only their own copies.
func TestPerUserKeysUnchanged(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		_, _ = io.WriteString(w, "page of "+r.Header.Get("Authorization"))
	}).route(larder.PerUser(larder.UserHeader("Authorization")))
	defer f.cache.Close()
	f.do("GET", "/me", "Authorization", "alice")
	sum := sha256.Sum256([]byte("alice"))
	user := "\x00u=" + hex.EncodeToString(sum[:16]) + "\x00"
	found := false
	f.store.mu.Lock()
	for k := range f.store.m {
		if strings.HasPrefix(k, "http://example.com/me\x00v=") && strings.HasSuffix(k, user) {
			found = true
		}
	}
	f.store.mu.Unlock()
	if !found {
		t.Fatalf("no key ending in %q among %q", user, keysOf(f.store))
	}

	g := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		c, _ := r.Cookie("lang")
		_, _ = io.WriteString(w, "page of "+r.Header.Get("Authorization")+" in "+c.Value)
	}, larder.WithKeyCookie("lang")).route(larder.PerUser(larder.UserHeader("Authorization")))
	defer g.cache.Close()
	for range 2 {
		for _, u := range []string{"alice", "bob"} {
			for _, l := range []string{"en", "fr"} {
				if got := g.do("GET", "/me", "Authorization", u, "Cookie", "lang="+l).Body.String(); got != "page of "+u+" in "+l {
					t.Fatalf("%s %s got %q", u, l, got)
				}
			}
		}
	}
	expectCalls(t, g.orig, 4)
}

func keysOf(s *mapStore) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ks []string
	for k := range s.m {
		ks = append(ks, k)
	}
	return ks
}

// TestClientRequestScheme: a request that did not come through a server
// (no RequestURI), as a client-side cache sees it, is keyed with its URL's
// scheme.
func TestClientRequestScheme(t *testing.T) {
	f := newFixture(t, echoTarget)
	defer f.cache.Close()
	r, _ := http.NewRequest("GET", "https://example.com/a", nil)
	f.h.ServeHTTP(httptest.NewRecorder(), r)
	if ks := keysOf(f.store); len(ks) != 1 || ks[0] != "https://example.com/a" {
		t.Fatalf("keys %q, want the https URL", ks)
	}
	if err := f.cache.Purge(context.Background(), "http://example.com/a"); err != nil {
		t.Fatal(err)
	}
	if f.store.len() != 0 {
		t.Fatalf("purge left %q", keysOf(f.store))
	}
}
