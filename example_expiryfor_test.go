package larder_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/larder-cache/larder"
)

// Successes are cached for 10 s; a 404 is cached for a minute only because
// ExpiryFor says so (by default Expiry leaves error statuses alone).
func ExampleExpiryFor() {
	clock := newExampleClock()
	store := newExampleStore(clock)
	defer store.Close()

	var calls int
	h := larder.New(store, larder.WithClock(clock.Now)).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.URL.Path != "/users/1" {
				http.Error(w, fmt.Sprintf("no such user, call %d", calls), http.StatusNotFound)
				return
			}
			fmt.Fprintf(w, "Bob Bobber, call %d", calls)
		}),
		larder.Expiry(10*time.Second),
		larder.ExpiryFor(time.Minute, http.StatusNotFound),
	)

	printResponse(send(h, "GET", "http://example.com/users/2"))
	clock.Advance(30 * time.Second)
	printResponse(send(h, "GET", "http://example.com/users/2"))
	// Output:
	// 404 "no such user, call 1\n"
	//     Cache-Control: max-age=60
	//     Cache-Status: Larder; fwd=uri-miss; stored; ttl=60
	// 404 "no such user, call 1\n"
	//     Cache-Control: max-age=60
	//     Age: 30
	//     Cache-Status: Larder; hit; ttl=30
}
