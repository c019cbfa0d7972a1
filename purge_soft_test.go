package larder_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// rewriterStore is a netStore with RewriteMeta, done right, or broken as
// how says: "retry" returns every key to be read again, having written
// none; "fail" fails.
type rewriterStore struct {
	*netStore
	how   string
	calls atomic.Int64
}

func (s *rewriterStore) RewriteMeta(ctx context.Context, keys []string, rewrite func(string, *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	s.calls.Add(1)
	switch s.how {
	case "fail":
		return nil, errors.New("rewriterStore: failing as told")
	case "retry":
		return keys, nil
	}
	var retry []string
	for _, k := range keys {
		s.mu.Lock()
		old := s.m[k]
		s.mu.Unlock()
		var read *larder.EntryHead
		if old != nil {
			h := old.Head()
			read = &h
		}
		nh, _, ok := rewrite(k, read)
		if !ok {
			continue
		}
		s.mu.Lock()
		switch {
		case s.m[k] != old || old != nil && old.Kind != nh.Kind:
			retry = append(retry, k)
		case old == nil:
			s.m[k] = nh.Entry()
		default:
			s.m[k] = old.WithHead(nh)
		}
		s.mu.Unlock()
	}
	return retry, nil
}

// TestSoftPurgeRewriter: a soft purge of many URLs on a store over a
// network with RewriteMeta makes each response stale with its body and
// header fields kept, in one call per chunk of keys; when the store
// returns keys to read again, or fails, each key is soft-purged by itself.
func TestSoftPurgeRewriter(t *testing.T) {
	for _, how := range []string{"ok", "retry", "fail"} {
		t.Run(how, func(t *testing.T) {
			clk := newClock()
			s := &rewriterStore{netStore: newNetStore(), how: how}
			c := larder.New(s, larder.WithClock(clk.Now))
			h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("X-Kept", "yes")
				fmt.Fprintf(w, "body of %s", r.URL.Path)
			}))
			const n = 200
			var urls []string
			for i := range n {
				path := fmt.Sprintf("/r/%d", i)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
				urls = append(urls, "http://example.com"+path)
			}
			c.Close()
			clk.Advance(10 * time.Second)
			if err := c.PurgeBatch(context.Background(), larder.PurgeBatch{URLs: urls, Soft: true}); err != nil {
				t.Fatal(err)
			}
			// 2n keys (http and https): at least one call per chunk.
			if got := s.calls.Load(); got < 2 || got > 2*n/16 {
				t.Errorf("%d RewriteMeta calls for %d keys", got, 2*n)
			}
			s.mu.Lock()
			stale := 0
			for k, e := range s.m {
				if e.Kind != larder.KindResponse {
					continue
				}
				if e.Lifetime > 10*time.Second || !strings.HasPrefix(string(e.Body), "body of /r/") || e.Header.Get("X-Kept") != "yes" {
					t.Errorf("%q after the soft purge: lifetime %v, body %q, header %v", k, e.Lifetime, e.Body, e.Header)
				}
				stale++
			}
			s.mu.Unlock()
			if stale != n {
				t.Fatalf("%d stale responses after the soft purge, want %d", stale, n)
			}
			clk.Advance(time.Second)
			for i := range n {
				w := httptest.NewRecorder()
				path := fmt.Sprintf("/r/%d", i)
				h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "fwd=stale") {
					t.Fatalf("%s after the soft purge: %q", path, cs)
				}
			}
			c.Close()
		})
	}
}
