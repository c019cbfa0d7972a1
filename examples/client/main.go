// Command client is a GitHub-API-style client with a client-side cache:
// larder.Transport in an http.Client. The API answers with an ETag and
// "Cache-Control: private, max-age=60"; the Transport reuses the response
// for a minute without a request, then revalidates it with If-None-Match.
// A 304 costs the API no rate limit, and the caller still gets the stored
// 200 with its body.
//
//	go run ./examples/client                          # against a local stand-in for the API
//	go run ./examples/client -url https://api.github.com/repos/golang/go -n 3 -every 61s
//
// Each request prints its status, the Cache-Status field (RFC 9211) and
// X-From-Cache (WithFromCacheHeader, gregjones/httpcache's marker).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// newClient returns an http.Client whose transport is a private cache in
// store over base (nil: http.DefaultTransport). opts configure the cache;
// the tests pass a fake clock.
func newClient(base http.RoundTripper, store larder.Store, opts ...larder.Option) (*http.Client, *larder.Transport) {
	opts = append([]larder.Option{larder.WithFromCacheHeader()}, opts...)
	tr := larder.NewTransport(base, store, opts...)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, tr
}

// result is what the example prints of a response.
type result struct {
	Status      int
	CacheStatus string
	FromCache   bool
	Bytes       int
}

// fetch sends one API request, as GitHub's API wants it, and reads the
// response whole (a body read whole is what gets stored).
func fetch(c *http.Client, url, token string) (result, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if token != "" {
		// A private cache stores responses to requests with
		// Authorization (RFC 9111 §3.5): one Transport per user.
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{
		Status:      resp.StatusCode,
		CacheStatus: resp.Header.Get("Cache-Status"),
		FromCache:   resp.Header.Get("X-From-Cache") == "1",
		Bytes:       len(b),
	}, nil
}

// api is a stand-in for the GitHub API: one repository, an ETag, a
// minute of freshness, 304 to a matching If-None-Match. It counts full
// responses and 304s.
type api struct {
	full, notModified atomic.Int64
}

const repoETag = `"7f2b0c1e"`

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	h.Set("ETag", repoETag)
	h.Set("Vary", "Accept, Authorization")
	if r.Header.Get("If-None-Match") == repoETag {
		a.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	a.full.Add(1)
	h.Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprint(w, `{"full_name":"octocat/hello-world","stargazers_count":80}`)
}

func main() {
	url := flag.String("url", "", "API URL to fetch (default: a local stand-in for the GitHub API)")
	n := flag.Int("n", 3, "number of requests")
	every := flag.Duration("every", 0, "pause between requests (61s shows a revalidation)")
	flag.Parse()
	if *url == "" {
		srv := httptest.NewServer(&api{})
		defer srv.Close()
		*url = srv.URL + "/repos/octocat/hello-world"
	}
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	client, tr := newClient(nil, store)
	defer tr.Close()
	for i := range *n {
		if i > 0 && *every > 0 {
			time.Sleep(*every)
		}
		r, err := fetch(client, *url, os.Getenv("GITHUB_TOKEN"))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d %d bytes  X-From-Cache: %v  Cache-Status: %s\n", r.Status, r.Bytes, r.FromCache, r.CacheStatus)
	}
}
