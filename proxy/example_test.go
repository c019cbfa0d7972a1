package proxy_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/memory"
)

// A caching reverse proxy: a cache in front of the proxy to an origin. The
// origin sees the first request only; the cache answers the second.
func Example() {
	var calls atomic.Int32
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "hello from the origin, for %s", r.Host)
	}))
	defer origin.Close()
	upstream, err := url.Parse(origin.URL)
	if err != nil {
		log.Fatal(err)
	}

	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	cache := larder.New(store)

	transport := proxy.NewTransport(0)
	defer transport.CloseIdleConnections()
	p, err := proxy.New(proxy.Config{Upstream: upstream, Transport: transport})
	if err != nil {
		log.Fatal(err)
	}
	front := httptest.NewServer(cache.Middleware(p))
	defer front.Close()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, front.URL+"/greeting", nil)
		req.Host = "www.example.com" // kept: the cache and the origin see the client's Host
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, _, _ := strings.Cut(resp.Header.Get("Cache-Status"), "; ttl")
		fmt.Printf("%q\n    Via: %s\n    Cache-Status: %s\n", body, resp.Header.Get("Via"), status)
	}
	fmt.Println("origin calls:", calls.Load())
	// Output:
	// "hello from the origin, for www.example.com"
	//     Via: 1.1 larder
	//     Cache-Status: Larder; fwd=uri-miss; stored
	// "hello from the origin, for www.example.com"
	//     Via: 1.1 larder
	//     Cache-Status: Larder; hit
	// origin calls: 1
}
