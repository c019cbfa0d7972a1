// Command vary is the chocs-cache README's "Using cache vary" example in Go:
// responses that depend on request header fields are stored once per
// combination of their values, a cache-wide default and a per-route setting.
//
//	go run ./examples/vary
//	curl -i -H 'Accept-Language: pl' http://127.0.0.1:8080/users/1
//	curl -i -H 'Accept-Language: en' -H 'X-Custom-Header: b' http://127.0.0.1:8080/users/1
//	curl -i -H 'Accept-Language: pl' http://127.0.0.1:8080/hello
//
// The seed's Python:
//
//	app = chocs.Application(CacheMiddleware(InMemoryCacheStorage(), cache_vary=set("accept-language")))
//
//	@app.get("/users/{user_id}", cache_expiry=10, cache_vary=("accept-language", "x-custom-header"))
//	def get_user(request): return HttpResponse("Bob Bobber")
//
// (The seed's set("accept-language") is a set of characters in Python; the
// intent, one field name, is what WithVary takes.)
package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/serve"
)

// app is the example application. It counts the calls of its handlers, so
// the tests can tell a response from the cache from one a handler made.
type app struct {
	http.Handler
	calls atomic.Int64
}

// newApp returns the application behind a cache keeping its entries in store.
// opts configure the cache; the tests pass a fake clock.
func newApp(store larder.Store, opts ...larder.Option) *app {
	a := &app{}
	// Cache-wide cache_vary: every cached route varies on Accept-Language
	// unless it names its own fields.
	cache := larder.New(store, append([]larder.Option{larder.WithVary("Accept-Language")}, opts...)...)

	mux := http.NewServeMux()
	// Per-route cache_vary: replaces the cache-wide default for this route.
	mux.Handle("GET /users/{user_id}", cache.Route(
		larder.Expiry(10*time.Second),
		larder.Vary("Accept-Language", "X-Custom-Header"),
	)(http.HandlerFunc(a.getUser)))
	// No Vary option: the cache-wide Accept-Language applies.
	mux.Handle("GET /hello", cache.Route(larder.Expiry(10*time.Second))(http.HandlerFunc(a.hello)))
	a.Handler = mux
	return a
}

// getUser is the seed's get_user, made to show what it varies on: its body
// depends on both fields the route names.
func (a *app) getUser(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Bob Bobber (%s, %s)", language(r), r.Header.Get("X-Custom-Header"))
}

// hello greets in the client's language; it needs no Vary of its own.
func (a *app) hello(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch language(r) {
	case "pl":
		fmt.Fprint(w, "Cześć, Bob")
	default:
		fmt.Fprint(w, "Hello, Bob")
	}
}

// language is a deliberately naive content negotiation: the client's first
// choice when it is Polish, else English.
func language(r *http.Request) string {
	if l := r.Header.Get("Accept-Language"); len(l) >= 2 && l[:2] == "pl" {
		return "pl"
	}
	return "en"
}

func main() {
	serve.Main(func() http.Handler { return newApp(serve.Memory(64 << 20)) }, "/users/1", "/hello")
}
