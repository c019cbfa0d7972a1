package larder_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
	"github.com/larder-cache/larder/store/memcache"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/redis"
)

// testPrefix is a key prefix of the test's own on shared servers.
func testPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "larder-transport-test-" + hex.EncodeToString(b[:]) + ":"
}

// service returns the addresses in env, skipping the test without them
// (failing it when LARDER_REQUIRE_SERVICES=1).
func service(t *testing.T, env string) []string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set, and LARDER_REQUIRE_SERVICES=1", env)
		}
		t.Skipf("%s is not set", env)
	}
	return strings.Split(v, ",")
}

// TestTransportStores: the Transport on every store: a fill, a hit, a
// revalidation answered 304, and an invalidation by a POST.
func TestTransportStores(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, clk *clock) larder.Store
	}{
		{"memory", func(t *testing.T, clk *clock) larder.Store {
			s, err := memory.New(memory.Options{Clock: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}},
		{"disk", func(t *testing.T, clk *clock) larder.Store {
			s, err := disk.Open(t.TempDir(), disk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"redis", func(t *testing.T, clk *clock) larder.Store {
			addrs := service(t, "LARDER_TEST_REDIS")
			c := goredis.NewClient(&goredis.Options{Addr: addrs[0], ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			s, err := redis.New(c, redis.Options{Prefix: testPrefix()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"memcache", func(t *testing.T, clk *clock) larder.Store {
			addrs := service(t, "LARDER_TEST_MEMCACHE")
			s, err := memcache.NewFromServers(addrs, memcache.Options{Prefix: "t" + testPrefix()[23:35]})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				w.Header().Set("Cache-Control", "private, max-age=60")
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Vary", "Accept")
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write([]byte("stored on " + tc.name))
			})
			clk := newClock()
			tr := larder.NewTransport(nil, tc.open(t, clk), larder.WithClock(clk.Now))
			f := &clientFixture{t: t, clock: clk, tr: tr, c: &http.Client{Transport: tr}}
			t.Cleanup(func() { _ = tr.Close(); http.DefaultTransport.(*http.Transport).CloseIdleConnections() })
			url := o.srv.URL + "/s"
			body := "stored on " + tc.name
			f.do("GET", url, "Accept", "text/plain").check(t, 200, body, "stored")
			_ = tr.Close() // the write-behind queue drained
			f.do("GET", url, "Accept", "text/plain").check(t, 200, body, "hit")
			clk.Advance(61 * time.Second)
			f.do("GET", url, "Accept", "text/plain").check(t, 200, body, "fwd-status=304")
			_ = tr.Close()
			f.do("GET", url, "Accept", "text/plain").check(t, 200, body, "hit")
			req, _ := http.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader("x"))
			resp, err := f.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			f.do("GET", url, "Accept", "text/plain").check(t, 200, body, "fwd=uri-miss")
			if o.n() != 4 {
				t.Errorf("origin called %d times, want 4", o.n())
			}
		})
	}
}
