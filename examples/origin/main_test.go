package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOrigin(t *testing.T) {
	h := newOrigin()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/hello", nil))
	if w.Code != 200 || w.Header().Get("Cache-Control") != "max-age=60" || w.Header().Get("ETag") != `"hello-v1"` {
		t.Fatalf("got %d %v", w.Code, w.Header())
	}
	r := httptest.NewRequest("GET", "/hello", nil)
	r.Header.Set("If-None-Match", `"hello-v1"`)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/count", nil))
	if w.Body.String() != "2\n" {
		t.Fatalf("count %q", w.Body)
	}
}
