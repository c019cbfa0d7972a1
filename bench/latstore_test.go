package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/storetest"
)

// latStore is a larder.Store "over a network": an in-memory map behind an
// injected round-trip latency per call. Each call waits rtt on a timer (no
// time.Sleep) and gives up with the context's error if the context ends
// first, as a networked client does. It is not local: it implements neither
// Local nor NonBlocking, so the cache calls it under its store timeout and
// writes to it behind the response. It is a larder.ConditionalStore (SetIf
// compares Nonce, under the map's lock). latMultiStore adds
// larder.MultiGetter (GetMulti: all keys in one round trip).
//
// Every call is counted (one call = one round trip), by operation; done
// counts the calls that have returned, so that a caller can tell the calls
// a request waited for (done when ServeHTTP returns) from those written
// behind it (done after Cache.Close).
type latStore struct {
	rtt time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]latItem

	get, getMulti, set, setIf, del atomic.Int64 // calls started, by operation
	done                           atomic.Int64 // calls returned
}

type latItem struct {
	e       *larder.Entry
	expires time.Time
}

func newLatStore(rtt time.Duration) *latStore {
	return &latStore{rtt: rtt, now: time.Now, m: map[string]latItem{}}
}

// latMultiStore is a latStore that also reads several keys in one call.
type latMultiStore struct{ *latStore }

var (
	_ larder.ConditionalStore = (*latStore)(nil)
	_ larder.MultiGetter      = latMultiStore{}
	_ larder.ConditionalStore = latMultiStore{}
)

// trip is one round trip: rtt on a timer, or the context's end.
func (s *latStore) trip(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.rtt <= 0 {
		return nil
	}
	t := time.NewTimer(s.rtt)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// calls returns the calls started so far, all operations together.
func (s *latStore) calls() int64 {
	return s.get.Load() + s.getMulti.Load() + s.set.Load() + s.setIf.Load() + s.del.Load()
}

// lookup returns the unexpired entry under k; s.mu is held.
func (s *latStore) lookup(k string) *larder.Entry {
	it, ok := s.m[k]
	if !ok {
		return nil
	}
	if !s.now().Before(it.expires) {
		delete(s.m, k)
		return nil
	}
	return it.e
}

func (s *latStore) Get(ctx context.Context, k string) (*larder.Entry, error) {
	s.get.Add(1)
	defer s.done.Add(1)
	if err := s.trip(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.lookup(k); e != nil {
		return e, nil
	}
	return nil, larder.ErrNotFound
}

func (s *latStore) Set(ctx context.Context, k string, e *larder.Entry, ttl time.Duration) error {
	s.set.Add(1)
	defer s.done.Add(1)
	if err := s.trip(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(k, e, ttl)
	return nil
}

// store puts e under k for ttl, or removes k when ttl <= 0; s.mu is held.
func (s *latStore) store(k string, e *larder.Entry, ttl time.Duration) {
	if ttl <= 0 {
		delete(s.m, k)
		return
	}
	s.m[k] = latItem{e: e, expires: s.now().Add(ttl)}
}

func (s *latStore) Delete(ctx context.Context, k string) error {
	s.del.Add(1)
	defer s.done.Add(1)
	if err := s.trip(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

// SetIf stores e if the entry under k has Nonce gen (no entry, or one
// without a Nonce, matching ""), comparing and writing under one lock.
func (s *latStore) SetIf(ctx context.Context, k string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	s.setIf.Add(1)
	defer s.done.Add(1)
	if err := s.trip(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := ""
	if c := s.lookup(k); c != nil {
		cur = c.Nonce
	}
	if cur != gen {
		return false, nil
	}
	s.store(k, e, ttl)
	return ttl > 0, nil
}

func (s latMultiStore) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	s.getMulti.Add(1)
	defer s.done.Add(1)
	if err := s.trip(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*larder.Entry, len(keys))
	for i, k := range keys {
		out[i] = s.lookup(k)
	}
	return out, nil
}

// TestLatStoreConformance checks the benchmark's store with the store
// conformance suite (no latency, an injected clock), so that the engine
// tables measure a store that keeps the contracts the cache relies on.
func TestLatStoreConformance(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	storetest.Run(t, func(t *testing.T) larder.Store {
		s := newLatStore(0)
		s.now = clock
		return latMultiStore{s}
	}, storetest.WithAdvance(advance))
}
