package redis_test

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
	"github.com/larder-cache/larder/store/redis"
)

// lockSpy is a node's store: the Redis store, whose LockFill it can make
// fail, or precede with a lock taken for a node that then dies (ghost).
type lockSpy struct {
	*redis.Store
	fail  error
	ghost time.Duration // >0: the first LockFill finds a lock held for this long
	once  sync.Once
	tried atomic.Int64
}

func (s *lockSpy) LockFill(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	s.tried.Add(1)
	if s.fail != nil {
		return nil, false, s.fail
	}
	if s.ghost > 0 {
		s.once.Do(func() { _, _, _ = s.Store.LockFill(ctx, key, s.ghost) })
	}
	return s.Store.LockFill(ctx, key, ttl)
}

// gatedOrigin answers, once n requests have reached the caches (arrived)
// and ready (if set) reports true, with a response cacheable for a minute
// naming its call; it counts its calls and records whether the flight's
// lock was held during each.
type gatedOrigin struct {
	arrived  atomic.Int64
	n        int64
	all      chan struct{}
	ready    func() bool // nil: ready once all arrived
	calls    atomic.Int64
	store    *redis.Store
	unlocked atomic.Int64 // calls made while the lock was free
}

func (o *gatedOrigin) arrive(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.arrived.Add(1) == o.n {
			close(o.all)
		}
		h.ServeHTTP(w, r)
	})
}

func (o *gatedOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.calls.Add(1)
	if release, held, err := o.store.LockFill(r.Context(), "http://example.com"+r.URL.Path+"\x00", time.Minute); err == nil && held {
		o.unlocked.Add(1)
		release()
	}
	deadline := time.After(10 * time.Second)
	select {
	case <-o.all:
	case <-deadline:
		http.Error(w, "not every request arrived", http.StatusInternalServerError)
		return
	}
	for o.ready != nil && !o.ready() {
		select {
		case <-time.After(time.Millisecond):
		case <-deadline:
			http.Error(w, "not ready", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write([]byte("call " + string(rune('0'+n))))
}

// fleetNodes returns n caches with fleet-wide coalescing on one server,
// each with a client and a lockSpy of its own, sharing a prefix.
func fleetNodes(t *testing.T, sv server, n int, spy func(i int, s *lockSpy), opts ...larder.Option) ([]*larder.Cache, *redis.Store) {
	t.Helper()
	var prefix string
	caches := make([]*larder.Cache, n)
	var first *redis.Store
	for i := range caches {
		c := sv.client(t)
		if i == 0 {
			prefix = newPrefix(t, c)
		}
		s, err := redis.New(c, redis.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = s
		}
		ls := &lockSpy{Store: s}
		if spy != nil {
			spy(i, ls)
		}
		caches[i] = larder.New(ls, append([]larder.Option{larder.WithFleetCoalescing(5 * time.Second)}, opts...)...)
		t.Cleanup(func() { caches[i].Close() })
	}
	return caches, first
}

// TestFleetCoalescing: two caches on one Redis, with fleet-wide
// coalescing. Concurrent misses of one URL through both make one origin
// request, the other cache serving what the first stored; a lock whose
// holder died is taken once it expires; a failing lock means a fetch.
func TestFleetCoalescing(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			t.Run("stampede", func(t *testing.T) {
				spies := make([]*lockSpy, 2)
				caches, st := fleetNodes(t, sv, 2, func(i int, s *lockSpy) { spies[i] = s })
				const n = 20
				// The origin answers once both caches' flights have asked
				// for the lock: the second cache's then waits for the
				// first's fill (else its requests, all arrived but not yet
				// looked up, could find the fill stored and hit).
				o := &gatedOrigin{n: n, all: make(chan struct{}), store: st, ready: func() bool {
					return spies[0].tried.Load() > 0 && spies[1].tried.Load() > 0
				}}
				hs := []http.Handler{o.arrive(caches[0].Middleware(o)), o.arrive(caches[1].Middleware(o))}
				ws := make([]*httptest.ResponseRecorder, n)
				var wg sync.WaitGroup
				for i := range ws {
					wg.Go(func() { ws[i] = serve(hs[i%2], "GET", "/stampede") })
				}
				wg.Wait()
				if c := o.calls.Load(); c != 1 {
					var cs []string
					for i, w := range ws {
						cs = append(cs, string(rune('A'+i%2))+": "+w.Header().Get("Cache-Status")+" "+w.Body.String())
					}
					t.Fatalf("%d origin requests for %d concurrent misses through 2 caches, want 1 (%d without the lock):\n%s", c, n, o.unlocked.Load(), strings.Join(cs, "\n"))
				}
				if o.unlocked.Load() != 0 {
					t.Error("the origin was called without the flight's lock held")
				}
				fleet := 0
				for _, w := range ws {
					if w.Code != 200 || w.Body.String() != "call 1" {
						t.Fatalf("%d %q", w.Code, w.Body.String())
					}
					if strings.Contains(w.Header().Get("Cache-Status"), "detail=fleet") {
						fleet++
					}
				}
				if fleet < 1 {
					// The other cache's leader; and any request of the
					// first that came after its flight, before its write.
					t.Errorf("%d responses served from the other cache's fill, want 1 or more", fleet)
				}
				// The lock went with the write.
				for _, c := range caches {
					c.Close()
				}
				release, held, err := st.LockFill(context.Background(), "http://example.com/stampede\x00", time.Minute)
				if err != nil || !held {
					t.Fatalf("the lock after the fill: held %v, %v", held, err)
				}
				release()
			})

			t.Run("holder died", func(t *testing.T) {
				caches, st := fleetNodes(t, sv, 1, func(_ int, s *lockSpy) { s.ghost = 200 * time.Millisecond })
				o := &gatedOrigin{n: 1, all: make(chan struct{}), store: st}
				w := serve(o.arrive(caches[0].Middleware(o)), "GET", "/dead")
				if c := o.calls.Load(); c != 1 || w.Body.String() != "call 1" {
					t.Fatalf("%d origin requests, body %q", c, w.Body.String())
				}
				if o.unlocked.Load() != 0 {
					t.Error("the origin was called without the lock held: the cache gave up waiting instead of taking the expired lock")
				}
				if cs := w.Header().Get("Cache-Status"); strings.Contains(cs, "collapsed") {
					t.Errorf("Cache-Status %q", cs)
				}
			})

			t.Run("lock fails", func(t *testing.T) {
				fail := errors.New("lock down")
				var storeErr error
				caches, st := fleetNodes(t, sv, 1, func(_ int, s *lockSpy) { s.fail = fail },
					larder.WithObserver(func(ev larder.Event) { storeErr = ev.StoreErr }))
				o := &gatedOrigin{n: 1, all: make(chan struct{}), store: st}
				w := serve(o.arrive(caches[0].Middleware(o)), "GET", "/fail")
				if n := o.calls.Load(); n != 1 || w.Body.String() != "call 1" {
					t.Fatalf("%d origin requests, body %q", n, w.Body.String())
				}
				if !errors.Is(storeErr, fail) {
					t.Errorf("Event.StoreErr %v", storeErr)
				}
			})
		})
	}
}
