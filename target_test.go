package larder_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/memory"
)

// spellings are request targets that share a key with /strict/norm1 (or
// with /strict/n?q=~), each as a client may send it.
var spellings = []struct{ raw, normal string }{
	{"/strict/x/../norm1", "/strict/norm1"},
	{"/strict/x/%2e%2e/norm1", "/strict/norm1"},
	{"/strict/./norm1", "/strict/norm1"},
	{"/strict/%6Eorm1", "/strict/norm1"},
	{"/strict/n?q=%7e", "/strict/n?q=~"},
}

// TestKeyIsWhatIsForwarded: the handler gets the request target in the
// normal form the cache keys it by, so a response to one spelling is only
// ever served for the target the handler answered (RFC 9110 §4.2.3).
func TestKeyIsWhatIsForwarded(t *testing.T) {
	for _, sp := range spellings {
		t.Run(sp.raw, func(t *testing.T) {
			var seen, seenURI string
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				seen, seenURI = r.URL.RequestURI(), r.RequestURI
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, "answer for "+r.URL.RequestURI())
			})
			defer f.cache.Close()
			f.do("GET", sp.raw)
			if seen != sp.normal || seenURI != sp.normal {
				t.Fatalf("handler saw URL %q, RequestURI %q; want %q", seen, seenURI, sp.normal)
			}
			w := f.do("GET", sp.normal)
			if want := "answer for " + sp.normal; w.Body.String() != want {
				t.Fatalf("%s got %q, want %q", sp.normal, w.Body, want)
			}
			expectCalls(t, f.orig, 1)
		})
	}
}

// TestProxyKeyIsWhatIsForwarded: the same through the proxy, against an
// upstream that routes on the raw request line, and with a Host that only
// its normal form names.
func TestProxyKeyIsWhatIsForwarded(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "answer for "+r.Host+" "+r.RequestURI)
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	p, err := proxy.New(proxy.Config{Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cache := larder.New(store)
	defer cache.Close()
	front := httptest.NewServer(cache.Middleware(p))
	defer front.Close()
	get := func(host, target string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", front.URL, nil)
		req.URL.Opaque = target // sent as is on the request line
		req.Host = host
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, sp := range spellings {
		if got, want := get("Site.Example:80", sp.raw), "answer for site.example "+sp.normal; got != want {
			t.Fatalf("%s: upstream answered %q, want %q", sp.raw, got, want)
		}
		if got, want := get("site.example", sp.normal), "answer for site.example "+sp.normal; got != want {
			t.Fatalf("%s after %s: %q, want %q", sp.normal, sp.raw, got, want)
		}
	}
	if got := get("site.example", "/strict/norm1"); !strings.HasSuffix(got, " /strict/norm1") {
		t.Fatalf("got %q", got)
	}
}
