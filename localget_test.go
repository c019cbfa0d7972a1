package larder_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// localStore is a store "over a network" (not a NonBlockingStore) that
// answers GetLocal from a memory store when local is on, and counts the
// calls of each kind.
type localStore struct {
	*memory.Store
	local               atomic.Bool
	gets, multi, locals atomic.Int64
}

func (s *localStore) NonBlocking() bool { return false }

func (s *localStore) Get(ctx context.Context, key string) (*larder.Entry, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

// GetStream counts as a Get: the cache reads a BodyStreamer that is not
// local (the memory store inside is one) with it.
func (s *localStore) GetStream(ctx context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	s.gets.Add(1)
	return s.Store.GetStream(ctx, key)
}

func (s *localStore) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	s.multi.Add(1)
	return s.Store.GetMulti(ctx, keys)
}

func (s *localStore) GetLocal(key string) (*larder.Entry, bool) {
	if !s.local.Load() {
		return nil, false
	}
	s.locals.Add(1)
	e, err := s.Store.Get(context.Background(), key)
	return e, err == nil
}

// TestLocalGetter: the cache asks a LocalGetter first, and calls Get or
// GetMulti only when GetLocal does not answer; hits, Vary hits included,
// are the same either way.
func TestLocalGetter(t *testing.T) {
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := &localStore{Store: m}
	c := larder.New(s)
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.HasPrefix(r.URL.Path, "/vary") {
			w.Header().Set("Vary", "Accept-Language")
		}
		io.WriteString(w, "body of "+r.URL.Path+" "+r.Header.Get("Accept-Language"))
	}))
	get := func(path string) (string, string) {
		req := httptest.NewRequest("GET", "http://example.com"+path, nil)
		req.Header.Set("Accept-Language", "en")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String(), rec.Header().Get("Cache-Status")
	}
	for _, path := range []string{"/plain", "/vary"} {
		for range 3 { // the fill, then hits (the third with the Vary hint)
			get(path)
			_ = c.Close()
		}
	}
	for _, local := range []bool{false, true} {
		s.local.Store(local)
		for _, path := range []string{"/plain", "/vary"} {
			g0, m0, l0 := s.gets.Load(), s.multi.Load(), s.locals.Load()
			body, cs := get(path)
			if want := "body of " + path + " en"; body != want || !strings.Contains(cs, "hit") {
				t.Fatalf("local %v, %s: %q, Cache-Status %q", local, path, body, cs)
			}
			remote := s.gets.Load() - g0 + s.multi.Load() - m0
			if local && (remote != 0 || s.locals.Load() == l0) {
				t.Errorf("%s with GetLocal answering: %d Get or GetMulti calls, %d GetLocal", path, remote, s.locals.Load()-l0)
			}
			if !local && remote != 1 {
				t.Errorf("%s with GetLocal not answering: %d Get or GetMulti calls, want 1 (Get, GetStream or GetMulti)", path, remote)
			}
		}
	}
}
