package larder_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// sessionOrigin answers every request with a public response that an ETag
// validates, and gives a visitor without a cookie a new session, on 200 as
// on 304, the way many sites do. Its X-User field names the visitor; extra
// are more header pairs.
func sessionOrigin(cc string, extra ...string) http.HandlerFunc {
	var sessions atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", cc)
		h.Set("ETag", `"v1"`)
		for i := 0; i+1 < len(extra); i += 2 {
			h.Add(extra[i], extra[i+1])
		}
		user := "anonymous"
		if c, err := r.Cookie("sid"); err == nil {
			user = c.Value
		} else {
			user = "new" + strconv.FormatInt(sessions.Add(1), 10)
			h.Set("Set-Cookie", "sid="+user)
		}
		h.Set("X-User", user)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("page"))
		}
	}
}

// TestNoReplayOfPerClientFields: a Set-Cookie, or a field named by a
// qualified private or no-cache, that reaches the cache in a 304 or a HEAD
// response goes to the client that caused it and never into what is stored,
// whatever path updates the stored response (RFC 9111 §3.1, §4.3.4,
// §4.3.5, §5.2.2.4, §5.2.2.7).
func TestNoReplayOfPerClientFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cc     string
		field  string // the per-client field that must not be replayed
		update func(f *fixture)
	}{
		{"304 Set-Cookie", "public, max-age=1", "Set-Cookie", func(f *fixture) {
			if w := f.do("GET", "/p"); w.Header().Get("Set-Cookie") == "" || !strings.Contains(w.Header().Get("Cache-Status"), "fwd-status=304") {
				f.t.Fatalf("revalidation: %d %v", w.Code, w.Header())
			}
		}},
		{"HEAD Set-Cookie", "public, max-age=1", "Set-Cookie", func(f *fixture) {
			f.do("HEAD", "/p")
		}},
		{"background Set-Cookie", "public, max-age=1, stale-while-revalidate=60", "Set-Cookie", func(f *fixture) {
			f.do("GET", "/p")
			f.cache.Close()
		}},
		{"304 private field", `public, max-age=1, private="X-User"`, "X-User", func(f *fixture) {
			f.do("GET", "/p")
		}},
		{"304 no-cache field", `public, max-age=1, no-cache="X-User"`, "X-User", func(f *fixture) {
			f.do("GET", "/p")
		}},
		{"HEAD private field", `public, max-age=1, private="X-User"`, "X-User", func(f *fixture) {
			f.do("HEAD", "/p")
		}},
		{"background private field", `public, max-age=1, stale-while-revalidate=60, private="X-User"`, "X-User", func(f *fixture) {
			f.do("GET", "/p")
			f.cache.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, sessionOrigin(tc.cc))
			defer f.cache.Close()
			if w := f.do("GET", "/p", "Cookie", "sid=alice"); w.Code != 200 {
				t.Fatalf("fill: %d", w.Code)
			}
			f.clock.Advance(2 * time.Second)
			tc.update(f) // a visitor without a cookie makes the cache update the stored response
			before := f.orig.n()
			w := f.do("GET", "/p", "Cookie", "sid=bob")
			if f.orig.n() != before {
				// Not a hit: the update was not stored, which is
				// safe; the test is about what a hit replays.
				t.Logf("no hit after the update: %s", w.Header().Get("Cache-Status"))
			}
			if v := w.Header().Values(tc.field); len(v) > 0 && (tc.field == "Set-Cookie" || v[0] != "bob") {
				t.Fatalf("bob got %s: %q (Cache-Status %q)", tc.field, v, w.Header().Get("Cache-Status"))
			}
		})
	}
}

// TestRevalidationStillUpdates: the rules that keep a 304's Set-Cookie out
// of the store do not stop the update itself, nor the Set-Cookie reaching
// the client that caused it.
func TestRevalidationStillUpdates(t *testing.T) {
	f := newFixture(t, sessionOrigin("public, max-age=1"))
	defer f.cache.Close()
	f.do("GET", "/p", "Cookie", "sid=alice")
	f.clock.Advance(2 * time.Second)
	w := f.do("GET", "/p")
	if got := w.Header().Get("Set-Cookie"); !strings.HasPrefix(got, "sid=new") {
		t.Fatalf("the revalidating client lost its own Set-Cookie: %q", got)
	}
	if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "; stored") {
		t.Fatalf("the 304 update was not stored: %q", cs)
	}
	before := f.orig.n()
	if w := f.do("GET", "/p", "Cookie", "sid=bob"); f.orig.n() != before || w.Body.String() != "page" {
		t.Fatalf("no hit after the update: %q", w.Header().Get("Cache-Status"))
	}
}

// TestCookieResponseNotSharedWhenDisconnected: a response to a request with
// a cookie that the origin did not mark explicitly cacheable is not stored
// by a shared cache, so no other user gets it, not even as a stale copy
// while the origin is down.
func TestCookieResponseNotSharedWhenDisconnected(t *testing.T) {
	down := atomic.Bool{}
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			larder.OriginUnreachable(w)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		c, _ := r.Cookie("sid")
		_, _ = w.Write([]byte("account of " + c.Value))
	})
	defer f.cache.Close()
	w := f.do("GET", "/account", "Cookie", "sid=alice")
	if w.Body.String() != "account of alice" {
		t.Fatalf("alice: %q", w.Body)
	}
	down.Store(true)
	f.clock.Advance(time.Minute) // within the stale retention
	w = f.do("GET", "/account", "Cookie", "sid=bob")
	if strings.Contains(w.Body.String(), "alice") {
		t.Fatalf("bob got alice's page: %d %q %q", w.Code, w.Body, w.Header().Get("Cache-Status"))
	}
	if w.Code != http.StatusBadGateway {
		t.Fatalf("bob: %d, want the origin's 502", w.Code)
	}
	// An explicitly cacheable response to a request with a cookie is stored.
	g := newFixture(t, respond(200, "shared", "Cache-Control", "max-age=60"))
	defer g.cache.Close()
	g.do("GET", "/a", "Cookie", "sid=alice")
	g.do("GET", "/a", "Cookie", "sid=bob")
	expectCalls(t, g.orig, 1)
}

// TestHitHeaderNotAliased: an outer middleware that edits a field value of
// a hit in place changes that response only, never the stored entry nor
// later hits.
func TestHitHeaderNotAliased(t *testing.T) {
	f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60", "X-Tenant", "acme", "ETag", `"e"`))
	defer f.cache.Close()
	edit := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			h := w.Header()
			for _, k := range []string{"X-Tenant", "Age", "Cache-Status", "Etag", "Cache-Control"} {
				if v := h[k]; len(v) > 0 {
					v[0] = "EDITED"
				}
			}
		})
	}
	f.h = edit(f.h)
	f.do("GET", "/t")
	for i := range 3 {
		f.clock.Advance(time.Second)
		for _, hdr := range [][]string{nil, {"If-None-Match", `"e"`}} {
			w := f.do("GET", "/t", hdr...)
			// The recorder holds the edited map; what the client was sent
			// is in its snapshot of the header at WriteHeader.
			got := w.Result().Header
			for _, k := range []string{"Age", "Cache-Status", "Etag", "Cache-Control"} {
				if v := got.Get(k); v == "EDITED" {
					t.Fatalf("round %d %v: %s served as %q: the stored entry was edited", i, hdr, k, v)
				}
			}
			if hdr == nil && got.Get("X-Tenant") != "acme" {
				t.Fatalf("round %d: X-Tenant %q", i, got.Get("X-Tenant"))
			}
		}
	}
	expectCalls(t, f.orig, 1)
}

// TestLongKeyNotStored: a request whose key would exceed the max key size
// goes to the handler and nothing is stored for it; one with a long Vary
// value neither.
func TestLongKeyNotStored(t *testing.T) {
	var events []larder.Event
	f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60", "Vary", "Accept-Language"),
		larder.WithMaxKeySize(1024), larder.WithObserver(func(ev larder.Event) { events = append(events, ev) }))
	defer f.cache.Close()
	long := "/q?x=" + strings.Repeat("a", 2000)
	for range 2 {
		if w := f.do("GET", long); w.Code != 200 || w.Body.String() != "x" {
			t.Fatalf("long URL: %d %q", w.Code, w.Body)
		}
	}
	expectCalls(t, f.orig, 2)
	if n := f.store.len(); n != 0 {
		t.Fatalf("%d entries stored for a long key", n)
	}
	f.do("GET", "/v", "Accept-Language", strings.Repeat("de,", 500))
	f.do("GET", "/v", "Accept-Language", strings.Repeat("de,", 500))
	expectCalls(t, f.orig, 4)
	for _, ev := range events {
		if ev.NotStored != "key-too-large" || ev.Stored {
			t.Fatalf("event %+v, want NotStored key-too-large", ev)
		}
	}
	f.do("GET", "/v", "Accept-Language", "de")
	f.do("GET", "/v", "Accept-Language", "de")
	expectCalls(t, f.orig, 5)
}
