package memcache_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memcache"
)

// Two memcached servers shared by every process of a fleet: each process
// makes the same store (the same servers, in the same order, and the same
// prefix) and a cache on it.
func Example() {
	store, err := memcache.NewFromServers([]string{"10.0.0.1:11211", "10.0.0.2:11211"}, memcache.Options{
		Prefix:  "www:",
		Timeout: 250 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	cache := larder.New(store)
	defer cache.Close()
	http.Handle("/", cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintln(w, "hello")
	})))
	// http.ListenAndServe(":8080", nil)
}

// ParseURL reads the form larder's --store flag takes.
func ExampleParseURL() {
	servers, opts, err := memcache.ParseURL("memcache://10.0.0.1,10.0.0.2:11212?prefix=www:&item_size=8MiB")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(servers, opts.Prefix, opts.MaxValueSize)
	// Output: [10.0.0.1:11211 10.0.0.2:11212] www: 8388096
}
