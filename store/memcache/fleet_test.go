package memcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memcache"
)

// origin serves every GET with a public response for a minute whose body
// names the path, its version and its call; a POST bumps the path's version
// and answers 204. /vary/ responses vary on Accept-Language.
type origin struct {
	calls    atomic.Int64
	versions [8]atomic.Int64 // by the path's last byte, modulo 8
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.calls.Add(1)
	v := &o.versions[r.URL.Path[len(r.URL.Path)-1]%8]
	if r.Method == http.MethodPost {
		v.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	body := fmt.Sprintf("%s v%d call %d", r.URL.Path, v.Load(), n)
	if strings.HasPrefix(r.URL.Path, "/vary/") {
		w.Header().Set("Vary", "Accept-Language")
		body += " lang " + r.Header.Get("Accept-Language")
	}
	fmt.Fprint(w, body)
}

// node is one larder process of a fleet: a cache on a store of its own
// (its own gomemcache client) on the shared servers.
type node struct {
	name  string
	store *memcache.Store
	cache *larder.Cache
	h     http.Handler
}

func newNode(t *testing.T, name string, addrs []string, p string, o *origin) *node {
	t.Helper()
	s := newStore(t, addrs, memcache.Options{Prefix: p})
	c := larder.New(s)
	t.Cleanup(func() { _ = c.Close() })
	return &node{name: name, store: s, cache: c, h: c.Middleware(o)}
}

// do serves one request and, so that the next request, on any node, sees
// its store writes (written behind the response), waits for them.
func (n *node) do(t *testing.T, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	n.h.ServeHTTP(w, r)
	_ = n.cache.Close() // flushes the write-behind queue; the cache stays usable
	return w
}

func hit(w *httptest.ResponseRecorder) bool {
	return strings.Contains(w.Header().Get("Cache-Status"), "; hit")
}

// TestFleet: two caches, as two processes would, share the memcached
// servers. What one fills the other hits; what one invalidates (by a POST)
// or purges, the other no longer serves, plain URLs and Vary variants alike.
func TestFleet(t *testing.T) {
	addrs := servers(t)
	p := prefix(t)
	o := &origin{}
	a := newNode(t, "A", addrs, p, o)
	b := newNode(t, "B", addrs, p, o)

	want := func(n *node, target string, wantHit bool, wantBody string, hdr ...string) {
		t.Helper()
		before := o.calls.Load()
		w := n.do(t, "GET", target, hdr...)
		status := w.Header().Get("Cache-Status")
		if w.Code != http.StatusOK || hit(w) != wantHit || (o.calls.Load() == before) != wantHit {
			t.Fatalf("GET %s via %s %v: %d, Cache-Status %q, %d origin calls; want hit=%v", target, n.name, hdr, w.Code, status, o.calls.Load()-before, wantHit)
		}
		if !strings.HasPrefix(w.Body.String(), wantBody) {
			t.Fatalf("GET %s via %s %v: body %q, want it to start with %q", target, n.name, hdr, w.Body.String(), wantBody)
		}
		if n.store.Skipped() != 0 {
			t.Fatalf("the store skipped %d entries", n.store.Skipped())
		}
	}
	post := func(n *node, target string) {
		t.Helper()
		if w := n.do(t, "POST", target); w.Code != http.StatusNoContent || strings.Contains(w.Header().Get("Cache-Status"), "store-error") {
			t.Fatalf("POST %s via %s: %d, Cache-Status %q", target, n.name, w.Code, w.Header().Get("Cache-Status"))
		}
	}

	const u = "http://example.com/a"
	want(a, u, false, "/a v0") // fill via A
	want(b, u, true, "/a v0")  // hit via B
	want(a, u, true, "/a v0")
	post(b, u)                 // invalidation via B
	want(a, u, false, "/a v1") // miss via A, the new version
	want(b, u, true, "/a v1")  // and B hits it
	if err := a.cache.Purge(context.Background(), u); err != nil {
		t.Fatalf("Purge via A: %v", err)
	}
	want(b, u, false, "/a v1") // miss via B after A's purge
	want(a, u, true, "/a v1")

	// Vary: the index and the variants, read with GetMulti once a node has
	// seen the index (the hint).
	const v = "http://example.com/vary/b"
	en, fr := []string{"Accept-Language", "en"}, []string{"Accept-Language", "fr"}
	want(a, v, false, "/vary/b v0", en...)
	want(b, v, true, "/vary/b v0", en...) // index, then variant
	want(b, v, true, "/vary/b v0", en...) // both in one GetMulti
	want(b, v, false, "/vary/b v0", fr...)
	want(a, v, true, "/vary/b v0", fr...)
	want(a, v, true, "/vary/b v0", en...)
	post(b, v)
	want(a, v, false, "/vary/b v1", en...) // A's hint names the index B replaced
	want(a, v, false, "/vary/b v1", fr...)
	want(b, v, true, "/vary/b v1", fr...)
	want(b, v, true, "/vary/b v1", en...)
	if err := a.cache.Purge(context.Background(), v); err != nil {
		t.Fatalf("Purge via A: %v", err)
	}
	want(b, v, false, "/vary/b v1", en...)
	want(b, v, false, "/vary/b v1", fr...)
	want(a, v, true, "/vary/b v1", fr...)
}

// TestFleetInvalidationRace: a response that A fetched before B's
// invalidation of its URL is not stored after it (B's tombstone, compared by
// A's SetIf), so neither node serves it afterwards.
func TestFleetInvalidationRace(t *testing.T) {
	addrs := servers(t)
	p := prefix(t)
	o := &origin{}
	entered, release := make(chan struct{}), make(chan struct{})
	var blocked atomic.Bool
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && blocked.CompareAndSwap(false, true) {
			body := fmt.Sprintf("%s v%d (fetched before the invalidation)", r.URL.Path, o.versions[r.URL.Path[len(r.URL.Path)-1]%8].Load())
			close(entered)
			<-release
			w.Header().Set("Cache-Control", "public, max-age=60")
			fmt.Fprint(w, body)
			return
		}
		o.ServeHTTP(w, r)
	})
	mk := func(name string) *node {
		s := newStore(t, addrs, memcache.Options{Prefix: p})
		c := larder.New(s)
		t.Cleanup(func() { _ = c.Close() })
		return &node{name: name, store: s, cache: c, h: c.Middleware(slow)}
	}
	a, b := mk("A"), mk("B")

	const u = "http://example.com/race"
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- a.do(t, "GET", u) }()
	<-entered
	if w := b.do(t, "POST", u); w.Code != http.StatusNoContent {
		t.Fatalf("POST via B: %d", w.Code)
	}
	close(release)
	if w := <-done; !strings.Contains(w.Body.String(), "before the invalidation") {
		t.Fatalf("A's GET: %q", w.Body.String())
	}
	// The first GET after it is a miss, for the new version, and fills it.
	if w := b.do(t, "GET", u); hit(w) || !strings.HasPrefix(w.Body.String(), "/race v1") {
		t.Fatalf("GET via B after the invalidation: %q, Cache-Status %q; want a miss for v1", w.Body.String(), w.Header().Get("Cache-Status"))
	}
	if w := a.do(t, "GET", u); !hit(w) || !strings.HasPrefix(w.Body.String(), "/race v1") {
		t.Fatalf("GET via A after B's fill: %q, Cache-Status %q; want a hit for v1", w.Body.String(), w.Header().Get("Cache-Status"))
	}
}
