// Command etag is the chocs-cache README's "ETag based cache" example in Go:
// the handler returns an ETag, and the cache answers If-None-Match with
// 304 Not Modified from what it stored, without calling the handler.
//
//	go run ./examples/etag
//	curl -i http://127.0.0.1:8080/users/1                                # 200, ETag: "etag-1"
//	curl -i -H 'If-None-Match: "etag-1"' http://127.0.0.1:8080/users/1   # 304, from the cache
//
// The seed's Python:
//
//	app = chocs.Application(CacheMiddleware(InMemoryCacheStorage()))
//
//	@app.get("/users/{user_id}", cache_expiry=10)
//	def get_user(request):
//	    return HttpResponse("Bob Bobber", headers={"etag": '"etag-1"'})
//
// As the seed says, an ETag must be unique per endpoint and per content type:
// the cache compares it with If-None-Match as the representation's identity.
package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/serve"
)

// app is the example application. It counts the calls of its handler, so the
// tests can tell a response from the cache from one the handler made.
type app struct {
	http.Handler
	calls atomic.Int64
}

// newApp returns the application: GET /users/{user_id} cached for 10 seconds
// in store. opts configure the cache; the tests pass a fake clock.
func newApp(store larder.Store, opts ...larder.Option) *app {
	a := &app{}
	cache := larder.New(store, opts...)
	mux := http.NewServeMux()
	mux.Handle("GET /users/{user_id}", cache.Handler(http.HandlerFunc(a.getUser), larder.Expiry(10*time.Second)))
	a.Handler = mux
	return a
}

// getUser is the seed's get_user: it sets an ETag and nothing else. It never
// reads If-None-Match; the cache evaluates it, against the stored response on
// a hit and against this response on a miss.
func (a *app) getUser(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("ETag", `"etag-1"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "Bob Bobber")
}

func main() {
	// The seed's InMemoryCacheStorage: the built-in store, bounded by bytes.
	serve.Main(func() http.Handler { return newApp(serve.Memory(64 << 20)) }, "/users/1")
}
