package larder_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// The cache works with Go 1.22 ServeMux patterns, route by route, and path
// values reach the handler also when the cache rewrites the request (here,
// a client validator the cache takes over).
func TestServeMuxPatterns(t *testing.T) {
	c := larder.New(newMapStore(newClock()), larder.WithClock(newClock().Now))
	calls := 0
	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", c.Route(larder.Expiry(10*time.Second))(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("ETag", `"`+r.PathValue("id")+`"`)
			fmt.Fprintf(w, "user %s", r.PathValue("id"))
		})))
	mux.Handle("PATCH /users/{id}", c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	if w := get("/users/7", "If-None-Match", `"x"`); w.Body.String() != "user 7" {
		t.Fatalf("got %q", w.Body)
	}
	if w := get("/users/7"); w.Body.String() != "user 7" || calls != 1 {
		t.Fatalf("got %q after %d calls", w.Body, calls)
	}
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PATCH", "/users/7", nil))
	get("/users/7")
	if calls != 2 {
		t.Fatalf("PATCH did not invalidate: %d calls", calls)
	}
}

// Middleware has the shape every router's middleware chain takes.
func TestMiddlewareChainShape(t *testing.T) {
	c := larder.New(nil)
	chain := []func(http.Handler) http.Handler{c.Middleware, c.Route(larder.Public())}
	var h http.Handler = http.NotFoundHandler()
	for _, m := range chain {
		h = m(h)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 404 {
		t.Fatalf("got %d", w.Code)
	}
}
