package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
	"github.com/larder-cache/larder/store/memory"
)

// TestRevalidationWithETags: the first request reaches the API, the second
// is answered from the cache, and after max-age the cache revalidates: the
// API answers 304 and the caller gets the stored 200 with its body.
func TestRevalidationWithETags(t *testing.T) {
	a := &api{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	clk := exampletest.NewClock()
	store, err := memory.New(memory.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	client, tr := newClient(&http.Transport{}, store, larder.WithClock(clk.Now))
	defer tr.Close()
	url := srv.URL + "/repos/octocat/hello-world"

	for i, want := range []struct {
		fromCache         bool
		cacheStatus       string
		full, notModified int64
		advance           time.Duration
	}{
		{false, "fwd=uri-miss; stored", 1, 0, 0},
		{true, "; hit;", 1, 0, 0},
		{true, "fwd=stale; fwd-status=304", 1, 1, 61 * time.Second},
		{true, "; hit;", 1, 1, 0},
	} {
		clk.Advance(want.advance)
		r, err := fetch(client, url, "token")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusOK || r.Bytes == 0 || r.FromCache != want.fromCache ||
			!strings.Contains(r.CacheStatus, want.cacheStatus) {
			t.Errorf("request %d: %+v, want from cache %v, Cache-Status with %q", i+1, r, want.fromCache, want.cacheStatus)
		}
		if a.full.Load() != want.full || a.notModified.Load() != want.notModified {
			t.Errorf("request %d: API sent %d full responses and %d 304s, want %d and %d",
				i+1, a.full.Load(), a.notModified.Load(), want.full, want.notModified)
		}
	}
}
