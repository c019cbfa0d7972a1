package tiered_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/tiered"
)

// TestPurgeTagsAcrossNodes: two caches on tiered stores sharing a Redis L2
// and bus; a response tagged through one is an L1 hit on the other; a purge
// by tag (and a soft one) through the first reaches the second's L1 within
// the window (bounded here by the 1 s lease).
func TestPurgeTagsAcrossNodes(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.client(t)
			sp := newSpace(t, c)
			opts := tiered.Options{MaxL1TTL: time.Minute}
			a, b := newNode(t, c, c, sp, opts), newNode(t, c, c, sp, opts)
			var version, calls atomic.Int64
			origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Cache-Control", "max-age=3600, stale-while-revalidate=60")
				w.Header().Set("Surrogate-Key", "product-42 "+strings.TrimPrefix(r.URL.Path, "/"))
				io.WriteString(w, r.URL.Path+" v"+strconv.FormatInt(version.Load(), 10))
			})
			ca, cb := larder.New(a.Store), larder.New(b.Store)
			ha, hb := ca.Middleware(origin), cb.Middleware(origin)
			get := func(h http.Handler, path string) (string, string) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com"+path, nil))
				return rec.Body.String(), rec.Header().Get("Cache-Status")
			}
			for _, p := range []string{"/a", "/b"} {
				get(ha, p)
			}
			_ = ca.Close() // the fills are behind their responses: wait for them
			// b's L1 takes the entries once the evictions that a's writes
			// published have reached it (until then each fill of b's is
			// taken back): read through b until it serves from its L1.
			for start := time.Now(); b.Stats().L1Hits == 0; {
				for _, p := range []string{"/a", "/b"} {
					if body, cs := get(hb, p); body != p+" v0" || !strings.Contains(cs, "hit") {
						t.Fatalf("%s through b: %q, %q; want a hit of v0", p, body, cs)
					}
				}
				if time.Since(start) > 5*time.Second {
					t.Fatal("b served no L1 hit in 5 s")
				}
				time.Sleep(time.Millisecond)
			}
			version.Store(1)
			if err := ca.PurgeTags(context.Background(), "product-42"); err != nil {
				t.Fatal(err)
			}
			purged := time.Now()
			for _, p := range []string{"/a", "/b"} {
				for {
					body, cs := get(hb, p)
					if body == p+" v1" {
						break
					}
					if time.Since(purged) > time.Second {
						t.Fatalf("%s through b 1 s after the purge: %q, %q", p, body, cs)
					}
					time.Sleep(time.Millisecond)
				}
			}
			t.Logf("both URLs fresh through b %v after the purge returned", time.Since(purged))
		})
	}
}

// TestPurgeTagsWithoutIndex: over an L2 that keeps no tag index, tagged
// responses are stored and a purge by tag says it cannot be done.
func TestPurgeTagsWithoutIndex(t *testing.T) {
	l2, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	s, err := tiered.New(noTags{l2}, tiered.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.AddTags(context.Background(), "k", []string{"t"}, time.Now(), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("AddTags = %v, %v; want true, nil", ok, err)
	}
	if _, err := s.PurgeTags(context.Background(), []string{"t"}, time.Now(), time.Minute); !errors.Is(err, larder.ErrTagsUnsupported) {
		t.Fatalf("PurgeTags: %v, want ErrTagsUnsupported", err)
	}
}

// noTags hides an L2's TagStore.
type noTags struct{ tiered.L2 }
