package larder_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/larder-cache/larder"
)

// benchWriter is a minimal reusable ResponseWriter, as a server's is.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(s int)   { w.status = s }
func (w *benchWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
func (w *benchWriter) reset() { clear(w.h); w.status, w.n = 0, 0 }

var body1K = []byte(strings.Repeat("a", 1024))

func bare(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain"}
	h["Cache-Control"] = []string{"max-age=3600"}
	h["Etag"] = []string{`"v1"`}
	_, _ = w.Write(body1K)
}

func benchServe(b *testing.B, h http.Handler, hdr ...string) {
	r := httptest_NewRequest("GET", "http://example.com/users/1", hdr...)
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithCancel(r.Context())
		rr := r.WithContext(ctx)
		w.reset()
		h.ServeHTTP(w, rr)
		cancel()
		if w.n != len(body1K) && w.status != 304 {
			b.Fatalf("wrote %d bytes, status %d", w.n, w.status)
		}
	}
}

func httptest_NewRequest(method, target string, hdr ...string) *http.Request {
	r, _ := http.NewRequest(method, target, nil)
	r.RequestURI = r.URL.RequestURI()
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func BenchmarkBare(b *testing.B) { benchServe(b, http.HandlerFunc(bare)) }

func BenchmarkHit(b *testing.B) {
	s := newMapStore(newClock())
	c := larder.New(s, larder.WithClock(s.clock.Now))
	o := &origin{fn: bare}
	h := c.Middleware(o)
	benchServe(b, h)
	if o.n() != 1 {
		b.Fatalf("origin called %d times", o.n())
	}
}

func BenchmarkHit304(b *testing.B) {
	s := newMapStore(newClock())
	c := larder.New(s, larder.WithClock(s.clock.Now))
	h := c.Middleware(&origin{fn: bare})
	benchServe(b, h, "If-None-Match", `"v1"`)
}
