// Command cachecontrol is the chocs-cache README's "Specifying cache
// control" example in Go: cache_control="private" and "public" on a route.
//
//	go run ./examples/cachecontrol
//	curl -i http://127.0.0.1:8080/users/1                               # private: never stored here
//	curl -i -H 'Authorization: Bearer alice' http://127.0.0.1:8080/me   # private, stored for alice alone
//	curl -i -X PATCH -H 'Authorization: Bearer alice' --data 'away' http://127.0.0.1:8080/me
//	curl -i http://127.0.0.1:8080/users                                 # public: stored, shared
//
// The seed's Python:
//
//	@app.get("/users/{user_id}", cache_expiry=10, cache_control="private")
//	def get_user(request): return HttpResponse("Bob Bobber")
//
// Private() sends Cache-Control: private, so only the user's own (browser)
// cache keeps the response. Larder is a shared cache, so it does not store it
// either, unless the route also has PerUser: then each user's responses are
// stored under that user's key, and served to that user alone.
package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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

	mu     sync.Mutex
	status map[string]string // by user
}

// newApp returns the application behind a cache keeping its entries in store.
// opts configure the cache; the tests pass a fake clock.
func newApp(store larder.Store, opts ...larder.Option) *app {
	a := &app{status: make(map[string]string)}
	cache := larder.New(store, opts...)
	mux := http.NewServeMux()

	// The seed's route: cache_expiry=10, cache_control="private". Sent with
	// Cache-Control: private, max-age=10; not stored by Larder.
	mux.Handle("GET /users/{user_id}", cache.Route(
		larder.Expiry(10*time.Second),
		larder.Private(),
	)(http.HandlerFunc(a.getUser)))

	// The per-user variant: private, and stored per user, keyed by the
	// Authorization field (hashed). larder.UserCookie("session") keys by a
	// session cookie instead. A request without it is anonymous: it never
	// gets a user's page, and a private response to it is not stored.
	mux.Handle("GET /me", cache.Route(
		larder.Expiry(10*time.Second),
		larder.Private(),
		larder.PerUser(larder.UserHeader("Authorization")),
	)(http.HandlerFunc(a.me)))
	// A successful PATCH /me invalidates /me, every user's copy of it.
	mux.Handle("PATCH /me", cache.Route()(http.HandlerFunc(a.setStatus)))

	// cache_control="public": Cache-Control: public, max-age=10, stored once
	// for everyone.
	mux.Handle("GET /users", cache.Route(
		larder.Expiry(10*time.Second),
		larder.Public(),
	)(http.HandlerFunc(a.listUsers)))

	a.Handler = mux
	return a
}

// getUser is the seed's get_user.
func (a *app) getUser(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "Bob Bobber")
}

// me is a page only its user may see.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	user, ok := authenticate(w, r)
	if !ok {
		return
	}
	a.mu.Lock()
	status := a.status[user]
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "private page of %s", user)
	if status != "" {
		fmt.Fprintf(w, " (%s)", status)
	}
}

// setStatus sets the user's status, shown on their page, to the request body.
func (a *app) setStatus(w http.ResponseWriter, r *http.Request) {
	user, ok := authenticate(w, r)
	if !ok {
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.status[user] = string(b)
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// authenticate is a toy: the user is whoever the bearer token names. It
// answers 401 itself when there is none.
func authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || user == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "who are you?", http.StatusUnauthorized)
		return "", false
	}
	return user, true
}

// listUsers is a page everyone sees alike.
func (a *app) listUsers(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "Bob Bobber\nAlice Allison\n")
}

func main() {
	serve.Main(func() http.Handler { return newApp(serve.Memory(64 << 20)) }, "/users/1", "/me", "/users")
}
