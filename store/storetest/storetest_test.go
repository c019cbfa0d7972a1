package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/store/storetest"
)

// mapStore is the simplest correct Store: a map under a mutex, with a clock
// that tests can move.
type mapStore struct {
	mu  sync.Mutex
	m   map[string]mapItem
	now func() time.Time
}

type mapItem struct {
	e       *larder.Entry
	expires time.Time
}

func newMapStore(now func() time.Time) *mapStore {
	return &mapStore{m: make(map[string]mapItem), now: now}
}

func (s *mapStore) Get(_ context.Context, key string) (*larder.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[key]
	if !ok || !s.now().Before(it.expires) {
		return nil, larder.ErrNotFound
	}
	return it.e, nil
}

func (s *mapStore) Set(_ context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = mapItem{e: e, expires: s.now().Add(ttl)}
	return nil
}

func (s *mapStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

type fakeClock = fakeclock.Clock

func TestMapStoreFakeClock(t *testing.T) {
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		return newMapStore(clock.Now)
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

func TestMapStoreRealClock(t *testing.T) {
	storetest.Run(t, func(t *testing.T) larder.Store { return newMapStore(time.Now) })
}

// ctxStore fails every call with a done context, as a networked store does.
type ctxStore struct{ *mapStore }

func (s ctxStore) Get(ctx context.Context, key string) (*larder.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.mapStore.Get(ctx, key)
}

func (s ctxStore) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapStore.Set(ctx, key, e, ttl)
}

func (s ctxStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapStore.Delete(ctx, key)
}

func TestContextHonouringStore(t *testing.T) {
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = fakeclock.New(time.Unix(0, 0))
		return ctxStore{newMapStore(clock.Now)}
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

// brokenStore breaks mapStore in one way, chosen by name.
type brokenStore struct {
	*mapStore
	how string
}

func (s brokenStore) Get(ctx context.Context, key string) (*larder.Entry, error) {
	if s.how == "truncatekeys" && len(key) > 250 {
		key = key[:250]
	}
	e, err := s.mapStore.Get(ctx, key)
	if s.how == "wrongmiss" && err != nil {
		return nil, errors.New("miss")
	}
	return e, err
}

func (s brokenStore) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	switch s.how {
	case "truncatekeys":
		if len(key) > 250 {
			key = key[:250]
		}
	case "noexpiry":
		ttl = 1000 * time.Hour
	case "droptags":
		c := *e
		c.Tags = nil
		e = &c
	}
	return s.mapStore.Set(ctx, key, e, ttl)
}

// TestBrokenStoreHelper runs the suite against a broken store when
// TestSuiteCatchesBrokenStores asks it to, in a child process.
func TestBrokenStoreHelper(t *testing.T) {
	how := os.Getenv("STORETEST_BROKEN")
	if how == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = fakeclock.New(time.Unix(1e9, 0))
		return brokenStore{newMapStore(clock.Now), how}
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

func TestSuiteCatchesBrokenStores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for how, subtest := range map[string]string{
		"truncatekeys": "OddKeys",
		"noexpiry":     "Expiry",
		"wrongmiss":    "GetMissing",
		"droptags":     "SetGet",
	} {
		t.Run(how, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStoreHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BROKEN="+how)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store broken by %s:\n%s", how, out)
			}
			if want := "--- FAIL: TestBrokenStoreHelper/" + subtest; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
