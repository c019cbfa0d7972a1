package larder_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// A GitHub-API-style client: the API answers with an ETag and
// "Cache-Control: private, max-age=60", and a conditional request answered
// 304 does not count against the rate limit. The Transport reuses the
// response for a minute without asking, then revalidates it with
// If-None-Match: the origin answers 304 and the caller gets the stored 200.
func ExampleNewTransport() {
	var mu sync.Mutex
	remaining := 60 // the rate limit: full responses only
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
		w.Header().Set("ETag", `"644b5b0155e6404a9cc4bd9d8b1ae730"`)
		w.Header().Set("Vary", "Accept, Authorization")
		if r.Header.Get("If-None-Match") == `"644b5b0155e6404a9cc4bd9d8b1ae730"` {
			fmt.Println("  origin: 304 Not Modified")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		mu.Lock()
		remaining--
		w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(remaining))
		mu.Unlock()
		fmt.Println("  origin: 200 OK")
		_, _ = w.Write([]byte(`{"full_name":"octocat/hello-world"}`))
	}))
	defer api.Close()

	// A clock the example moves instead of sleeping.
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	store, _ := memory.New(memory.Options{MaxBytes: 64 << 20})
	defer store.Close()
	tr := larder.NewTransport(nil, store, larder.WithClock(func() time.Time { return now }))
	defer tr.Close()
	client := &http.Client{Transport: tr}

	get := func() {
		req, _ := http.NewRequest("GET", api.URL+"/repos/octocat/hello-world", nil)
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("Authorization", "Bearer token")
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
		fmt.Println("  Cache-Status:", resp.Header.Get("Cache-Status"))
	}
	fmt.Println("first request:")
	get()
	fmt.Println("within max-age:")
	get()
	now = now.Add(61 * time.Second)
	fmt.Println("a minute later:")
	get()
	// Output:
	// first request:
	//   origin: 200 OK
	// 200 {"full_name":"octocat/hello-world"}
	//   Cache-Status: Larder; fwd=uri-miss; stored; ttl=60
	// within max-age:
	// 200 {"full_name":"octocat/hello-world"}
	//   Cache-Status: Larder; hit; ttl=60
	// a minute later:
	//   origin: 304 Not Modified
	// 200 {"full_name":"octocat/hello-world"}
	//   Cache-Status: Larder; fwd=stale; fwd-status=304; stored; ttl=60
}

// gregjones/httpcache marks the responses it serves from its cache with
// X-From-Cache: 1; WithFromCacheHeader does the same.
func ExampleWithFromCacheHeader() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("data"))
	}))
	defer api.Close()
	store, _ := memory.New(memory.Options{MaxBytes: 1 << 20})
	defer store.Close()
	tr := larder.NewTransport(nil, store, larder.WithFromCacheHeader())
	defer tr.Close()
	client := &http.Client{Transport: tr}
	for range 2 {
		resp, err := client.Get(api.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("X-From-Cache: %q\n", resp.Header.Get("X-From-Cache"))
	}
	// Output:
	// X-From-Cache: ""
	// X-From-Cache: "1"
}

// A Transport is a private cache unless SharedCache is given: a shared
// cache does not store a response to a request with Authorization unless
// the response allows it (RFC 9111 §3.5), a private one does.
func ExampleSharedCache() {
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("the user's data"))
	}))
	defer api.Close()
	for _, opts := range [][]larder.Option{nil, {larder.SharedCache()}} {
		calls.Store(0)
		store, _ := memory.New(memory.Options{MaxBytes: 1 << 20})
		tr := larder.NewTransport(nil, store, opts...)
		client := &http.Client{Transport: tr}
		for range 2 {
			req, _ := http.NewRequest("GET", api.URL, nil)
			req.Header.Set("Authorization", "Bearer token")
			resp, err := client.Do(req)
			if err != nil {
				fmt.Println(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		_ = tr.Close()
		store.Close()
		fmt.Println("origin requests:", calls.Load())
	}
	// Output:
	// origin requests: 1
	// origin requests: 2
}
