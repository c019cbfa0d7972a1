package larder_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// netStore is an in-memory store that behaves like one over a network: it
// is not local, each call takes latency (honouring its context), Set waits
// for gate when one is set, and with hang every call blocks until release
// is closed, ignoring its context, as a wedged connection does.
type netStore struct {
	mu      sync.Mutex
	m       map[string]*larder.Entry
	latency time.Duration
	gate    chan struct{} // nil: Sets do not wait
	hang    bool
	release chan struct{}

	inflight, maxInflight atomic.Int64
	done                  atomic.Int64 // calls completed
}

func newNetStore() *netStore {
	return &netStore{m: map[string]*larder.Entry{}, release: make(chan struct{})}
}

func (s *netStore) enter(ctx context.Context) error {
	n := s.inflight.Add(1)
	for {
		m := s.maxInflight.Load()
		if n <= m || s.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if s.hang {
		<-s.release
		return context.DeadlineExceeded
	}
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *netStore) leave() { s.inflight.Add(-1); s.done.Add(1) }

func (s *netStore) Get(ctx context.Context, k string) (*larder.Entry, error) {
	defer s.leave()
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok {
		return e, nil
	}
	return nil, larder.ErrNotFound
}

func (s *netStore) Set(ctx context.Context, k string, e *larder.Entry, _ time.Duration) error {
	defer s.leave()
	if err := s.enter(ctx); err != nil {
		return err
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = e
	return nil
}

func (s *netStore) Delete(ctx context.Context, k string) error {
	defer s.leave()
	if err := s.enter(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

func (s *netStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// TestWriteBehind: with a store over a network, the client has its whole
// response before any store write completes; Close waits for the writes.
func TestWriteBehind(t *testing.T) {
	s := newNetStore()
	s.gate = make(chan struct{})
	c := larder.New(s, larder.WithStoreTimeout(time.Minute))
	o := &origin{fn: respond(200, "body", "Cache-Control", "max-age=60", "Vary", "Accept")}
	w := httptest.NewRecorder()
	c.Middleware(o).ServeHTTP(w, httptest.NewRequest("GET", "/wb", nil))
	if w.Code != 200 || w.Body.String() != "body" {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
	if n := s.len(); n != 0 {
		t.Fatalf("%d entries written before the response was complete", n)
	}
	close(s.gate)
	c.Close()
	if n := s.len(); n != 2 { // the Vary index and the variant
		t.Fatalf("%d entries after Close, want 2", n)
	}
}

// TestWriteQueueFull: writes that find the queue full are dropped and
// counted, and the responses are served all the same.
func TestWriteQueueFull(t *testing.T) {
	s := newNetStore()
	s.gate = make(chan struct{})
	var full atomic.Int64
	c := larder.New(s, larder.WithStoreTimeout(time.Minute), larder.WithWriteQueue(1),
		larder.WithObserver(func(ev larder.Event) {
			if ev.NotStored == "queue-full" {
				full.Add(1)
			}
		}))
	h := c.Middleware(&origin{fn: respond(200, "b", "Cache-Control", "max-age=60")})
	for i := range 30 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/q"+string(rune('a'+i)), nil))
		if w.Body.String() != "b" {
			t.Fatalf("request %d: %q", i, w.Body)
		}
	}
	if full.Load() == 0 || c.DroppedWrites() != full.Load() {
		t.Fatalf("dropped %d, events %d: want some, equal", c.DroppedWrites(), full.Load())
	}
	close(s.gate)
	c.Close()
	if got := int64(s.len()) + c.DroppedWrites(); got != 30 {
		t.Fatalf("stored %d + dropped %d != 30", s.len(), c.DroppedWrites())
	}
}

// TestHungStoreNeverHangsRequests: under the default options, a store whose
// calls never return (and ignore their context) costs each request at most
// the default store timeout: misses, hits and invalidations all complete.
func TestHungStoreNeverHangsRequests(t *testing.T) {
	s := newNetStore()
	s.hang = true
	defer close(s.release) // the abandoned calls end with the test
	var evs []larder.Event
	var mu sync.Mutex
	c := larder.New(s, larder.WithObserver(func(ev larder.Event) {
		mu.Lock()
		evs = append(evs, ev)
		mu.Unlock()
	}))
	defer c.Close()
	h := c.Middleware(&origin{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Location", "/other")
		w.Header().Set("Content-Location", "/third")
		_, _ = w.Write([]byte("ok"))
	}})
	for _, m := range []string{"GET", "POST", "GET"} {
		done := make(chan *httptest.ResponseRecorder)
		go func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(m, "/h", nil))
			done <- w
		}()
		select {
		case w := <-done:
			if w.Code != 200 || w.Body.String() != "ok" {
				t.Fatalf("%s: %d %q", m, w.Code, w.Body)
			}
		case <-time.After(30 * time.Second): // a hang guard, not a speed goal
			t.Fatalf("%s: no response from a cache in front of a hung store", m)
		}
	}
	for _, ev := range evs {
		if ev.StoreErr == nil {
			t.Fatalf("event %+v: want a store error", ev)
		}
	}
}

// TestInvalidationDeletesInParallel: an unsafe request that invalidates five
// URLs (target, Location, Content-Location and two of the route's) sends
// the five deletes at once, and its response waits for them.
func TestInvalidationDeletesInParallel(t *testing.T) {
	s := newNetStore()
	s.latency = 50 * time.Millisecond
	c := larder.New(s)
	defer c.Close()
	h := c.Route(larder.Invalidate(func(*http.Request) []string { return []string{"/a", "/b"} }))(&origin{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/l")
		w.Header().Set("Content-Location", "/cl")
		w.WriteHeader(201)
	}})
	before := s.done.Load()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/p", nil))
	if got := s.done.Load() - before; got != 5 {
		t.Fatalf("%d store calls completed before the response, want the 5 deletes", got)
	}
	if m := s.maxInflight.Load(); m < 5 {
		t.Fatalf("at most %d deletes at once, want 5", m)
	}
}

// multiStore is a netStore that reads several keys in one call.
type multiStore struct {
	*netStore
	calls atomic.Int64 // Get and GetMulti calls: round trips
}

func (s *multiStore) Get(ctx context.Context, k string) (*larder.Entry, error) {
	s.calls.Add(1)
	return s.netStore.Get(ctx, k)
}

func (s *multiStore) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	s.calls.Add(1)
	defer s.leave()
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*larder.Entry, len(keys))
	for i, k := range keys {
		out[i] = s.m[k]
	}
	return out, nil
}

// TestOneRoundTripPerHit: with a store over the network that reads several
// keys at once, a hit costs one store round trip, a Vary hit included; when
// the URL's variants are reset, the answer stays right.
func TestOneRoundTripPerHit(t *testing.T) {
	s := &multiStore{netStore: newNetStore()}
	s.latency = time.Millisecond
	c := larder.New(s)
	defer c.Close()
	var lang atomic.Value
	lang.Store("x")
	o := &origin{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/v" {
			w.Header().Set("Vary", "Accept-Language")
		}
		_, _ = w.Write([]byte(r.URL.Path + " " + r.Header.Get("Accept-Language") + " " + lang.Load().(string)))
	}}
	h := c.Middleware(o)
	get := func(path, al string) (string, int64) {
		t.Helper()
		before := s.calls.Load()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Accept-Language", al)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		c.Close() // the write-behind lands
		return w.Body.String(), s.calls.Load() - before
	}
	for _, p := range []string{"/plain", "/v"} {
		get(p, "en") // fill
		get(p, "en") // a hit that learns the index
		if body, n := get(p, "en"); n != 1 || body != p+" en x" {
			t.Fatalf("%s hit: %d round trips, %q", p, n, body)
		}
	}
	// Another variant: a miss, then a hit in one round trip.
	get("/v", "de")
	if body, n := get("/v", "de"); n != 1 || body != "/v de x" {
		t.Fatalf("second variant: %d round trips, %q", n, body)
	}
	// The URL is invalidated and refilled: the hint is stale, the answer right.
	lang.Store("y")
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v", nil))
	get("/v", "en")
	if body, _ := get("/v", "en"); body != "/v en y" {
		t.Fatalf("after invalidation: %q", body)
	}
	if body, n := get("/v", "en"); n != 1 || body != "/v en y" {
		t.Fatalf("after invalidation, hit: %d round trips, %q", n, body)
	}
}
