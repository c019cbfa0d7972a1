package larder_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A hit sends the stored header fields as the handler set them, multi-valued
// and empty ones included, a 304 those RFC 9110 §15.4.5 lists (a handler's
// h["ETag"] as "Etag"), and neither lets a client's writes reach the store.
func TestStoredHeaderOnHits(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = []string{"max-age=60"}
		h["ETag"] = []string{`"x"`}
		h["Link"] = []string{"</a>; rel=preload", "</b>; rel=preload"}
		h["Content-Type"] = nil // no sniffing
		h["Vary"] = []string{"Accept"}
		_, _ = w.Write([]byte("body"))
	})
	miss := f.do("GET", "/h")
	for range 2 {
		hit := f.do("GET", "/h")
		if !strings.Contains(hit.Header().Get("Cache-Status"), "; hit") {
			t.Fatalf("not a hit: %v", hit.Header())
		}
		for k, v := range miss.Header() {
			if k == "Cache-Status" {
				continue
			}
			got, ok := hit.Header()[k]
			if !ok || !slices.Equal(got, v) {
				t.Errorf("hit: %s = %q (present %v), want %q", k, got, ok, v)
			}
		}
		if _, ok := hit.Header()["Content-Type"]; !ok {
			t.Error("hit: the empty Content-Type the handler set is gone")
		}
		if got := hit.Header()["Content-Length"]; !slices.Equal(got, []string{"4"}) {
			t.Errorf("hit: Content-Length %q, want 4", got)
		}
		// What the client's side does with the header reaches no other response.
		for _, v := range hit.Header() {
			for i := range v {
				v[i] = "mutated"
			}
		}
	}
	nm := f.do("GET", "/h", "If-None-Match", `"x"`)
	if nm.Code != http.StatusNotModified {
		t.Fatalf("conditional request: %d, want 304", nm.Code)
	}
	h := nm.Header()
	if !slices.Equal(h["Etag"], []string{`"x"`}) || !slices.Equal(h["Cache-Control"], []string{"max-age=60"}) ||
		!slices.Equal(h["Vary"], []string{"Accept"}) {
		t.Errorf("304: %v, want Etag, Cache-Control and Vary", h)
	}
	for _, k := range []string{"ETag", "Link", "Content-Type", "Content-Length"} {
		if _, ok := h[k]; ok {
			t.Errorf("304 carries %s: %v", k, h)
		}
	}
	expectCalls(t, f.orig, 1)
}
