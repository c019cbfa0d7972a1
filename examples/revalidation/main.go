// Command revalidation is the chocs-cache README's "Cache revalidation"
// example in Go: a store that collects (deletes) stale entries when an
// unsafe request to their URL succeeds.
//
//	go run ./examples/revalidation
//	curl -i http://127.0.0.1:8080/users/1                                 # stored
//	curl -i http://127.0.0.1:8080/users/1                                 # hit
//	curl -i -X PATCH --data 'Robert Bobber' http://127.0.0.1:8080/users/1  # logs "collect http://127.0.0.1:8080/users/1"
//	curl -i http://127.0.0.1:8080/users/1                                 # the handler again: Robert Bobber
//
// The seed's Python:
//
//	class CacheStorage(ICollectableCacheStorage):
//	    def collect(self, item): del self._storage[item.id]
//
//	@app.get("/users/{user_id}", cache_expiry=10)
//	def get_test(req): return HttpResponse(f"user {user_id}", headers={"etag": f"{user_id}"})
//
//	@app.patch("/users/{user_id}", cache=True)
//	def patch_test(req): return HttpResponse("{user data}")
//
// In Larder every route behind the cache invalidates on a successful unsafe
// request (POST, PUT, PATCH, DELETE, ...): the seed's cache=True is the
// default. Invalidation calls Store.Delete, the seed's collect, for the
// request's URL (and Location / Content-Location); larder.Invalidate names
// more URLs, here the user list.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/serve"
)

// collectingStore is the seed's CacheStorage: a map of entries whose Delete,
// the seed's collect, logs what it collects.
type collectingStore struct {
	now func() time.Time
	log *log.Logger

	mu        sync.Mutex
	items     map[string]storedItem
	collected []string
}

type storedItem struct {
	entry   *larder.Entry
	expires time.Time
}

var _ larder.Store = (*collectingStore)(nil)

// newCollectingStore returns an empty store that logs collections to logger
// and reads the time from now (nil means time.Now).
func newCollectingStore(logger *log.Logger, now func() time.Time) *collectingStore {
	if now == nil {
		now = time.Now
	}
	return &collectingStore{now: now, log: logger, items: make(map[string]storedItem)}
}

// NonBlocking tells the cache that the store is in memory and never waits
// (larder.NonBlockingStore): it is written before the response is complete.
func (s *collectingStore) NonBlocking() bool { return true }

// Get returns the entry stored under key, or larder.ErrNotFound.
func (s *collectingStore) Get(_ context.Context, key string) (*larder.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[key]
	if !ok || !s.now().Before(it.expires) {
		return nil, larder.ErrNotFound
	}
	return it.entry, nil
}

// Set stores e under key for ttl.
func (s *collectingStore) Set(_ context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[key] = storedItem{entry: e, expires: s.now().Add(ttl)}
	return nil
}

// Delete is the seed's collect: the cache calls it with the key of a URL
// whose stored responses an unsafe request made stale. A key is the
// absolute URL, for example http://127.0.0.1:8080/users/1; when the URL's
// responses vary, deleting it drops all their variants.
func (s *collectingStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[key]; ok {
		s.log.Printf("collect %s", key)
	}
	delete(s.items, key)
	s.collected = append(s.collected, key)
	return nil
}

// Collected returns every key Delete was called with, in order.
func (s *collectingStore) Collected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.collected...)
}

// users is a toy user database. Each change bumps the user's version, which
// is the ETag.
type users struct {
	mu   sync.Mutex
	byID map[string]*user
}

type user struct {
	name    string
	version int
}

func (u *user) etag(id string) string { return `"` + id + "." + strconv.Itoa(u.version) + `"` }

// app is the example application. It counts the calls of its GET handlers,
// so the tests can tell a response from the cache from one a handler made.
type app struct {
	http.Handler
	db    users
	calls atomic.Int64
}

// newApp returns the application behind a cache keeping its entries in store.
// opts configure the cache; the tests pass a fake clock.
func newApp(store larder.Store, opts ...larder.Option) *app {
	a := &app{db: users{byID: map[string]*user{
		"1": {name: "Bob Bobber", version: 1},
		"2": {name: "Alice Allison", version: 1},
	}}}
	cache := larder.New(store, opts...)
	mux := http.NewServeMux()
	mux.Handle("GET /users/{user_id}", cache.Route(larder.Expiry(10*time.Second))(http.HandlerFunc(a.getUser)))
	mux.Handle("GET /users", cache.Route(larder.Expiry(10*time.Second))(http.HandlerFunc(a.listUsers)))
	// The seed's cache=True: no option needed to collect /users/{user_id}.
	// Invalidate adds the list, which shows the user's name too.
	mux.Handle("PATCH /users/{user_id}", cache.Route(larder.Invalidate(func(*http.Request) []string {
		return []string{"/users"}
	}))(http.HandlerFunc(a.patchUser)))
	a.Handler = mux
	return a
}

// getUser answers with the user and its ETag. When the cache revalidates a
// stale entry it sends the stored ETag in If-None-Match; a matching user is
// then answered with a cheap 304, and the cache serves what it stored.
func (a *app) getUser(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	id := r.PathValue("user_id")
	a.db.mu.Lock()
	u, ok := a.db.byID[id]
	var name, etag string
	if ok {
		name, etag = u.name, u.etag(id)
	}
	a.db.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "user %s: %s", id, name)
}

// listUsers lists the users' names.
func (a *app) listUsers(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	a.db.mu.Lock()
	body := "1: " + a.db.byID["1"].name + "\n2: " + a.db.byID["2"].name + "\n"
	a.db.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, body)
}

// patchUser renames a user to the request body. Its success makes the cache
// collect the user's URL and the list; a failure (404, 400) collects nothing.
func (a *app) patchUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("user_id")
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
	if err != nil || len(b) == 0 {
		http.Error(w, "send the new name", http.StatusBadRequest)
		return
	}
	a.db.mu.Lock()
	u, ok := a.db.byID[id]
	if ok {
		u.name = string(b)
		u.version++
	}
	a.db.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"id\": %q, \"name\": %q}\n", id, b)
}

func main() {
	serve.Main(func() http.Handler { return newApp(newCollectingStore(log.Default(), nil)) }, "/users/1")
}
