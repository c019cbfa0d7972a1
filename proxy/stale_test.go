package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/memory"
)

// When the upstream goes down, a cache in front of the proxy serves its
// stale copy instead of the 502 (RFC 9111 §4.2.4: a disconnected cache).
func TestStaleServedWhenUpstreamDown(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		_, _ = io.WriteString(w, "kept")
	}))
	u, _ := url.Parse(origin.URL)
	p, err := proxy.New(proxy.Config{Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now() // the origin stamps a real Date
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store, err := memory.New(memory.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cache := larder.New(store, larder.WithClock(clock))
	front := httptest.NewServer(cache.Middleware(p))
	defer front.Close()

	get := func() (int, string, string) {
		res, err := http.Get(front.URL + "/page")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Cache-Status")
	}
	if _, _, cs := get(); cs != "Larder; fwd=uri-miss; stored; ttl=10" {
		t.Fatalf("first: %q", cs)
	}
	origin.Close()
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if code, body, cs := get(); code != 200 || body != "kept" ||
		!strings.HasPrefix(cs, "Larder; fwd=stale; fwd-status=502; ttl=") || !strings.HasSuffix(cs, "; detail=origin-unreachable") {
		t.Fatalf("got %d %q %q", code, body, cs)
	}
}
