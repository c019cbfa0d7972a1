package larder_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// exampleClock is a fake clock: the examples move it forward instead of
// sleeping, so their output does not depend on timing. The memory store's
// background goroutine reads it too, hence the atomic.
type exampleClock struct{ unixNano atomic.Int64 }

func newExampleClock() *exampleClock {
	c := &exampleClock{}
	c.unixNano.Store(time.Date(2026, time.March, 14, 9, 26, 53, 0, time.UTC).UnixNano())
	return c
}

func (c *exampleClock) Now() time.Time          { return time.Unix(0, c.unixNano.Load()).UTC() }
func (c *exampleClock) Advance(d time.Duration) { c.unixNano.Add(int64(d)) }

// newExampleStore returns the built-in memory store on clock.
func newExampleStore(clock *exampleClock) *memory.Store {
	store, err := memory.New(memory.Options{MaxBytes: 16 << 20, Clock: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	return store
}

// send serves one request with h; header holds request fields as name, value
// pairs.
func send(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	var body io.Reader
	if method == http.MethodPatch || method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader("{}")
	}
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// printResponse prints the status, the body and the caching header fields
// of a response.
func printResponse(w *httptest.ResponseRecorder) {
	fmt.Printf("%d %q\n", w.Code, w.Body.String())
	for _, k := range []string{"Cache-Control", "Vary", "ETag", "Age", "Cache-Status"} {
		if v := w.Header().Get(k); v != "" {
			fmt.Printf("    %s: %s\n", k, v)
		}
	}
}

// New puts a cache in front of a handler; here one route, cached for ten
// seconds (the seed's cache_expiry=10).
func ExampleNew() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	cache := larder.New(store, larder.WithClock(clock.Now))
	getUser := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Bob Bobber")
	})
	h := cache.Handler(getUser, larder.Expiry(10*time.Second))

	printResponse(send(h, "GET", "http://example.com/users/1"))
	printResponse(send(h, "GET", "http://example.com/users/1"))
	// Output:
	// 200 "Bob Bobber"
	//     Cache-Control: max-age=10
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=10
	// 200 "Bob Bobber"
	//     Cache-Control: max-age=10
	//     Age: 0
	//     Cache-Status: Larder; hit; ttl=10
}

// Middleware puts a whole mux behind the cache. There is no route policy:
// the handlers' own Cache-Control decides what is stored, as with a proxy.
func ExampleCache_Middleware() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "user %s", r.PathValue("id"))
	})
	mux.HandleFunc("GET /now", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, "never stored")
	})
	h := larder.New(store, larder.WithClock(clock.Now)).Middleware(mux)

	printResponse(send(h, "GET", "http://example.com/users/7"))
	clock.Advance(5 * time.Second)
	printResponse(send(h, "GET", "http://example.com/users/7"))
	printResponse(send(h, "GET", "http://example.com/now"))
	printResponse(send(h, "GET", "http://example.com/now"))
	// Output:
	// 200 "user 7"
	//     Cache-Control: max-age=60
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=60
	// 200 "user 7"
	//     Cache-Control: max-age=60
	//     Age: 5
	//     Cache-Status: Larder; hit; ttl=55
	// 200 "never stored"
	//     Cache-Control: no-store
	//     Cache-Status: Larder; fwd=uri-miss
	// 200 "never stored"
	//     Cache-Control: no-store
	//     Cache-Status: Larder; fwd=uri-miss
}

// Route caches one route with a policy: here cache_expiry=10 and
// cache_vary=("accept-language",), so each language is stored apart.
func ExampleCache_Route() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()
	cache := larder.New(store, larder.WithClock(clock.Now))

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Accept-Language"), "pl") {
			fmt.Fprint(w, "Cześć")
			return
		}
		fmt.Fprint(w, "Hello")
	})
	mux := http.NewServeMux()
	mux.Handle("GET /hello", cache.Route(
		larder.Expiry(10*time.Second),
		larder.Vary("Accept-Language"),
	)(hello))

	printResponse(send(mux, "GET", "http://example.com/hello", "Accept-Language", "en"))
	printResponse(send(mux, "GET", "http://example.com/hello", "Accept-Language", "pl"))
	clock.Advance(2 * time.Second)
	printResponse(send(mux, "GET", "http://example.com/hello", "Accept-Language", "en"))
	printResponse(send(mux, "GET", "http://example.com/hello", "Accept-Language", "pl"))
	// Output:
	// 200 "Hello"
	//     Cache-Control: max-age=10
	//     Vary: Accept-Language
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=10
	// 200 "Cześć"
	//     Cache-Control: max-age=10
	//     Vary: Accept-Language
	//     Cache-Status: Larder; fwd=vary-miss; stored; ttl=10
	// 200 "Hello"
	//     Cache-Control: max-age=10
	//     Vary: Accept-Language
	//     Age: 2
	//     Cache-Status: Larder; hit; ttl=8
	// 200 "Cześć"
	//     Cache-Control: max-age=10
	//     Vary: Accept-Language
	//     Age: 2
	//     Cache-Status: Larder; hit; ttl=8
}

// Expiry is the seed's cache_expiry: the response is served from the cache,
// with its Age, until it is ten seconds old; then the handler runs again.
func ExampleExpiry() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	var calls int
	h := larder.New(store, larder.WithClock(clock.Now)).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			fmt.Fprintf(w, "Bob Bobber, call %d", calls)
		}),
		larder.Expiry(10*time.Second),
	)

	printResponse(send(h, "GET", "http://example.com/users/1"))
	clock.Advance(9 * time.Second)
	printResponse(send(h, "GET", "http://example.com/users/1"))
	clock.Advance(2 * time.Second)
	printResponse(send(h, "GET", "http://example.com/users/1"))
	// Output:
	// 200 "Bob Bobber, call 1"
	//     Cache-Control: max-age=10
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=10
	// 200 "Bob Bobber, call 1"
	//     Cache-Control: max-age=10
	//     Age: 9
	//     Cache-Status: Larder; hit; ttl=1
	// 200 "Bob Bobber, call 2"
	//     Cache-Control: max-age=10
	//     Cache-Status: Larder; fwd=stale; stored; ttl=10
}

// PerUser stores a private route's responses (the seed's
// cache_control="private") once per user, keyed by the Authorization field:
// each user gets their own page from the cache, never another user's.
// Anonymous requests are not stored.
func ExamplePerUser() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	h := larder.New(store, larder.WithClock(clock.Now)).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				fmt.Fprintf(w, "page of %s", user)
				return
			}
			fmt.Fprint(w, "welcome, guest")
		}),
		larder.Expiry(time.Minute),
		larder.Private(),
		larder.PerUser(larder.UserHeader("Authorization")),
	)

	for _, user := range []string{"alice", "bob", "alice", "bob"} {
		printResponse(send(h, "GET", "http://example.com/me", "Authorization", "Bearer "+user))
	}
	printResponse(send(h, "GET", "http://example.com/me"))
	// Output:
	// 200 "page of alice"
	//     Cache-Control: private, max-age=60
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=60
	// 200 "page of bob"
	//     Cache-Control: private, max-age=60
	//     Cache-Status: Larder; fwd=vary-miss; stored; ttl=60
	// 200 "page of alice"
	//     Cache-Control: private, max-age=60
	//     Age: 0
	//     Cache-Status: Larder; hit; ttl=60
	// 200 "page of bob"
	//     Cache-Control: private, max-age=60
	//     Age: 0
	//     Cache-Status: Larder; hit; ttl=60
	// 200 "welcome, guest"
	//     Cache-Control: private, max-age=60
	//     Cache-Status: Larder; fwd=vary-miss
}

// A successful unsafe request (here PATCH) invalidates its own URL by
// default, the seed's cache=True. Invalidate names more URLs to drop: the
// user list, which shows the user too.
func ExampleInvalidate() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()
	cache := larder.New(store, larder.WithClock(clock.Now))

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", cache.Route(larder.Expiry(time.Minute))(ok))
	mux.Handle("GET /users", cache.Route(larder.Expiry(time.Minute))(ok))
	mux.Handle("PATCH /users/{id}", cache.Route(larder.Invalidate(func(r *http.Request) []string {
		return []string{"/users"}
	}))(ok))

	for _, req := range []string{
		"GET /users/1", "GET /users", // stored
		"GET /users/1", "GET /users", // hits
		"PATCH /users/1",             // invalidates both
		"GET /users/1", "GET /users", // stored again
	} {
		method, path, _ := strings.Cut(req, " ")
		w := send(mux, method, "http://example.com"+path)
		fmt.Printf("%-14s -> %s\n", req, w.Header().Get("Cache-Status"))
	}
	// Output:
	// GET /users/1   -> Larder; fwd=uri-miss; stored; ttl=60
	// GET /users     -> Larder; fwd=uri-miss; stored; ttl=60
	// GET /users/1   -> Larder; hit; ttl=60
	// GET /users     -> Larder; hit; ttl=60
	// PATCH /users/1 -> Larder; fwd=method
	// GET /users/1   -> Larder; fwd=uri-miss; stored; ttl=60
	// GET /users     -> Larder; fwd=uri-miss; stored; ttl=60
}

// WithETags gives stored responses that have no ETag one computed from the
// body, so that conditional requests get a 304 from the cache even though
// the handler knows nothing of ETags.
func ExampleWithETags() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	h := larder.New(store, larder.WithClock(clock.Now), larder.WithETags()).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "Bob Bobber")
		}),
		larder.Expiry(10*time.Second),
	)

	first := send(h, "GET", "http://example.com/users/1")
	printResponse(first)
	etag := first.Header().Get("ETag")
	printResponse(send(h, "GET", "http://example.com/users/1", "If-None-Match", etag))
	// Output:
	// 200 "Bob Bobber"
	//     Cache-Control: max-age=10
	//     ETag: "6KuDUiCA5kmauGz0CxQB9_IH"
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=10
	// 304 ""
	//     Cache-Control: max-age=10
	//     ETag: "6KuDUiCA5kmauGz0CxQB9_IH"
	//     Age: 0
	//     Cache-Status: Larder; hit; ttl=10
}
