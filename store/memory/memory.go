// Package memory is a bounded in-process larder.Store built on
// github.com/maypok86/otter/v2.
//
// The store is bounded by bytes: each entry weighs what it holds on the heap
// (larder.CompactEntry.Size, and KeyOverhead for otter's node), and when
// the total passes Options.MaxBytes otter evicts the entries least likely to
// be used again (W-TinyLFU). Each entry expires after the ttl given to Set: otter's
// timer wheel removes expired entries, and Get also checks the expiry against
// the clock, so an expired entry is never returned, even before otter has
// removed it. By default that clock is coarse (see Options.Clock): an entry
// leaves the store within CoarseResolution of its ttl, while the cache
// judges freshness with its own, precise clock.
//
// The store keeps each entry in the least memory it can (issue 16): a
// response the cache stored, in compact form (larder.Compact: about 60
// bytes and its header fields' bytes, sharing the body), any other entry
// as it is. Its table is keyed by a 64-bit hash of the key (maphash, with a
// random seed per store), and each entry holds a second one, which a Get
// compares: the key itself is not kept. Two keys are taken for one only if
// both hashes collide, a chance of about n²/2¹²⁹ among n keys (1 in 10²³
// for 100 million keys), with seeds no one outside the process knows.
//
// A Get of a compact response returns a new Entry built from it (larder.
// CompactEntry.Entry), or the one a memo of hot keys kept (memo.go), so a
// hit on a hot key neither allocates nor takes a lock shared by all keys,
// and does not wake otter's maintenance while it is running (see worker).
// Entries are immutable once stored; bodies are never copied.
//
// Besides larder.Store, the store has every optional capability: it is a
// larder.NonBlockingStore (its calls never wait on I/O), a
// larder.EntryKeeper (it is given responses in compact form: an entry's
// Header may be nil, and larder.Entry.Fields returns its fields), a
// larder.ConditionalStore (SetIf is one atomic otter Compute on the key), a
// larder.MultiGetter, and a larder.BodyStreamer whose SetStream reads the body
// into memory, never more than MaxBytes.
package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/tagindex"
	"github.com/maypok86/otter/v2"
)

// DefaultMaxBytes is the bound used when Options.MaxBytes is zero.
const DefaultMaxBytes = 256 << 20

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// MaxBytes bounds the total size of stored entries: each one's
	// larder.CompactEntry.Size plus KeyOverhead, and what the memo of hot
	// keys holds (HotEntries: by default up to MaxBytes/128, at most 4 MiB,
	// reserved from MaxBytes). Zero means 256 MiB.
	// Negative is an error. The bound holds once otter's maintenance has caught
	// up with the latest writes, which it does on its own shortly after them.
	MaxBytes int64
	// Clock returns the current time. It decides when entries expire, both
	// for Get and for otter's removal of expired entries, so tests can move
	// time forward instead of sleeping.
	//
	// Nil means the real time, read every CoarseResolution by a goroutine
	// of the store (otter's CoarseClock) rather than on every Get: reading
	// the precise time was 4 % of a hit. An entry then leaves the store up to
	// CoarseResolution before or after its ttl runs out; a larder.Cache
	// decides what is fresh with its own clock, never with the store's, and
	// the ttl it gives covers the whole time an entry may serve.
	Clock func() time.Time
	// HotEntries is how many keys' rebuilt entries the store keeps (its
	// memo, memo.go), so that a hit on one of them allocates nothing; a
	// hit on another key rebuilds its entry from the compact form, an
	// allocation of about 400 bytes and ~0.45 µs (BENCHMARKS.md §5). Each
	// slot takes up to 1 KiB of MaxBytes, which the entries then cannot
	// use. Zero means one per 128 KiB of MaxBytes, at most 4,096 (none
	// under 2 MiB); negative means none. It is rounded down to a power of
	// two; more than half of MaxBytes is an error.
	HotEntries int
}

// Stats describes what a Store holds.
type Stats struct {
	// Entries is the number of stored entries.
	Entries int
	// Bytes is what the store holds: the total size of the stored
	// entries, with what the store keeps per key, and of the Entries its
	// memo of hot keys keeps (see Options.HotEntries).
	Bytes int64
}

// Store is a bounded in-memory larder.Store. It is safe for concurrent use.
// Call Close when done with it to stop its background goroutine.
type Store struct {
	cache    *otter.Cache[uint64, item]
	maxBytes int64        // what the entries may take: MaxBytes less the memo's reserve
	seed     maphash.Seed // the key's hash, otter's key
	check    maphash.Seed // the second hash, CompactEntry.Check
	memo     memo
	clock    *clock             // Options.Clock; nil with the default clock
	coarse   *otter.CoarseClock // the default clock; nil with Options.Clock

	// otter's maintenance runs on one long-lived worker.
	worker *worker

	tags tagindex.Index // larder.TagStore (tags.go)
}

var _ larder.Store = (*Store)(nil)

// item is what the otter cache holds for a key.
type item struct {
	rec *larder.CompactEntry
	ttl time.Duration // otter's expiry for the item
}

// New returns a Store configured by opts. It returns an error if opts are
// invalid (a negative MaxBytes).
func New(opts Options) (*Store, error) {
	if opts.MaxBytes < 0 {
		return nil, errors.New("memory: negative MaxBytes")
	}
	maxBytes := opts.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	slots := memoSlots(maxBytes)
	switch {
	case opts.HotEntries < 0:
		slots = 0
	case opts.HotEntries > 0:
		if int64(opts.HotEntries) > maxBytes/2/memoEntryBytes {
			return nil, fmt.Errorf("memory: HotEntries %d would take more than half of MaxBytes (%d bytes)", opts.HotEntries, maxBytes)
		}
		slots = 1 << (bits.Len(uint(opts.HotEntries)) - 1)
	}
	s := &Store{
		seed:   maphash.MakeSeed(),
		check:  maphash.MakeSeed(),
		memo:   newMemo(slots),
		worker: newWorker(workerTick, workerIdleTicks),
	}
	s.maxBytes = maxBytes - s.memo.reserve()

	o := &otter.Options[uint64, item]{
		MaximumWeight: uint64(s.maxBytes),
		Weigher: func(_ uint64, it item) uint32 {
			return weight(it.rec)
		},
		// Each item expires ttl after its latest write; reads do not extend it.
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[uint64, item]) time.Duration {
			return e.Value.ttl
		}),
		OnAtomicDeletion: func(e otter.DeletionEvent[uint64, item]) {
			s.memo.forget(e.Key, e.Value.rec)
		},
		Executor: s.worker.execute,
	}
	if opts.Clock != nil {
		s.clock = &clock{now: opts.Clock}
		o.Clock = s.clock
	} else {
		s.coarse = otter.NewCoarseClock(CoarseResolution)
		o.Clock = s.coarse
	}
	c, err := otter.New(o)
	if err != nil {
		s.worker.close()
		if s.coarse != nil {
			s.coarse.Stop()
		}
		return nil, err
	}
	s.cache = c
	return s, nil
}

// CoarseResolution is how often the default clock of a Store reads the
// time (Options.Clock): its goroutine wakes 100 times a second while the
// store is open.
const CoarseResolution = 10 * time.Millisecond

// KeyOverhead is what the weigher counts for a key beyond its entry:
// otter's node (80 bytes) and its share of otter's table, about 112 bytes
// per key (measured). The key's bytes are not kept (see above). With it,
// what the store counts for the responses a cache stores
// (larder.CompactEntry.Size estimates their heap) is within 10% of the heap
// they hold, so that MaxBytes bounds real memory (TestWeightMatchesHeap).
const KeyOverhead = 112

// size is what rec counts against MaxBytes.
func size(rec *larder.CompactEntry) int64 {
	return int64(rec.Size()) + KeyOverhead
}

// Weight is what e counts against MaxBytes once stored, whatever its key:
// what its compact form (or e, held as it is) takes on the heap, body
// included, and KeyOverhead.
func Weight(e *larder.Entry) int64 {
	return size(larder.Compact(e))
}

// weight is size for otter, which weighs in uint32.
func weight(rec *larder.CompactEntry) uint32 {
	return uint32(min(size(rec), math.MaxUint32))
}

// hash returns the key's hash, otter's key, and the second hash that the
// entry under it holds (CompactEntry.Check).
func (s *Store) hash(key string) (h, check uint64) {
	return maphash.String(s.seed, key), maphash.String(s.check, key)
}

// lookup returns what is stored under key, with the key's hash.
func (s *Store) lookup(key string) (uint64, *larder.CompactEntry, bool) {
	h, check := s.hash(key)
	it, ok := s.cache.GetIfPresent(h)
	// otter checks the expiry itself, on the same clock, before returning.
	if !ok || it.rec.Check != check {
		return h, nil, false
	}
	return h, it.rec, true
}

// compact returns e's compact form for key (its Check set), and what it
// counts against MaxBytes.
func (s *Store) compact(key string, e *larder.Entry) (uint64, *larder.CompactEntry, int64) {
	h, check := s.hash(key)
	rec := larder.Compact(e)
	rec.Check = check
	return h, rec, size(rec)
}

// Get returns the entry stored under key, or larder.ErrNotFound if there is none
// or it has expired. The context is not consulted: a Get never blocks.
func (s *Store) Get(_ context.Context, key string) (*larder.Entry, error) {
	h, check := s.hash(key)
	// The memo's slot is read first, so that its cache misses overlap
	// otter's.
	cur := s.memo.peek(h)
	it, ok := s.cache.GetIfPresent(h)
	if !ok || it.rec.Check != check {
		return nil, larder.ErrNotFound
	}
	return s.entryFrom(h, it.rec, cur), nil
}

// Set stores e under key for ttl, replacing any previous entry. The store keeps
// e, or its compact form sharing its body, which must not be modified
// afterwards.
//
// Set removes any previous entry and stores nothing, returning nil, when ttl is
// not positive (the entry would be expired at once) or when its size (with
// the key) exceeds MaxBytes (or 4 GiB), since such an entry could only evict everything else and
// then itself. A nil e is an error. The context is not consulted: a Set never
// blocks for long.
func (s *Store) Set(_ context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("memory: Set of a nil entry")
	}
	h, rec, n := s.compact(key, e)
	if ttl <= 0 || n > s.maxBytes || n > math.MaxUint32 {
		s.cache.Invalidate(h)
		return nil
	}
	s.cache.Set(h, item{rec: rec, ttl: ttl})
	return nil
}

// Delete removes the entry under key, if any. It always returns nil.
func (s *Store) Delete(_ context.Context, key string) error {
	h, _ := s.hash(key)
	s.cache.Invalidate(h)
	return nil
}

// Stats reports what the store holds. It first runs otter's pending maintenance
// (evictions for size, removal of expired entries), so the figures are exact at
// that moment and Bytes is at most MaxBytes.
func (s *Store) Stats() Stats {
	s.cache.CleanUp()
	return Stats{
		Entries: s.cache.EstimatedSize(),
		Bytes:   int64(s.cache.WeightedSize()) + s.memo.bytes(),
	}
}

// Close stops the store's background goroutines: the one that otherwise
// removes expired entries once a second, and the default clock's (after
// Close, the store reads the precise time on every call). The store still
// works after Close; expired entries are then removed during writes and,
// occasionally, reads, and are never returned.
// Close may be called more than once.
func (s *Store) Close() {
	s.worker.close()
	s.cache.StopAllGoroutines()
	if s.clock != nil {
		s.clock.stop()
	}
	if s.coarse != nil {
		s.coarse.Stop()
	}
}

// clock adapts Options.Clock to otter.Clock. Its ticks, which drive otter's
// periodic removal of expired entries, come from real time.
type clock struct {
	now func() time.Time

	mu      sync.Mutex
	tickers []*time.Ticker
	stopped bool
}

func (c *clock) NowNano() int64 { return c.now().UnixNano() }

func (c *clock) Tick(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil // no periodic clean-ups
	}
	t := time.NewTicker(d)
	c.tickers = append(c.tickers, t)
	return t.C
}

func (c *clock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for _, t := range c.tickers {
		t.Stop()
	}
	c.tickers = nil
}
