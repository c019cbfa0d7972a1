package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMissThenHit(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)

	miss := d.get("/a")
	if miss.StatusCode != 200 || miss.body != "body of /a" {
		t.Fatalf("miss: %d %q", miss.StatusCode, miss.body)
	}
	if cs := miss.Header.Get("Cache-Status"); !strings.Contains(cs, "Larder; fwd=uri-miss") || !strings.Contains(cs, "stored") {
		t.Errorf("miss: Cache-Status %q, want Larder; fwd=uri-miss; stored", cs)
	}

	hit := d.get("/a")
	if hit.StatusCode != 200 || hit.body != "body of /a" {
		t.Fatalf("hit: %d %q", hit.StatusCode, hit.body)
	}
	if n := o.Calls(); n != 1 {
		t.Errorf("origin calls = %d, want 1 (the hit went to the origin)", n)
	}
	if cs := hit.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "Larder; hit") {
		t.Errorf("hit: Cache-Status %q, want Larder; hit", cs)
	}
	if hit.Header.Get("Age") == "" {
		t.Error("hit: no Age field")
	}
	if v := hit.Header.Get("Via"); v != "1.1 larder" {
		t.Errorf("hit: Via %q, want 1.1 larder", v)
	}
	if hit.Header.Get("ETag") != `"v1"` {
		t.Errorf("hit: ETag %q", hit.Header.Get("ETag"))
	}

	// A HEAD is a hit too, and another path is a miss.
	if r := d.do(http.MethodHead, "/a", nil, ""); !strings.HasPrefix(r.Header.Get("Cache-Status"), "Larder; hit") {
		t.Errorf("HEAD: Cache-Status %q", r.Header.Get("Cache-Status"))
	}
	d.get("/b")
	if n := o.Calls(); n != 2 {
		t.Errorf("origin calls = %d after /b, want 2", n)
	}
	// The cache is keyed by the client's Host.
	d.do(http.MethodGet, "/a", hdr("Host", "other.test"), "")
	if n := o.Calls(); n != 3 {
		t.Errorf("origin calls = %d after /a on another host, want 3", n)
	}
}

func TestConditionalRequestAnsweredFromCache(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)
	d.get("/a")

	r := d.do(http.MethodGet, "/a", hdr("If-None-Match", `"v1"`), "")
	if r.StatusCode != http.StatusNotModified || r.body != "" {
		t.Errorf("If-None-Match: %d %q, want an empty 304", r.StatusCode, r.body)
	}
	if n := o.Calls(); n != 1 {
		t.Errorf("origin calls = %d, want 1", n)
	}
	r = d.do(http.MethodGet, "/a", hdr("If-None-Match", `"other"`), "")
	if r.StatusCode != 200 || r.body != "body of /a" {
		t.Errorf("non-matching If-None-Match: %d %q", r.StatusCode, r.body)
	}
}

func TestRevalidation(t *testing.T) {
	o := newOrigin(t, cacheable)
	clock := newFakeClock()
	d := startDaemon(t, []string{"--upstream", o.URL}, nil, withClock(clock.Now))
	d.get("/a")

	clock.Advance(2 * time.Minute) // stale, but kept for revalidation (it has an ETag)
	r := d.get("/a")
	if r.StatusCode != 200 || r.body != "body of /a" {
		t.Fatalf("revalidated: %d %q", r.StatusCode, r.body)
	}
	if n := o.Calls(); n != 2 {
		t.Fatalf("origin calls = %d, want 2", n)
	}
	if inm := o.Last().Header.Get("If-None-Match"); inm != `"v1"` {
		t.Errorf("validation request If-None-Match = %q, want \"v1\"", inm)
	}
	if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=stale") || !strings.Contains(cs, "fwd-status=304") {
		t.Errorf("revalidated: Cache-Status %q, want fwd=stale; fwd-status=304", cs)
	}

	// Freshened by the 304: a hit again.
	r = d.get("/a")
	if !strings.HasPrefix(r.Header.Get("Cache-Status"), "Larder; hit") || o.Calls() != 2 {
		t.Errorf("after revalidation: Cache-Status %q, origin calls %d", r.Header.Get("Cache-Status"), o.Calls())
	}
}

func TestMustRevalidateMaxAgeZero(t *testing.T) {
	// Without a fake clock: max-age=0 is stale at once, so every request is a
	// conditional one answered by a 304 from the origin.
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=0, must-revalidate")
		w.Header().Set("ETag", `"z"`)
		if r.Header.Get("If-None-Match") == `"z"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "zero")
	})
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)
	d.get("/z")
	r := d.get("/z")
	if r.StatusCode != 200 || r.body != "zero" {
		t.Fatalf("%d %q", r.StatusCode, r.body)
	}
	if o.Calls() != 2 || o.Last().Header.Get("If-None-Match") != `"z"` {
		t.Errorf("origin calls %d, last If-None-Match %q", o.Calls(), o.Last().Header.Get("If-None-Match"))
	}
}

func TestUnsafeMethodsInvalidate(t *testing.T) {
	for _, method := range []string{http.MethodPut, http.MethodPost, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				cacheable(w, r)
			})
			d := startDaemon(t, []string{"--upstream", o.URL}, nil)
			d.get("/doc")
			d.get("/doc")
			if n := o.Calls(); n != 1 {
				t.Fatalf("origin calls = %d before %s, want 1", n, method)
			}
			if r := d.do(method, "/doc", nil, "new content"); r.StatusCode != http.StatusNoContent {
				t.Fatalf("%s: status %d", method, r.StatusCode)
			}
			if last := o.Last(); last.Method != method || last.Body != "new content" {
				t.Errorf("origin got %s with body %q", last.Method, last.Body)
			}
			r := d.get("/doc")
			if n := o.Calls(); n != 3 {
				t.Errorf("origin calls = %d after %s then GET, want 3 (the GET went to the origin)", n, method)
			}
			if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=uri-miss") {
				t.Errorf("GET after %s: Cache-Status %q", method, cs)
			}
		})
	}
}

func TestStorability(t *testing.T) {
	tests := []struct {
		name   string
		cc     string // the origin's Cache-Control
		cookie bool   // the origin sets a cookie
		auth   bool   // the request has Authorization
		stored bool
	}{
		{name: "max-age", cc: "max-age=60", stored: true},
		{name: "no-store", cc: "no-store, max-age=60"},
		{name: "private", cc: "private, max-age=60"},
		{name: "set-cookie", cc: "max-age=60", cookie: true},
		{name: "authorization", cc: "max-age=60", auth: true},
		{name: "authorization public", cc: "public, max-age=60", auth: true, stored: true},
		{name: "authorization s-maxage", cc: "s-maxage=60", auth: true, stored: true},
		{name: "authorization must-revalidate", cc: "max-age=60, must-revalidate", auth: true, stored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tt.cc)
				if tt.cookie {
					w.Header().Set("Set-Cookie", "session=secret")
				}
				io.WriteString(w, "content")
			})
			d := startDaemon(t, []string{"--upstream", o.URL}, nil)
			var h http.Header
			if tt.auth {
				h = hdr("Authorization", "Bearer user-1")
			}
			d.do(http.MethodGet, "/r", h, "")
			r := d.do(http.MethodGet, "/r", h, "")
			want := 2
			if tt.stored {
				want = 1
			}
			if n := o.Calls(); n != want {
				t.Errorf("origin calls = %d, want %d (stored: %v); Cache-Status %q", n, want, tt.stored, r.Header.Get("Cache-Status"))
			}
			if tt.cookie && r.Header.Get("Set-Cookie") == "" {
				t.Error("Set-Cookie did not reach the client")
			}
		})
	}
}

func TestMaxObjectSize(t *testing.T) {
	tests := []struct {
		size   int
		stored bool
	}{
		{512, true},
		{1024, true},
		{1025, false},
		{4096, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.size), func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, strings.Repeat("x", tt.size))
			})
			d := startDaemon(t, []string{"--upstream", o.URL, "--max-object-size", "1KiB"}, nil)
			d.get("/big")
			r := d.get("/big")
			if len(r.body) != tt.size {
				t.Errorf("body %d bytes, want %d", len(r.body), tt.size)
			}
			want := 2
			if tt.stored {
				want = 1
			}
			if o.Calls() != want {
				t.Errorf("origin calls %d, want %d", o.Calls(), want)
			}
		})
	}
}

// TestDiskBigBody: with --store disk:// and a body larger than
// --body-buffer, the body streams into the store as it goes to the client
// (larder.WithBodyBuffer), and the next request is a hit with the whole
// body.
func TestDiskBigBody(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 256<<10) // 4 MiB
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	})
	d := startDaemon(t, []string{"--upstream", o.URL, "--store", "disk://" + t.TempDir() + "?size=64MiB",
		"--body-buffer", "256KiB", "--max-object-size", "16MiB"}, nil)
	if r := d.get("/big"); r.StatusCode != 200 || r.body != body {
		t.Fatalf("miss: %d, %d bytes", r.StatusCode, len(r.body))
	}
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		r := d.get("/big")
		if r.body != body {
			t.Fatalf("%d bytes, want the whole body", len(r.body))
		}
		if strings.Contains(r.Header.Get("Cache-Status"), "hit") {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no hit: %q", r.Header.Get("Cache-Status"))
		}
	}
	if n := o.Calls(); n > 2 {
		t.Errorf("%d origin requests", n)
	}
}
