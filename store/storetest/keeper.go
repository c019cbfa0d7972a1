package storetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/larder-cache/larder"
)

// ---- EntryKeeper ----

// testKeepsEntries checks that KeepsEntries gives one answer, and that a
// store that says it keeps entries as they are gives back what it was
// given: the *Entry itself or a shallow copy, with its exported fields as
// they were.
func testKeepsEntries(t *testing.T, s larder.Store, _ *config) {
	k := s.(larder.EntryKeeper)
	v := k.KeepsEntries()
	for range 10 {
		if k.KeepsEntries() != v {
			t.Fatal("KeepsEntries changed its answer")
		}
	}
	if !v {
		t.Skip("KeepsEntries reports false")
	}
	ctx := context.Background()
	e := newEntry(200, "kept")
	if err := s.Set(ctx, "kept", e, longTTL); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "Get of a kept entry", got, e)
	if got != e && (len(got.Body) == 0 || &got.Body[0] != &e.Body[0]) {
		t.Fatal("Get returned an entry that does not share the Body of the one Set was given: not the entry, nor a shallow copy")
	}
}

// testKeptResponses checks what the cache relies on when it hands an
// EntryKeeper responses in compact form (Entry.Header nil): they are served
// again with every header field, answer conditional requests, and read
// back from the store with Entry.Fields and MarshalBinary.
func testKeptResponses(t *testing.T, s larder.Store, _ *config) {
	if !s.(larder.EntryKeeper).KeepsEntries() {
		t.Skip("KeepsEntries reports false")
	}
	const url = "http://storetest.example/kept"
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "max-age=3600")
		h.Set("Content-Type", "text/plain")
		h.Set("ETag", `"v1"`)
		h.Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		h["X-Multi"] = []string{"a", "b"}
		_, _ = w.Write([]byte("kept body"))
	})
	c := larder.New(s)
	defer c.Close()
	h := c.Middleware(origin)
	get := func(hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	first := get()
	hit := get()
	if hit.Code != http.StatusOK || hit.Body.String() != "kept body" {
		t.Fatalf("hit: %d %q, want 200 %q", hit.Code, hit.Body.String(), "kept body")
	}
	for _, k := range []string{"Cache-Control", "Content-Type", "Etag", "Last-Modified", "X-Multi"} {
		if !slices.Equal(hit.Header()[k], first.Header()[k]) || len(hit.Header()[k]) == 0 {
			t.Errorf("hit: %s = %q, the response stored had %q", k, hit.Header()[k], first.Header()[k])
		}
	}
	if age := hit.Header().Get("Age"); age == "" {
		t.Error("hit: no Age field: the second request was not served from the store")
	}
	if w := get("If-None-Match", `"v1"`); w.Code != http.StatusNotModified || w.Header().Get("Etag") != `"v1"` {
		t.Errorf("If-None-Match of the stored ETag: %d, ETag %q; want 304 with it", w.Code, w.Header().Get("Etag"))
	}
	if w := get("If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"); w.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since of the stored Last-Modified: %d, want 304", w.Code)
	}
	if w := get("If-None-Match", `"v0"`); w.Code != http.StatusOK || w.Body.String() != "kept body" {
		t.Errorf("If-None-Match of another ETag: %d %q, want 200 with the body", w.Code, w.Body.String())
	}

	e, err := s.Get(context.Background(), url)
	if err != nil {
		t.Fatalf("Get of the stored response: %v", err)
	}
	f := e.Fields()
	if !slices.Equal(f["X-Multi"], []string{"a", "b"}) || f.Get("Etag") != `"v1"` || f.Get("Content-Type") != "text/plain" {
		t.Fatalf("Fields of the stored response = %v", f)
	}
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d larder.Entry
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !headersEqual(d.Header, f) || string(d.Body) != "kept body" {
		t.Fatalf("the stored response encoded and decoded: header %v, body %q; want %v, %q", d.Header, d.Body, f, "kept body")
	}
}
