// Command simple is the first example of the chocs-cache README, "Simple
// cache", in Go: a custom in-memory store and a route cached for 10 seconds.
//
//	go run ./examples/simple
//	curl -i http://127.0.0.1:8080/users/1   # Cache-Status: Larder; fwd=uri-miss; stored; ttl=10
//	curl -i http://127.0.0.1:8080/users/1   # Cache-Status: Larder; hit; ttl=..., Age: ...
//
// The seed's Python:
//
//	app = chocs.Application(CacheMiddleware(MemoryCache()))
//
//	@app.get("/users/{user_id}", cache_expiry=10)
//	def get_user(request): return HttpResponse("Bob Bobber", 200)
package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/serve"
)

// memoryCache is the seed's MemoryCache: a custom store that keeps entries in
// a map. Where the seed's ICacheStorage has get and set, a larder.Store has
// Get (larder.ErrNotFound on a miss), Set with a time to live, and Delete.
//
// It never evicts, so its memory grows with every URL requested: in
// production use the bounded store/memory, or a store backed by Redis or
// another cache database your application uses.
type memoryCache struct {
	now func() time.Time

	mu    sync.Mutex
	items map[string]memoryItem
}

type memoryItem struct {
	entry   *larder.Entry
	expires time.Time
}

var _ larder.Store = (*memoryCache)(nil)

// newMemoryCache returns an empty store reading the time from now (nil means
// time.Now) to expire its entries.
func newMemoryCache(now func() time.Time) *memoryCache {
	if now == nil {
		now = time.Now
	}
	return &memoryCache{now: now, items: make(map[string]memoryItem)}
}

// Get returns the entry stored under key, or larder.ErrNotFound when there is
// none or its time to live has passed.
func (m *memoryCache) Get(_ context.Context, key string) (*larder.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		return nil, larder.ErrNotFound
	}
	if !m.now().Before(it.expires) {
		delete(m.items, key)
		return nil, larder.ErrNotFound
	}
	return it.entry, nil
}

// Set stores e under key for ttl. The cache never modifies an entry it handed
// to Set, so the store may keep the pointer.
func (m *memoryCache) Set(_ context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[key] = memoryItem{entry: e, expires: m.now().Add(ttl)}
	return nil
}

// NonBlocking tells the cache that this store is a map in memory whose
// calls never wait (larder.NonBlockingStore): the cache calls it directly and
// stores a response before the handler's call returns, instead of queuing
// the write as it does for a store over a network.
func (m *memoryCache) NonBlocking() bool { return true }

// Delete removes the entry under key, if any.
func (m *memoryCache) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
	return nil
}

// app is the example application. It counts the calls of its handler, so the
// tests can tell a response from the cache from one the handler made.
type app struct {
	http.Handler
	calls atomic.Int64
}

// newApp returns the application: GET /users/{user_id} cached for 10 seconds
// in store (the seed's cache_expiry=10). opts configure the cache; the tests
// pass a fake clock.
func newApp(store larder.Store, opts ...larder.Option) *app {
	a := &app{}
	cache := larder.New(store, opts...)
	mux := http.NewServeMux()
	mux.Handle("GET /users/{user_id}",
		cache.Route(larder.Expiry(10*time.Second))(http.HandlerFunc(a.getUser)))
	a.Handler = mux
	return a
}

// getUser is the seed's get_user. Expiry makes the cache store its response
// for 10 seconds and send it with Cache-Control: max-age=10.
func (a *app) getUser(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "Bob Bobber")
}

func main() {
	serve.Main(func() http.Handler { return newApp(newMemoryCache(nil)) }, "/users/1")
}
