package main

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// taggedOrigin answers every path with max-age=60, an ETag (and 304 to
// it), and the tags "path:<path>" and the first segment of the path.
func taggedOrigin(w http.ResponseWriter, r *http.Request) {
	const etag = `"v1"`
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("ETag", etag)
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Surrogate-Key", "path:"+r.URL.Path+" seg:"+seg)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	io.WriteString(w, "body of "+r.URL.Path)
}

// TestAdminPurgeTagsPrefixSoft runs the admin API's purges on every store
// the daemon opens (the ones with servers when LARDER_TEST_* say where).
func TestAdminPurgeTagsPrefixSoft(t *testing.T) {
	stores := []struct{ name, url string }{{"memory", ""}, {"disk", "disk://" + t.TempDir() + "?size=64MiB"}}
	prefix := func() string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return "larder-test:" + hex.EncodeToString(b[:]) + ":"
	}
	if v := os.Getenv("LARDER_TEST_REDIS"); v != "" {
		p := prefix()
		stores = append(stores, struct{ name, url string }{"redis", "redis://" + v + "/0?prefix=" + p},
			struct{ name, url string }{"tiered", "tiered:memory?size=8MiB+redis://" + v + "/0?prefix=" + p + "t:"})
	}
	if v := os.Getenv("LARDER_TEST_REDIS_CLUSTER"); v != "" {
		stores = append(stores, struct{ name, url string }{"cluster", "redis+cluster://" + v + "?prefix=" + clusterPrefix(t, v)})
	}
	if v := os.Getenv("LARDER_TEST_MEMCACHE"); v != "" {
		stores = append(stores, struct{ name, url string }{"memcache", "memcache://" + v + "?prefix=" + prefix()})
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			args := []string{"--upstream", "", "--admin", "127.0.0.1:0"}
			if st.url != "" {
				args = append(args, "--store", st.url)
			}
			testAdminPurges(t, args)
		})
	}
}

func testAdminPurges(t *testing.T, args []string) {
	o := newOrigin(t, taggedOrigin)
	args[1] = o.URL
	d := startDaemon(t, args, nil)
	paths := []string{"/p/1", "/p/2", "/docs/v2/a", "/docs/v2/b", "/docs/v1/a"}
	// fill stores every path and checks that a GET of each then hits (a
	// store over a network is written behind the responses: it waits).
	fill := func() {
		t.Helper()
		for _, p := range paths {
			if r := d.get(p); r.Header.Get("Surrogate-Key") != "" {
				t.Fatalf("GET %s: the client got Surrogate-Key %q", p, r.Header.Get("Surrogate-Key"))
			}
		}
		for _, p := range paths {
			for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
				if strings.Contains(d.get(p).Header.Get("Cache-Status"), "hit") {
					break
				}
				if time.Since(start) > 5*time.Second {
					t.Fatalf("GET %s: not stored", p)
				}
			}
		}
	}
	// refetched returns the paths whose next GET went to the origin.
	refetched := func() []string {
		t.Helper()
		var out []string
		for _, p := range paths {
			n := o.Calls()
			d.get(p)
			if o.Calls() != n {
				out = append(out, p)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		hdr    http.Header
		body   string
		want   []string
		soft   bool
	}{
		{name: "Surrogate-Key", method: "PURGE", path: "/", hdr: hdr("Surrogate-Key", "path:/p/1 nothing"), want: []string{"/p/1"}},
		{name: "Surrogate-Key lines", method: "PURGE", path: "/x", hdr: hdr("Surrogate-Key", "path:/p/1", "Surrogate-Key", "seg:docs"), want: []string{"/p/1", "/docs/v2/a", "/docs/v2/b", "/docs/v1/a"}},
		{name: "prefix", method: "PURGE", path: "/docs/v2/*", want: []string{"/docs/v2/a", "/docs/v2/b"}},
		{name: "prefix of another host", method: "PURGE", path: "/docs/*", hdr: hdr("Host", "other.test")},
		{name: "soft URL", method: "PURGE", path: "/p/2", hdr: hdr("Fastly-Soft-Purge", "1"), want: []string{"/p/2"}, soft: true},
		{name: "soft tag", method: "PURGE", path: "/", hdr: hdr("Surrogate-Key", "seg:p", "Soft-Purge", "1"), want: []string{"/p/1", "/p/2"}, soft: true},
		{name: "JSON", method: "POST", path: "/purge", body: `{"urls":["http://site.test/p/1"],"tags":["path:/p/2"],"prefixes":["https://site.test/docs/v1/"]}`, want: []string{"/p/1", "/p/2", "/docs/v1/a"}},
		{name: "JSON soft", method: "POST", path: "/purge", body: `{"tags":["seg:docs"],"soft":true}`, want: []string{"/docs/v2/a", "/docs/v2/b", "/docs/v1/a"}, soft: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fill()
			r := d.send(d.addrs.admin, tc.method, tc.path, tc.hdr, tc.body)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d %q", tc.method, tc.path, r.StatusCode, r.body)
			}
			got := refetched()
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("refetched %q, want %q", got, tc.want)
			}
			if tc.soft && o.Last().Header.Get("If-None-Match") == "" {
				t.Fatalf("soft purge: the refetch was no revalidation: %v", o.Last().Header)
			}
		})
	}
}

func TestAdminPurgeBadRequests(t *testing.T) {
	o := newOrigin(t, taggedOrigin)
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, nil)
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      http.Header
		status                   int
	}{
		{"empty Surrogate-Key", "PURGE", "/", "", hdr("Surrogate-Key", "  "), http.StatusBadRequest},
		{"GET /purge", "GET", "/purge", "", nil, http.StatusMethodNotAllowed},
		{"not JSON", "POST", "/purge", "tags=a", nil, http.StatusBadRequest},
		{"unknown member", "POST", "/purge", `{"tag":["a"]}`, nil, http.StatusBadRequest},
		{"two objects", "POST", "/purge", `{"tags":["a"]} {}`, nil, http.StatusBadRequest},
		{"nothing", "POST", "/purge", `{}`, nil, http.StatusBadRequest},
		{"relative URL", "POST", "/purge", `{"urls":["/a"]}`, nil, http.StatusBadRequest},
		{"prefix with query", "POST", "/purge", `{"prefixes":["http://site.test/a?b"]}`, nil, http.StatusBadRequest},
		{"too large", "POST", "/purge", `{"tags":["` + strings.Repeat("a", 1<<20) + `"]}`, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := d.send(d.addrs.admin, tc.method, tc.path, tc.hdr, tc.body); r.StatusCode != tc.status {
				t.Fatalf("%d %q, want %d", r.StatusCode, r.body, tc.status)
			}
		})
	}
	d2 := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0", "--purge-prefix-depth", "-1"}, nil)
	if r := d2.doAdmin("PURGE", "/docs/*", nil); r.StatusCode != http.StatusNotImplemented {
		t.Fatalf("prefix purge, off: %d %q", r.StatusCode, r.body)
	}
}
