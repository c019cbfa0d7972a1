package larder_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
)

// clock is a fake clock: tests advance it instead of sleeping.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) }

// mapStore is a minimal Store honouring TTLs on the fake clock, with failure
// injection. It also records deletions, like the seed's collecting storage.
type mapStore struct {
	mu      sync.Mutex
	clock   *clock
	m       map[string]mapItem
	fail    atomic.Bool
	deleted []string
}

type mapItem struct {
	e   *larder.Entry
	exp time.Time
}

var errBroken = errors.New("store is broken")

func newMapStore(c *clock) *mapStore { return &mapStore{clock: c, m: map[string]mapItem{}} }

func (s *mapStore) Get(ctx context.Context, key string) (*larder.Entry, error) {
	if s.fail.Load() {
		return nil, errBroken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[key]
	if !ok || !s.clock.Now().Before(it.exp) {
		return nil, larder.ErrNotFound
	}
	return it.e, nil
}

func (s *mapStore) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	if s.fail.Load() {
		return errBroken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = mapItem{e, s.clock.Now().Add(ttl)}
	return nil
}

func (s *mapStore) Delete(ctx context.Context, key string) error {
	if s.fail.Load() {
		return errBroken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	s.deleted = append(s.deleted, key)
	return nil
}

// NonBlocking makes the cache call the store directly and write to it
// before the response is complete (larder.NonBlockingStore): tests see
// their fills at once.
func (s *mapStore) NonBlocking() bool { return true }

// keepingStore is a mapStore that is a larder.EntryKeeper (it keeps the
// *Entry it is given), so the cache hands it responses in compact form,
// as it does the memory store. The fixtures use it, unless
// LARDER_TEST_FULL_ENTRIES is set: then they use the mapStore itself, and
// the cache gives it responses with their Header maps, as it does stores
// that encode entries.
type keepingStore struct{ *mapStore }

func (keepingStore) KeepsEntries() bool { return true }

// fixtureStore is the store a fixture's cache is given.
func fixtureStore(s *mapStore) larder.Store {
	if os.Getenv("LARDER_TEST_FULL_ENTRIES") != "" {
		return s
	}
	return keepingStore{s}
}

func (s *mapStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// origin is a handler that counts its calls.
type origin struct {
	calls atomic.Int64
	fn    http.HandlerFunc
	last  atomic.Pointer[http.Request]
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	o.last.Store(r)
	o.fn(w, r)
}

func (o *origin) n() int64 { return o.calls.Load() }

// fixture is a cache in front of an origin, with a fake clock.
type fixture struct {
	t     *testing.T
	clock *clock
	store *mapStore
	cache *larder.Cache
	orig  *origin
	h     http.Handler
}

func newFixture(t *testing.T, fn http.HandlerFunc, opts ...larder.Option) *fixture {
	t.Helper()
	c := newClock()
	s := newMapStore(c)
	opts = append([]larder.Option{larder.WithClock(c.Now)}, opts...)
	cache := larder.New(fixtureStore(s), opts...)
	o := &origin{fn: fn}
	return &fixture{t: t, clock: c, store: s, cache: cache, orig: o, h: cache.Middleware(o)}
}

// route puts the origin behind a route policy instead of the plain middleware.
func (f *fixture) route(opts ...larder.RouteOption) *fixture {
	f.h = f.cache.Route(opts...)(f.orig)
	return f
}

// do sends a request; hdr is name, value pairs.
func (f *fixture) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// respond returns a handler writing body with the given header pairs.
func respond(status int, body string, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Add(hdr[i], hdr[i+1])
		}
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(body))
		}
	}
}

// httpDate formats t as an IMF-fixdate.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func expectCalls(t *testing.T, o *origin, want int64) {
	t.Helper()
	if got := o.n(); got != want {
		t.Fatalf("origin called %d times, want %d", got, want)
	}
}

// validating returns a handler that answers If-None-Match with 304 when it
// matches etag, and with a full response otherwise.
func validating(etag, body string, hdr ...string) http.HandlerFunc {
	full := respond(200, body, append([]string{"ETag", etag}, hdr...)...)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Add(hdr[i], hdr[i+1])
			}
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full(w, r)
	}
}
