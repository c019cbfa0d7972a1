package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// capStore is mapStore with every optional capability, done the simplest
// correct way.
type capStore struct{ *mapStore }

func (s capStore) NonBlocking() bool { return true }

func (s capStore) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	out := make([]*larder.Entry, len(keys))
	for i, k := range keys {
		if e, err := s.Get(ctx, k); err == nil {
			out[i] = e
		}
	}
	return out, nil
}

func (s capStore) SetIf(_ context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := ""
	if it, ok := s.m[key]; ok && s.now().Before(it.expires) {
		cur = it.e.Nonce
	}
	if cur != gen {
		return false, nil
	}
	s.m[key] = mapItem{e: e, expires: s.now().Add(ttl)}
	return true, nil
}

func (s capStore) RewriteMeta(ctx context.Context, keys []string, rewrite func(string, *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	return s.rewriteMeta(keys, rewrite, "")
}

// rewriteMeta is RewriteMeta, broken as how says: "rewritefields" stores
// the head alone, dropping the stored entry's other fields and body;
// "rewriteignoresgen" writes over another write; "rewritekind" writes a
// head of another Kind over the entry read.
func (s capStore) rewriteMeta(keys []string, rewrite func(string, *larder.EntryHead) (larder.EntryHead, time.Duration, bool), how string) ([]string, error) {
	var retry []string
	for _, k := range keys {
		s.mu.Lock()
		it, ok := s.m[k]
		ok = ok && s.now().Before(it.expires)
		s.mu.Unlock()
		var read *larder.EntryHead
		if ok {
			h := it.e.Head()
			read = &h
		}
		nh, ttl, write := rewrite(k, read)
		if !write {
			continue
		}
		s.mu.Lock()
		cur, still := s.m[k]
		still = still && s.now().Before(cur.expires)
		if how != "rewriteignoresgen" && (still != ok || still && cur.e != it.e) ||
			how != "rewritekind" && ok && nh.Kind != it.e.Kind {
			s.mu.Unlock()
			retry = append(retry, k)
			continue
		}
		ne := nh.Entry()
		if ok && how != "rewritefields" {
			ne = it.e.WithHead(nh)
		}
		if ttl <= 0 {
			delete(s.m, k)
			retry = append(retry, k)
		} else {
			s.m[k] = mapItem{e: ne, expires: s.now().Add(ttl)}
		}
		s.mu.Unlock()
	}
	return retry, nil
}

func (s capStore) SetStream(ctx context.Context, key string, meta *larder.Entry, body io.Reader, size int64, ttl time.Duration) error {
	b, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return err
	}
	if size >= 0 && int64(len(b)) != size {
		return fmt.Errorf("body of %d bytes, want %d: %w", len(b), size, io.ErrUnexpectedEOF)
	}
	e := *meta
	e.Body = b
	return s.Set(ctx, key, &e, ttl)
}

func (s capStore) GetStream(ctx context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return nil, nil, 0, err
	}
	meta := *e
	meta.Body = nil
	return &meta, io.NopCloser(bytes.NewReader(e.Body)), int64(len(e.Body)), nil
}

type fakeClock = fakeclock.Clock

func TestMapStoreFakeClock(t *testing.T) {
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		return newMapStore(clock.Now)
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

func TestCapStoreFakeClock(t *testing.T) {
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		return capStore{newMapStore(clock.Now)}
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

func TestCapStoreRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real ttls")
	}
	storetest.Run(t, func(t *testing.T) larder.Store { return capStore{newMapStore(time.Now)} })
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

// brokenCapStore breaks capStore in one way, chosen by name.
type brokenCapStore struct {
	capStore
	how string
}

func (s brokenCapStore) SetIf(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	switch s.how {
	case "setifignoresgen":
		return true, s.Set(ctx, key, e, ttl)
	case "setifracy": // compares and sets in two steps
		cur, err := s.Get(ctx, key)
		nonce := ""
		if err == nil {
			nonce = cur.Nonce
		}
		if nonce != gen {
			return false, nil
		}
		time.Sleep(time.Microsecond)
		return true, s.Set(ctx, key, e, ttl)
	case "setifexpired": // an expired entry still counts
		s.mu.Lock()
		defer s.mu.Unlock()
		cur := ""
		if it, ok := s.m[key]; ok {
			cur = it.e.Nonce
		}
		if cur != gen {
			return false, nil
		}
		s.m[key] = mapItem{e: e, expires: s.now().Add(ttl)}
		return true, nil
	}
	return s.capStore.SetIf(ctx, key, e, ttl, gen)
}

func (s brokenCapStore) SetStream(ctx context.Context, key string, meta *larder.Entry, body io.Reader, size int64, ttl time.Duration) error {
	if s.how == "tornstream" { // stores what it read before the failure
		b, err := io.ReadAll(body)
		e := *meta
		e.Body = b
		if serr := s.Set(ctx, key, &e, ttl); serr != nil {
			return serr
		}
		return err
	}
	return s.capStore.SetStream(ctx, key, meta, body, size, ttl)
}

func (s brokenCapStore) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	out, err := s.capStore.GetMulti(ctx, keys)
	if s.how == "getmulticompact" { // drops the misses
		var c []*larder.Entry
		for _, e := range out {
			if e != nil {
				c = append(c, e)
			}
		}
		return c, err
	}
	return out, err
}

func (s brokenCapStore) RewriteMeta(ctx context.Context, keys []string, rewrite func(string, *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	return s.rewriteMeta(keys, rewrite, s.how)
}

// TestBrokenCapStoreHelper runs the suite against a store with broken
// capabilities when TestSuiteCatchesBrokenStores asks it to.
func TestBrokenCapStoreHelper(t *testing.T) {
	how := os.Getenv("STORETEST_BROKENCAP")
	if how == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = fakeclock.New(time.Unix(1e9, 0))
		return brokenCapStore{capStore{newMapStore(clock.Now)}, how}
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
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
	for how, subtest := range map[string]string{
		"setifignoresgen":   "ConditionalStore/Absent",
		"setifracy":         "ConditionalStore/Concurrent",
		"setifexpired":      "ConditionalStore/Expired",
		"tornstream":        "BodyStreamer/FailedBody",
		"getmulticompact":   "MultiGetter/Mixed",
		"rewritefields":     "MetaRewriter/KeepsBody",
		"rewriteignoresgen": "MetaRewriter/Replaced",
		"rewritekind":       "MetaRewriter/Kind",
	} {
		t.Run(how, func(t *testing.T) {
			group, _, _ := strings.Cut(subtest, "/")
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenCapStoreHelper$/^"+group+"$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BROKENCAP="+how)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store broken by %s:\n%s", how, out)
			}
			if want := "--- FAIL: TestBrokenCapStoreHelper/" + subtest; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}

// TestSuiteSkipsMissingCapabilities: a store without the optional
// capabilities passes, with their groups skipped.
func TestSuiteSkipsMissingCapabilities(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMapStoreFakeClock$", "-test.v")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite failed a store without capabilities:\n%s", out)
	}
	for _, g := range []string{"BodyStreamer", "ConditionalStore", "DeadlineStore", "MultiGetter", "NonBlockingStore"} {
		if want := "--- SKIP: TestMapStoreFakeClock/" + g + " "; !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
