package larder_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/larder-cache/larder"
)

// Tag responses from the route (and from the handler's Surrogate-Key),
// then purge every response of one product by its tag.
func ExampleCache_PurgeTags() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()
	c := larder.New(store, larder.WithClock(clock.Now))
	mux := http.NewServeMux()
	mux.Handle("GET /products/{id}", c.Route(
		larder.Expiry(time.Minute),
		larder.Tags(func(r *http.Request) []string { return []string{"product:" + r.PathValue("id")} }),
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Surrogate-Key", "products") // removed before the client sees it
		fmt.Fprintf(w, "product %s", r.PathValue("id"))
	})))

	send(mux, "GET", "/products/42")
	w := send(mux, "GET", "/products/42")
	fmt.Printf("%s, Surrogate-Key %q\n", w.Header().Get("Cache-Status"), w.Header().Get("Surrogate-Key"))

	if err := c.PurgeTags(context.Background(), "product:42"); err != nil {
		fmt.Println(err)
	}
	clock.Advance(time.Second)
	fmt.Println(send(mux, "GET", "/products/42").Header().Get("Cache-Status"))
	// Output:
	// Larder; hit; ttl=60, Surrogate-Key ""
	// Larder; fwd=uri-miss; stored; ttl=60
}

// A soft purge makes a response stale: with stale-while-revalidate it is
// still served, once, while the cache revalidates it.
func ExampleCache_SoftPurge() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()
	c := larder.New(store, larder.WithClock(clock.Now))
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600, stale-while-revalidate=60")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, "hello")
	}))
	send(h, "GET", "/a")
	clock.Advance(10 * time.Second)
	if err := c.SoftPurge(context.Background(), "https://example.com/a"); err != nil {
		fmt.Println(err)
	}
	clock.Advance(time.Second)
	fmt.Println(send(h, "GET", "/a").Header().Get("Cache-Status"))
	c.Close() // the background revalidation
	fmt.Println(send(h, "GET", "/a").Header().Get("Cache-Status"))
	// Output:
	// Larder; hit; ttl=-1; detail=stale-while-revalidate
	// Larder; hit; ttl=600
}
