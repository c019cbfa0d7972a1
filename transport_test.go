package larder_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// TestTransportStoring: what the Transport stores, private (the default)
// and shared, through a real http.Client against an httptest origin.
func TestTransportStoring(t *testing.T) {
	for _, tc := range []struct {
		name       string
		shared     bool
		cc         string
		reqHdr     []string
		wantCalls  int64  // after two identical requests
		wantSecond string // a hit, or a response another request fetched (collapsed): ttl=60
	}{
		{"fresh", false, "max-age=60", nil, 1, "ttl=60"},
		{"no-store", false, "no-store", nil, 2, "fwd=uri-miss"},
		{"private stored by a private cache", false, "private, max-age=60", nil, 1, "ttl=60"},
		{"private not stored by a shared cache", true, "private, max-age=60", nil, 2, "fwd=uri-miss"},
		{"authorization stored by a private cache", false, "max-age=60", []string{"Authorization", "Bearer x"}, 1, "ttl=60"},
		{"authorization not stored by a shared cache", true, "max-age=60", []string{"Authorization", "Bearer x"}, 2, "fwd=uri-miss"},
		{"authorization with public, shared", true, "public, max-age=60", []string{"Authorization", "Bearer x"}, 1, "ttl=60"},
		// Stored stale, for revalidation.
		{"s-maxage ignored by a private cache", false, "s-maxage=60", nil, 2, "fwd=stale"},
		{"s-maxage obeyed by a shared cache", true, "s-maxage=60", nil, 1, "ttl=60"},
		{"request no-store", false, "max-age=60", []string{"Cache-Control", "no-store"}, 2, "fwd="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tc.cc)
				_, _ = w.Write([]byte("hello"))
			})
			var opts []larder.Option
			if tc.shared {
				opts = append(opts, larder.SharedCache())
			}
			f := newClientFixture(t, nil, opts...)
			f.do("GET", o.srv.URL+"/a", tc.reqHdr...).check(t, 200, "hello", "fwd=uri-miss")
			f.do("GET", o.srv.URL+"/a", tc.reqHdr...).check(t, 200, "hello", tc.wantSecond)
			if o.n() != tc.wantCalls {
				t.Errorf("origin called %d times, want %d", o.n(), tc.wantCalls)
			}
		})
	}
}

// TestTransportRevalidation: a stale response is validated with its ETag;
// the origin sees If-None-Match and answers 304, and the caller gets 200
// with the stored body. A caller's own If-None-Match is answered by the
// cache.
func TestTransportRevalidation(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("repo list"))
	})
	f := newClientFixture(t, nil, larder.WithFromCacheHeader())
	first := f.do("GET", o.srv.URL+"/repos")
	first.check(t, 200, "repo list", "fwd=uri-miss; stored")
	if first.header.Get("X-From-Cache") != "" {
		t.Error("a response from the origin has X-From-Cache")
	}
	f.clock.Advance(61 * time.Second)
	g := f.do("GET", o.srv.URL+"/repos")
	g.check(t, 200, "repo list", "fwd=stale; fwd-status=304")
	if inm := o.last().Header.Get("If-None-Match"); inm != `"v1"` {
		t.Errorf("origin saw If-None-Match %q, want \"v1\"", inm)
	}
	if g.header.Get("X-From-Cache") != "1" {
		t.Error("a revalidated response lacks X-From-Cache: 1")
	}
	f.do("GET", o.srv.URL+"/repos").check(t, 200, "repo list", "hit")
	if o.n() != 2 {
		t.Errorf("origin called %d times, want 2", o.n())
	}
	// The caller's own validator: answered 304 from storage.
	f.do("GET", o.srv.URL+"/repos", "If-None-Match", `"v1"`).check(t, 304, "", "hit")
	if o.n() != 2 {
		t.Errorf("origin called %d times, want 2", o.n())
	}
}

// TestTransportRequestDirectives: no-cache, max-age=0 and only-if-cached
// in the caller's request.
func TestTransportRequestDirectives(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("x"))
	})
	f := newClientFixture(t, nil, larder.WithFromCacheHeader())
	g := f.do("GET", o.srv.URL+"/b", "Cache-Control", "only-if-cached")
	g.check(t, 504, "504 gateway timeout: not in cache (only-if-cached)\n", "detail=only-if-cached")
	if g.header.Get("X-From-Cache") != "" {
		t.Error("the cache's 504 for only-if-cached has X-From-Cache")
	}
	if o.n() != 0 {
		t.Fatalf("only-if-cached reached the origin")
	}
	f.do("GET", o.srv.URL+"/b").check(t, 200, "x", "stored")
	f.do("GET", o.srv.URL+"/b", "Cache-Control", "only-if-cached").check(t, 200, "x", "hit")
	f.do("GET", o.srv.URL+"/b", "Cache-Control", "no-cache").check(t, 200, "x", "fwd=request; fwd-status=304")
	f.clock.Advance(time.Second)
	f.do("GET", o.srv.URL+"/b", "Cache-Control", "max-age=0").check(t, 200, "x", "fwd=stale; fwd-status=304")
	if o.n() != 3 {
		t.Errorf("origin called %d times, want 3", o.n())
	}
}

// TestTransportVary: responses that vary are kept apart by the request
// fields they vary on.
func TestTransportVary(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		_, _ = w.Write([]byte("lang=" + r.Header.Get("Accept-Language")))
	})
	f := newClientFixture(t, nil)
	for range 2 {
		f.do("GET", o.srv.URL+"/v", "Accept-Language", "en").check(t, 200, "lang=en", "")
		f.do("GET", o.srv.URL+"/v", "Accept-Language", "fr").check(t, 200, "lang=fr", "")
	}
	f.do("GET", o.srv.URL+"/v", "Accept-Language", "fr").check(t, 200, "lang=fr", "hit")
	if o.n() != 2 {
		t.Errorf("origin called %d times, want 2", o.n())
	}
}

// TestTransportStale: stale-while-revalidate serves the stored response and
// revalidates in the background; stale-if-error serves it in place of a
// 5xx; an origin that cannot be reached gets a stale response in its place
// when nothing forbids it, and an error to the caller otherwise.
func TestTransportStale(t *testing.T) {
	t.Run("stale-while-revalidate", func(t *testing.T) {
		o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60")
			_, _ = w.Write([]byte("v"))
		})
		f := newClientFixture(t, nil)
		f.do("GET", o.srv.URL+"/s")
		f.clock.Advance(2 * time.Second)
		req, _ := http.NewRequest("GET", o.srv.URL+"/s", nil)
		req.Header.Set("Accept", "text/plain")
		resp, err := f.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got{resp.StatusCode, resp.Header, string(b)}.check(t, 200, "v", "detail=stale-while-revalidate")
		// The caller may reuse its request once it has the response: the
		// background revalidation has a copy (the race detector watches).
		req.Header.Set("Accept", "application/json")
		_ = f.tr.Close() // waits for the background revalidation
		if o.n() != 2 {
			t.Fatalf("origin called %d times, want 2 (the background revalidation)", o.n())
		}
		f.do("GET", o.srv.URL+"/s").check(t, 200, "v", "hit; ttl=1")
	})
	t.Run("stale-if-error", func(t *testing.T) {
		fail := false
		o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			if fail {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Cache-Control", "max-age=1, stale-if-error=60")
			_, _ = w.Write([]byte("v"))
		})
		f := newClientFixture(t, nil, larder.WithFromCacheHeader())
		f.do("GET", o.srv.URL+"/e")
		f.clock.Advance(2 * time.Second)
		fail = true
		g := f.do("GET", o.srv.URL+"/e")
		g.check(t, 200, "v", "fwd-status=500")
		if g.header.Get("X-From-Cache") != "1" {
			t.Error("a stale response served on error lacks X-From-Cache")
		}
		f.clock.Advance(time.Minute)
		f.do("GET", o.srv.URL+"/e").check(t, 500, "down\n", "fwd=stale")
	})
	t.Run("origin unreachable", func(t *testing.T) {
		o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			if r.URL.Path == "/strict" {
				w.Header().Set("Cache-Control", "max-age=1, must-revalidate")
			}
			_, _ = w.Write([]byte("v"))
		})
		f := newClientFixture(t, nil)
		f.do("GET", o.srv.URL+"/loose")
		f.do("GET", o.srv.URL+"/strict")
		f.clock.Advance(2 * time.Second)
		o.srv.Close()
		f.do("GET", o.srv.URL+"/loose").check(t, 200, "v", "detail=origin-unreachable")
		for _, path := range []string{"/strict", "/never-stored"} {
			resp, err := f.c.Get(o.srv.URL + path)
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: got %d (%s), want the base transport's error", path, resp.StatusCode, resp.Header.Get("Cache-Status"))
			}
		}
	})
}

// TestTransportInvalidation: a successful unsafe request invalidates the
// stored response of its URL (RFC 9111 §4.4), and its body reaches the
// origin.
func TestTransportInvalidation(t *testing.T) {
	var posted string
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			posted = string(b)
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("list"))
	})
	f := newClientFixture(t, nil)
	f.do("GET", o.srv.URL+"/items")
	f.do("GET", o.srv.URL+"/items").check(t, 200, "list", "hit")
	resp, err := f.c.Post(o.srv.URL+"/items", "text/plain", strings.NewReader("new item"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || posted != "new item" {
		t.Fatalf("POST: %d, origin got %q", resp.StatusCode, posted)
	}
	f.do("GET", o.srv.URL+"/items").check(t, 200, "list", "fwd=uri-miss")
	if o.n() != 3 {
		t.Errorf("origin called %d times, want 3", o.n())
	}
}

// TestTransportRedirects: the client follows redirects; each hop is cached
// by its own rules.
func TestTransportRedirects(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			w.Header().Set("Cache-Control", "max-age=60")
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		case "/temp":
			http.Redirect(w, r, "/new", http.StatusFound) // not cacheable by default
		default:
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("new"))
		}
	})
	f := newClientFixture(t, nil)
	for range 2 {
		f.do("GET", o.srv.URL+"/old").check(t, 200, "new", "")
		f.do("GET", o.srv.URL+"/temp").check(t, 200, "new", "hit")
	}
	// /old once, /new once, /temp twice.
	if o.n() != 4 {
		t.Errorf("origin called %d times, want 4", o.n())
	}
}
