package tiered

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// Defaults of Options.
const (
	// DefaultMaxL1TTL is how long the L1 keeps an entry at most when
	// Options.MaxL1TTL is zero.
	DefaultMaxL1TTL = 2 * time.Second
	// DefaultLease is how long a node keeps using its L1 without hearing
	// from the bus when Options.Lease is zero.
	DefaultLease = time.Second
	// DefaultChannel is the pub/sub channel when Options.Channel is empty.
	DefaultChannel = "larder:tiered"
)

// L2 is what the shared tier must be: a larder.Store with SetIf, on which the
// cache's invalidation across processes relies. store/redis, store/memcache,
// store/disk and store/memory all are.
type L2 interface {
	larder.Store
	larder.ConditionalStore
}

// Options configures a Store. The zero value is ready to use (for one
// process: see Bus).
type Options struct {
	// L1 configures the in-process tier: its MaxBytes (default 256 MiB) and
	// its Clock. Options.Clock, when set, replaces L1.Clock.
	L1 memory.Options
	// MaxL1TTL bounds how long the L1 keeps an entry read from the L2. It
	// never keeps one past the entry's Expires either, and never keeps one
	// without an Expires (see the package doc). Zero means
	// DefaultMaxL1TTL (2 s). Negative is an error.
	MaxL1TTL time.Duration
	// Bus is the Redis on whose pub/sub the nodes sharing the L2 tell one
	// another which keys they wrote (see the package doc). It may be the L2's
	// own client. Nil means no other process writes the L2: the store then
	// publishes nothing and always uses its L1. The store does not own the
	// client: close it after the store.
	Bus goredis.UniversalClient
	// Channel is the pub/sub channel; the nodes sharing one L2 must use the
	// same, and caches that share a Redis but not their entries should each
	// use their own. Empty means DefaultChannel.
	Channel string
	// Lease is how long the node keeps using its L1 after it last heard from
	// the bus (a message or a pong); it pings every Lease/4. Zero means
	// DefaultLease (1 s). It must be at least 20 ms.
	Lease time.Duration
	// Clock returns the current time; nil means time.Now. It decides the
	// L1's expiries and the Lease.
	Clock func() time.Time
}

// Store is a two-tier larder.Store (see the package doc). It is safe for
// concurrent use. Close it when done with it.
type Store struct {
	l2     L2
	multi  larder.MultiGetter // l2's, or nil
	l1     atomic.Pointer[memory.Store]
	l1opts memory.Options
	maxTTL time.Duration
	now    func() time.Time

	seed    maphash.Seed
	stripes [nStripes]atomic.Uint64

	bus     *bus // nil without Options.Bus
	stats   counters
	closeMu sync.Mutex
	closed  bool
}

// nStripes is how many eviction counters the keys are spread over.
const nStripes = 256

var (
	_ larder.Store            = (*Store)(nil)
	_ larder.ConditionalStore = (*Store)(nil)
	_ larder.MultiGetter      = (*Store)(nil)
	_ larder.LocalGetter      = (*Store)(nil)
)

// New returns a Store with an L1 made from opts.L1 in front of l2. With
// opts.Bus it subscribes to the bus in the background, and uses its L1 only
// once subscribed (until then every Get reads the L2); see WaitConnected.
func New(l2 L2, opts Options) (*Store, error) {
	if l2 == nil {
		return nil, errors.New("tiered: nil L2")
	}
	if opts.MaxL1TTL < 0 {
		return nil, errors.New("tiered: negative MaxL1TTL")
	}
	if opts.Lease == 0 {
		opts.Lease = DefaultLease
	}
	if opts.Lease < 20*time.Millisecond {
		return nil, errors.New("tiered: Lease under 20ms")
	}
	if opts.MaxL1TTL == 0 {
		opts.MaxL1TTL = DefaultMaxL1TTL
	}
	if opts.Channel == "" {
		opts.Channel = DefaultChannel
	}
	if opts.Clock != nil {
		opts.L1.Clock = opts.Clock
	}
	now := opts.L1.Clock
	if now == nil {
		now = time.Now
	}
	s := &Store{l2: l2, l1opts: opts.L1, maxTTL: opts.MaxL1TTL, now: now, seed: maphash.MakeSeed()}
	s.multi, _ = l2.(larder.MultiGetter)
	l1, err := memory.New(opts.L1)
	if err != nil {
		return nil, fmt.Errorf("tiered: L1: %w", err)
	}
	s.l1.Store(l1)
	if opts.Bus != nil {
		var id [8]byte
		_, _ = rand.Read(id[:])
		s.bus = newBus(s, opts.Bus, opts.Channel, hex.EncodeToString(id[:]), opts.Lease)
	}
	return s, nil
}

// Close stops the subscription and the L1's goroutine. It does not close
// the L2 or the bus's client. The store must not be used after Close.
func (s *Store) Close() {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return
	}
	s.closed = true // flush, from the bus's goroutine, now does nothing
	s.closeMu.Unlock()
	if s.bus != nil {
		s.bus.close() // waits for that goroutine: not under closeMu
	}
	s.l1.Load().Close()
}

// useL1 returns the L1 if it may be used now: always without a bus, and
// with one only while the node hears from it.
func (s *Store) useL1() *memory.Store {
	if s.bus != nil && !s.bus.live(s.now()) {
		return nil
	}
	return s.l1.Load()
}

func (s *Store) stripe(key string) *atomic.Uint64 {
	return &s.stripes[maphash.String(s.seed, key)%nStripes]
}

// evict removes key from the L1, after bumping its stripe so that a fill
// in flight takes itself back (see the package doc).
func (s *Store) evict(key string) {
	s.stripe(key).Add(1)
	_ = s.l1.Load().Delete(context.Background(), key)
}

// flush empties the L1, by replacing it.
func (s *Store) flush() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	n, err := memory.New(s.l1opts)
	if err != nil { // cannot happen: the options were accepted by New
		return
	}
	for i := range s.stripes {
		s.stripes[i].Add(1)
	}
	s.l1.Swap(n).Close()
	s.stats.flushes.Add(1)
}

// fill keeps e, read from the L2 after the stripe of key read stamp, in l1,
// unless an eviction of the key came meanwhile.
func (s *Store) fill(l1 *memory.Store, key string, e *larder.Entry, stamp uint64) {
	if e.Expires.IsZero() { // how long the L2 keeps it is unknown
		return
	}
	ttl := min(s.maxTTL, e.Expires.Sub(s.now()))
	if ttl <= 0 {
		return
	}
	_ = l1.Set(context.Background(), key, e, ttl)
	if s.stripe(key).Load() != stamp {
		_ = l1.Delete(context.Background(), key)
	}
}

// Get returns the entry under key from the L1, or else from the L2, keeping
// it in the L1 (see the package doc).
func (s *Store) Get(ctx context.Context, key string) (*larder.Entry, error) {
	l1 := s.useL1()
	if l1 != nil {
		if e, err := l1.Get(ctx, key); err == nil {
			s.stats.l1Hits.Add(1)
			return e, nil
		}
	}
	stamp := s.stripe(key).Load()
	s.stats.l2Gets.Add(1)
	e, err := s.l2.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if l1 != nil {
		s.fill(l1, key, e, stamp)
	}
	return e, nil
}

// GetLocal returns the entry under key if the L1 holds it and may be used
// now (see larder.LocalGetter): the cache then serves it without a
// goroutine or a deadline, as from the memory store.
func (s *Store) GetLocal(key string) (*larder.Entry, bool) {
	l1 := s.useL1()
	if l1 == nil {
		return nil, false
	}
	e, err := l1.Get(context.Background(), key)
	if err != nil {
		return nil, false
	}
	s.stats.l1Hits.Add(1)
	return e, true
}

// GetMulti returns the entries under keys, those in the L1 from it and the
// others from the L2 in one call (the L2's GetMulti if it has one), keeping
// those in the L1 (see larder.MultiGetter).
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	out := make([]*larder.Entry, len(keys))
	l1 := s.useL1()
	var missing []int
	for i, k := range keys {
		if l1 != nil {
			if e, err := l1.Get(ctx, k); err == nil {
				out[i] = e
				s.stats.l1Hits.Add(1)
				continue
			}
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	mk := make([]string, len(missing))
	stamps := make([]uint64, len(missing))
	for j, i := range missing {
		mk[j] = keys[i]
		stamps[j] = s.stripe(keys[i]).Load()
	}
	s.stats.l2Gets.Add(1)
	got, err := s.l2GetMulti(ctx, mk)
	if err != nil {
		return nil, err
	}
	for j, i := range missing {
		out[i] = got[j]
		if l1 != nil && got[j] != nil {
			s.fill(l1, mk[j], got[j], stamps[j])
		}
	}
	return out, nil
}

func (s *Store) l2GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	if s.multi != nil {
		got, err := s.multi.GetMulti(ctx, keys)
		if err == nil && len(got) != len(keys) {
			err = fmt.Errorf("tiered: the L2's GetMulti returned %d entries for %d keys", len(got), len(keys))
		}
		return got, err
	}
	got := make([]*larder.Entry, len(keys))
	for i, k := range keys {
		e, err := s.l2.Get(ctx, k)
		if errors.Is(err, larder.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		got[i] = e
	}
	return got, nil
}

// Set stores e in the L2, then evicts key from every node's L1 (see the
// package doc). An error of the publication is returned, after the L2 was
// written.
func (s *Store) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	if err := s.l2.Set(ctx, key, e, ttl); err != nil {
		return err
	}
	return s.wrote(ctx, key)
}

// SetIf is the L2's SetIf (see larder.ConditionalStore); then, whether it
// stored or not (it may have removed the entry), it evicts key from every
// node's L1.
func (s *Store) SetIf(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	ok, err := s.l2.SetIf(ctx, key, e, ttl, gen)
	if err != nil {
		s.evict(key) // the L2 may have changed
		return false, err
	}
	return ok, s.wrote(ctx, key)
}

// Delete removes key from the L2, then from every node's L1.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.l2.Delete(ctx, key); err != nil {
		s.evict(key)
		return err
	}
	return s.wrote(ctx, key)
}

// wrote evicts key from this node's L1 and publishes it to the others.
func (s *Store) wrote(ctx context.Context, key string) error {
	s.evict(key)
	if s.bus == nil {
		return nil
	}
	if err := s.bus.publish(ctx, key); err != nil {
		return fmt.Errorf("tiered: the L2 was written, but the other nodes' L1s were not told: %w", err)
	}
	return nil
}

// Stats counts what the store did.
type Stats struct {
	// L1Hits counts the keys served from the L1.
	L1Hits uint64
	// L2Gets counts the calls to the L2 for reads (a GetMulti is one).
	L2Gets uint64
	// Evictions counts the keys other nodes published that this node evicted.
	Evictions uint64
	// Flushes counts the times the L1 was emptied: at each subscription
	// (the first one included) and after the bus broke or fell silent.
	Flushes uint64
	// Connected reports whether the node hears from the bus now (always
	// true without a bus): whether it uses its L1.
	Connected bool
}

type counters struct {
	l1Hits, l2Gets, evictions, flushes atomic.Uint64
}

// Stats reports the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		L1Hits:    s.stats.l1Hits.Load(),
		L2Gets:    s.stats.l2Gets.Load(),
		Evictions: s.stats.evictions.Load(),
		Flushes:   s.stats.flushes.Load(),
		Connected: s.bus == nil || s.bus.live(s.now()),
	}
}

// WaitConnected waits until the node hears from the bus, so that it uses
// its L1, or until ctx ends (returning its error). Without a bus it returns
// nil at once.
func (s *Store) WaitConnected(ctx context.Context) error {
	if s.bus == nil {
		return nil
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !s.bus.live(s.now()) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// message is the pub/sub payload for a write of key by the node id.
func message(id, key string) string { return id + " " + key }

// parseMessage splits a payload; ok is false for one not in the format.
func parseMessage(p string) (id, key string, ok bool) {
	return strings.Cut(p, " ")
}
