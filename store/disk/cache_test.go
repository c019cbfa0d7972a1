package disk_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// TestWithCache runs the cache on the disk store: a miss is stored (behind
// the response), then served, also after a restart; an invalidation
// (a tombstone written with SetIf) makes it a miss again.
func TestWithCache(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		// A body larger than InlineMax: a body file.
		fmt.Fprintf(w, "call %d %s", n, strings.Repeat(".", 100<<10))
	})
	get := func(c *larder.Cache, method string) (string, string) {
		rec := httptest.NewRecorder()
		c.Middleware(origin).ServeHTTP(rec, httptest.NewRequest(method, "http://example.com/page", nil))
		return rec.Header().Get("Cache-Status"), rec.Body.String()
	}
	// until repeats a GET until its Cache-Status has want (the fill is
	// written behind the response).
	until := func(c *larder.Cache, want string) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, body := get(c, http.MethodGet)
			if strings.Contains(status, want) {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q after 5 s: Cache-Status %q", want, status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	s, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := larder.New(s)
	if status, _ := get(c, http.MethodGet); !strings.Contains(status, "miss") {
		t.Fatalf("first GET: Cache-Status %q, want a miss", status)
	}
	stored := until(c, "hit") // the misses until the fill lands call the origin too
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, disk.Options{})
	c = larder.New(s)
	defer c.Close()
	if status, body := get(c, http.MethodGet); !strings.Contains(status, "hit") || body != stored {
		t.Fatalf("GET after a restart: Cache-Status %q, body %.20q…; want the stored response", status, body)
	}
	get(c, http.MethodPost) // invalidates the URL
	status, fresh := get(c, http.MethodGet)
	if strings.Contains(status, "hit") || fresh == stored {
		t.Fatalf("GET after an invalidation: Cache-Status %q, body %.20q…; want a fresh response", status, fresh)
	}
	if body := until(c, "hit"); body == stored {
		t.Fatal("the invalidated response came back")
	}
}
