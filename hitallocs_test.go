package larder_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// nopWriter is a ResponseWriter that reuses its header map.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestHitAllocs: a hit on the memory store allocates the copy of the
// stored field values, nothing else: the key of a URL asked for before is
// the one made then (keyTable), and the exchange stays on the stack
// (a closure that captures it, or a named result, would move it to the
// heap: 500 bytes on every hit).
func TestHitAllocs(t *testing.T) {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := larder.New(s)
	defer c.Close()
	h := c.Middleware(respond(200, "body", "Cache-Control", "max-age=600", "ETag", `"e"`))
	r := httptest.NewRequest("GET", "/a", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	w := &nopWriter{h: make(http.Header, 16)}
	for _, tc := range []struct {
		name string
		hdr  string
	}{{"hit", ""}, {"304", `"e"`}} {
		if tc.hdr != "" {
			r.Header.Set("If-None-Match", tc.hdr)
		}
		allocs := testing.AllocsPerRun(200, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
		if allocs > 1 {
			t.Errorf("%s: %.0f allocations, want at most 1 (the field values)", tc.name, allocs)
		}
	}
}
