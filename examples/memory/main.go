// Command memory puts a whole application behind Larder with the built-in
// store, store/memory: the Go counterpart of the chocs-cache README's
// InMemoryCacheStorage, bounded by bytes.
//
//	go run ./examples/memory -max-bytes 67108864
//	curl -i http://127.0.0.1:8080/users/1                                 # stored
//	curl -i http://127.0.0.1:8080/users/1                                 # hit
//	curl -i -X PATCH --data 'Robert Bobber' http://127.0.0.1:8080/users/1  # invalidates /users/1
//	curl -i http://127.0.0.1:8080/debug/cache                             # what the store holds
//
// The seed's Python:
//
//	app = chocs.Application(CacheMiddleware(InMemoryCacheStorage()))
//
// With Middleware there is no route policy: as in a proxy, each handler's
// own Cache-Control, ETag and Vary decide what is stored and for how long.
// Successful unsafe requests invalidate, as on routes.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/serve"
	"github.com/larder-cache/larder/store/memory"
)

// app is the example application. It counts the calls of its handlers, so
// the tests can tell a response from the cache from one a handler made.
type app struct {
	http.Handler
	calls atomic.Int64

	mu    sync.Mutex
	names map[string]string
}

// newApp returns the application behind a cache keeping its entries in store.
// opts configure the cache; the tests pass a fake clock.
func newApp(store *memory.Store, opts ...larder.Option) *app {
	a := &app{names: map[string]string{"1": "Bob Bobber"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{user_id}", a.getUser)
	mux.HandleFunc("PATCH /users/{user_id}", a.patchUser)
	mux.HandleFunc("GET /debug/cache", func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		st := store.Stats()
		w.Header().Set("Cache-Control", "no-store") // never from the cache
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "entries=%d bytes=%d\n", st.Entries, st.Bytes)
	})
	// The whole mux behind the cache.
	a.Handler = larder.New(store, opts...).Middleware(mux)
	return a
}

// getUser sets its own caching policy: Cache-Control: max-age=10 stores the
// response for 10 seconds.
func (a *app) getUser(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	a.mu.Lock()
	name, ok := a.names[r.PathValue("user_id")]
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "max-age=10")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, name)
}

// patchUser renames a user to the request body; its success invalidates the
// user's URL.
func (a *app) patchUser(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
	if err != nil || len(b) == 0 {
		http.Error(w, "send the new name", http.StatusBadRequest)
		return
	}
	id := r.PathValue("user_id")
	a.mu.Lock()
	_, ok := a.names[id]
	if ok {
		a.names[id] = string(b)
	}
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	maxBytes := flag.Int64("max-bytes", 64<<20, "bound of the memory store, in bytes")
	serve.Main(func() http.Handler { return newApp(serve.Memory(*maxBytes)) }, "/users/1")
}
