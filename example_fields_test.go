package larder_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/larder-cache/larder"
)

// The memory store is an EntryKeeper: the cache gives it responses in a
// compact form, without a Header map. Fields returns their header fields.
func ExampleEntry_Fields() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	cache := larder.New(store, larder.WithClock(clock.Now))
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello")
	}))
	send(h, "GET", "http://example.com/hello")

	e, err := store.Get(context.Background(), "http://example.com/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	f := e.Fields()
	fmt.Println(e.Header == nil, f.Get("Content-Type"), f.Get("Cache-Control"), f.Get("Content-Length"))

	// An entry built by hand keeps its Header, which Fields returns.
	hand := &larder.Entry{Kind: larder.KindResponse, Status: 200, Header: http.Header{"Content-Type": {"text/html"}}}
	fmt.Println(hand.Fields().Get("Content-Type"))
	// Output:
	// true text/plain max-age=60 5
	// text/html
}
