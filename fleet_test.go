package larder_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// lockingStore is a memory store shared by several caches ("processes")
// with fill locks: held by a name, "ghost" for a process that took a lock
// and died, until the test frees it. A lock's ttl is ignored: the test
// decides when a lock expires (free).
type lockingStore struct {
	*memory.Store
	mu      sync.Mutex
	locks   map[string]string // key → holder
	fail    error             // LockFill's failure, if any
	tries   chan string       // each LockFill's key, if set
	lockSeq int
}

func newLockingStore(t *testing.T) *lockingStore {
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &lockingStore{Store: m, locks: map[string]string{}}
}

func (s *lockingStore) LockFill(ctx context.Context, key string, _ time.Duration) (func(), bool, error) {
	release, held, err := s.lockFill(key)
	if s.tries != nil {
		s.tries <- key // once decided: the test may then change the locks
	}
	return release, held, err
}

func (s *lockingStore) lockFill(key string) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, false, s.fail
	}
	if _, ok := s.locks[key]; ok {
		return nil, false, nil
	}
	s.lockSeq++
	name := "cache" + string(rune('0'+s.lockSeq))
	s.locks[key] = name
	return func() { s.free(key, name) }, true, nil
}

// take takes the lock of key for holder, as another process would.
func (s *lockingStore) take(key, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locks[key] = holder
}

// free releases the lock of key if holder holds it: a release, or the
// expiry of a dead holder's lock.
func (s *lockingStore) free(key, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[key] == holder {
		delete(s.locks, key)
	}
}

func (s *lockingStore) holder(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locks[key]
}

// flightKey is the lock name of a GET of http://example.com+path by no
// user, without Vary.
func flightKey(path string) string { return "http://example.com" + path + "\x00" }

func fleetGet(h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://example.com"+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// countingOrigin answers with a fresh response naming its call, after
// gate (if not nil) is closed; it records the lock holder of path's
// flight during each call.
type countingOrigin struct {
	calls   atomic.Int64
	gate    chan struct{}
	entered chan struct{}
	s       *lockingStore
	holders sync.Map // call number → holder during the call
}

func (o *countingOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.calls.Add(1)
	if o.s != nil {
		o.holders.Store(n, o.s.holder(flightKey(r.URL.Path)))
	}
	if o.entered != nil {
		o.entered <- struct{}{}
	}
	if o.gate != nil {
		<-o.gate
	}
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write([]byte("call " + string(rune('0'+n))))
}

// TestFleetCoalescing: two caches on one store with fill locks. A miss on
// one, while the other fetches the URL, waits and is served what the other
// stored (collapsed, detail=fleet), or fetches itself when the lock's
// holder died, the wait runs out, or the lock cannot be had; a no-cache
// request takes no lock.
func TestFleetCoalescing(t *testing.T) {
	t.Run("served what the holder stored", func(t *testing.T) {
		s := newLockingStore(t)
		o := &countingOrigin{gate: make(chan struct{}), entered: make(chan struct{}, 1), s: s}
		a := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		b := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		s.tries = make(chan string, 1000) // a's try, b's, b's polls
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- fleetGet(a.Middleware(o), "/x") }()
		<-o.entered // a holds the lock and is fetching
		<-s.tries
		go func() { done <- fleetGet(b.Middleware(o), "/x") }()
		<-s.tries // b tried the lock
		close(o.gate)
		w1, w2 := <-done, <-done
		if n := o.calls.Load(); n != 1 {
			t.Fatalf("%d origin requests, want 1: %q %q", n, w1.Header().Get("Cache-Status"), w2.Header().Get("Cache-Status"))
		}
		if h, _ := o.holders.Load(int64(1)); h == "" {
			t.Error("the origin was called without the lock held")
		}
		var fleet int
		for _, w := range []*httptest.ResponseRecorder{w1, w2} {
			if w.Body.String() != "call 1" {
				t.Errorf("body %q", w.Body.String())
			}
			if cs := w.Header().Get("Cache-Status"); strings.Contains(cs, "detail=fleet") {
				fleet++
				if !strings.Contains(cs, "collapsed") || !strings.Contains(cs, "fwd=uri-miss") {
					t.Errorf("Cache-Status %q", cs)
				}
			}
		}
		if fleet != 1 {
			t.Errorf("%d responses served from the other cache's fill, want 1", fleet)
		}
		if h := s.holder(flightKey("/x")); h != "" {
			t.Errorf("the lock is still held by %q", h)
		}
	})

	t.Run("holder's response not stored", func(t *testing.T) {
		// The holder releases at once; the waiter then takes the lock,
		// finds nothing, and fetches.
		s := newLockingStore(t)
		o, calls, gate, entered := gatedOrigin(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte("private"))
		})
		a := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		b := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		s.tries = make(chan string, 1000)
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- fleetGet(a.Middleware(o), "/x") }()
		<-entered
		<-s.tries
		go func() { done <- fleetGet(b.Middleware(o), "/x") }()
		<-s.tries // b waits for a
		close(gate)
		w1, w2 := <-done, <-done
		if n := calls.Load(); n != 2 || w1.Body.String() != "private" || w2.Body.String() != "private" {
			t.Fatalf("%d origin requests, bodies %q %q", n, w1.Body.String(), w2.Body.String())
		}
		_, _ = a.Close(), b.Close() // the releases run behind the responses
		if h := s.holder(flightKey("/x")); h != "" {
			t.Errorf("the lock is still held by %q", h)
		}
	})

	t.Run("other variant", func(t *testing.T) {
		// The holder stores another variant: the waiter does not serve
		// it, and fetches its own once the lock is free.
		s := newLockingStore(t)
		o, calls, gate, entered := gatedOrigin(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "Accept-Language")
			_, _ = w.Write([]byte("lang " + r.Header.Get("Accept-Language")))
		})
		a := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		b := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		s.tries = make(chan string, 1000)
		da, db := make(chan *httptest.ResponseRecorder), make(chan *httptest.ResponseRecorder)
		go func() { da <- fleetGet(a.Middleware(o), "/v", "Accept-Language", "en") }()
		<-entered
		<-s.tries
		go func() { db <- fleetGet(b.Middleware(o), "/v", "Accept-Language", "de") }()
		<-s.tries
		close(gate)
		wa, wb := <-da, <-db
		if wa.Body.String() != "lang en" || wb.Body.String() != "lang de" || calls.Load() != 2 {
			t.Fatalf("%d origin requests, bodies %q %q", calls.Load(), wa.Body.String(), wb.Body.String())
		}
		if cs := wb.Header().Get("Cache-Status"); strings.Contains(cs, "collapsed") {
			t.Errorf("the other variant's Cache-Status %q", cs)
		}
	})

	t.Run("holder died", func(t *testing.T) {
		s := newLockingStore(t)
		o := &countingOrigin{s: s}
		s.take(flightKey("/x"), "ghost")
		s.tries = make(chan string, 16)
		c := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- fleetGet(c.Middleware(o), "/x") }()
		<-s.tries // the lock was held: the cache waits
		s.free(flightKey("/x"), "ghost")
		go func() {
			for range s.tries { // the polls
			}
		}()
		w := <-done
		close(s.tries)
		if n := o.calls.Load(); n != 1 || w.Body.String() != "call 1" {
			t.Fatalf("%d origin requests, body %q", n, w.Body.String())
		}
		if h, _ := o.holders.Load(int64(1)); h == "" || h == "ghost" {
			t.Errorf("the origin was called with the lock held by %q, want the cache", h)
		}
		if cs := w.Header().Get("Cache-Status"); strings.Contains(cs, "collapsed") {
			t.Errorf("Cache-Status %q", cs)
		}
		if h := s.holder(flightKey("/x")); h != "" {
			t.Errorf("the lock is still held by %q", h)
		}
	})

	t.Run("wait runs out", func(t *testing.T) {
		s := newLockingStore(t)
		o := &countingOrigin{s: s}
		s.take(flightKey("/x"), "ghost")
		c := larder.New(s, larder.WithFleetCoalescing(20*time.Millisecond))
		w := fleetGet(c.Middleware(o), "/x")
		if n := o.calls.Load(); n != 1 || w.Body.String() != "call 1" {
			t.Fatalf("%d origin requests, body %q", n, w.Body.String())
		}
		if h, _ := o.holders.Load(int64(1)); h != "ghost" {
			t.Errorf("lock holder %q during the fetch, want the ghost's", h)
		}
		if w2 := fleetGet(c.Middleware(o), "/x"); !strings.Contains(w2.Header().Get("Cache-Status"), "hit") {
			t.Errorf("the response fetched after the wait was not stored: %q", w2.Header().Get("Cache-Status"))
		}
	})

	t.Run("lock fails", func(t *testing.T) {
		s := newLockingStore(t)
		s.fail = errors.New("store down")
		o := &countingOrigin{s: s}
		var ev larder.Event
		c := larder.New(s, larder.WithFleetCoalescing(time.Minute), larder.WithObserver(func(e larder.Event) { ev = e }))
		w := fleetGet(c.Middleware(o), "/x")
		if n := o.calls.Load(); n != 1 || w.Body.String() != "call 1" {
			t.Fatalf("%d origin requests, body %q", n, w.Body.String())
		}
		if !errors.Is(ev.StoreErr, s.fail) {
			t.Errorf("Event.StoreErr %v", ev.StoreErr)
		}
		if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "fwd=uri-miss") || strings.Contains(cs, "collapsed") {
			t.Errorf("Cache-Status %q", cs)
		}
	})

	t.Run("no-cache takes no lock", func(t *testing.T) {
		s := newLockingStore(t)
		s.take(flightKey("/x"), "ghost")
		o := &countingOrigin{s: s}
		c := larder.New(s, larder.WithFleetCoalescing(time.Minute))
		s.tries = make(chan string, 16)
		fleetGet(c.Middleware(o), "/x", "Cache-Control", "no-cache")
		if n := o.calls.Load(); n != 1 || len(s.tries) != 0 {
			t.Fatalf("%d origin requests, %d LockFill calls", n, len(s.tries))
		}
	})

	t.Run("off by default", func(t *testing.T) {
		s := newLockingStore(t)
		s.take(flightKey("/x"), "ghost")
		s.tries = make(chan string, 16)
		o := &countingOrigin{s: s}
		fleetGet(larder.New(s).Middleware(o), "/x")
		fleetGet(larder.New(s, larder.WithFleetCoalescing(time.Minute), larder.WithFleetCoalescing(-1)).Middleware(o), "/y")
		if len(s.tries) != 0 {
			t.Fatalf("%d LockFill calls", len(s.tries))
		}
	})
}

// gatedOrigin returns a handler that counts its calls, signals entered as
// each begins, waits until gate is closed, then responds with respond.
func gatedOrigin(respond http.HandlerFunc) (http.Handler, *atomic.Int64, chan struct{}, chan struct{}) {
	calls := new(atomic.Int64)
	gate, entered := make(chan struct{}), make(chan struct{}, 2)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		entered <- struct{}{}
		<-gate
		respond(w, r)
	}), calls, gate, entered
}
