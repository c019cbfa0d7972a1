package bench

import (
	"container/list"
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// Store-level benchmarks: the memory store's hit ratio on a Zipf trace against
// a plain LRU of the same byte budget, and its parallel hit throughput.

// A zipfTrace is a request trace: keys drawn from a Zipf distribution, each
// key with a fixed body size.
type zipfTrace struct {
	keys   []string // keys[i] is key i
	sizes  []int    // body size of key i
	reqs   []int32  // the trace: key indexes
	budget int64    // the byte budget of the stores replaying it
}

// newZipfTrace draws n requests over k keys with exponent s (math/rand/v2's
// Zipf, seeded, so every run replays the same trace). Body sizes are roughly
// log-uniform between 256 B and 128 KiB, independent of popularity. The
// budget is frac of the bytes of all keys.
func newZipfTrace(n, k int, s float64, frac float64) *zipfTrace {
	rng := rand.New(rand.NewPCG(1, 2))
	t := &zipfTrace{keys: make([]string, k), sizes: make([]int, k), reqs: make([]int32, n)}
	var total int64
	for i := range k {
		t.keys[i] = "http://example.com/obj/" + strconv.Itoa(i)
		t.sizes[i] = 256 << rng.IntN(9) // 256 B .. 64 KiB
		t.sizes[i] += rng.IntN(t.sizes[i])
		total += int64(t.sizes[i])
	}
	// Popularity rank r is a random key, so that size and rank are independent.
	perm := rng.Perm(k)
	z := rand.NewZipf(rng, s, 1, uint64(k-1))
	for i := range t.reqs {
		t.reqs[i] = int32(perm[z.Uint64()])
	}
	t.budget = int64(float64(total) * frac)
	return t
}

// bodyPool is one buffer that every entry's body is a slice of: the stores
// weigh entries by their Body length, and the trace does not need distinct
// bytes, so replaying it allocates no bodies.
var bodyPool = make([]byte, 128<<10)

var traceHeader = http.Header{
	"Content-Type":   {"application/octet-stream"},
	"Cache-Control":  {"max-age=3600"},
	"Etag":           {`"v1"`},
	"Content-Length": {"0"},
}

func traceEntry(size int) *larder.Entry {
	now := time.Now()
	return &larder.Entry{
		Kind: larder.KindResponse, Status: http.StatusOK, Header: traceHeader,
		Body: bodyPool[:size], RequestTime: now, ResponseTime: now,
		Lifetime: time.Hour, Expires: now.Add(time.Hour),
	}
}

// replay runs the trace through s as a cache would (Get, and Set on a miss)
// and returns the hit ratio.
func (t *zipfTrace) replay(s larder.Store) float64 {
	ctx := context.Background()
	hits := 0
	for _, k := range t.reqs {
		key := t.keys[k]
		if _, err := s.Get(ctx, key); err == nil {
			hits++
			continue
		}
		_ = s.Set(ctx, key, traceEntry(t.sizes[k]), time.Hour)
	}
	return float64(hits) / float64(len(t.reqs))
}

// lruStore is a plain LRU bounded by the same weight as the memory store
// (Entry.Size), written with container/list and a map under one mutex.
type lruStore struct {
	mu     sync.Mutex
	ll     *list.List
	items  map[string]*list.Element
	used   int64
	budget int64
}

type lruItem struct {
	key  string
	e    *larder.Entry
	size int64
}

func newLRU(budget int64) *lruStore {
	return &lruStore{ll: list.New(), items: make(map[string]*list.Element), budget: budget}
}

func (l *lruStore) Get(_ context.Context, key string) (*larder.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.items[key]
	if !ok {
		return nil, larder.ErrNotFound
	}
	l.ll.MoveToFront(el)
	return el.Value.(*lruItem).e, nil
}

func (l *lruStore) Set(_ context.Context, key string, e *larder.Entry, _ time.Duration) error {
	size := int64(e.Size())
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[key]; ok {
		l.remove(el)
	}
	if size > l.budget {
		return nil
	}
	for l.used+size > l.budget {
		l.remove(l.ll.Back())
	}
	l.items[key] = l.ll.PushFront(&lruItem{key: key, e: e, size: size})
	l.used += size
	return nil
}

func (l *lruStore) Delete(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[key]; ok {
		l.remove(el)
	}
	return nil
}

// remove drops el from the list and the map. l.mu must be held.
func (l *lruStore) remove(el *list.Element) {
	it := el.Value.(*lruItem)
	l.used -= it.size
	l.ll.Remove(el)
	delete(l.items, it.key)
}

var (
	zipfOnce  sync.Once
	zipfBig   *zipfTrace
	zipfTotal int64
)

// BenchmarkStoreZipfHitRatio replays 1M requests over 100k keys (Zipf s=1.1,
// sizes 256 B..128 KiB) through a fresh memory store and a fresh LRU of the
// same byte budget, 1% and 10% of all the keys' bytes, and reports both hit
// ratios (fraction of requests that hit). One iteration is one replay through
// both stores; ns/op is that time. Run it with -cpu 1: the trace is sequential.
func BenchmarkStoreZipfHitRatio(b *testing.B) {
	zipfOnce.Do(func() {
		zipfBig = newZipfTrace(1_000_000, 100_000, 1.1, 1)
		zipfTotal = zipfBig.budget
	})
	for _, pct := range []int{1, 10} {
		b.Run("budget="+strconv.Itoa(pct)+"%", func(b *testing.B) {
			t := *zipfBig
			t.budget = zipfTotal * int64(pct) / 100
			var mem, lru float64
			for b.Loop() {
				s, err := memory.New(memory.Options{MaxBytes: t.budget})
				if err != nil {
					b.Fatal(err)
				}
				mem = t.replay(s)
				s.Close()
				lru = t.replay(newLRU(t.budget))
			}
			b.ReportMetric(mem, "memory-hit-ratio")
			b.ReportMetric(lru, "lru-hit-ratio")
			b.ReportMetric(float64(t.budget)/(1<<20), "budget-MiB")
		})
	}
}

// TestStoreZipfHitRatio is a small version of the benchmark for CI: both
// stores must hit, and the memory store must stay within its budget.
func TestStoreZipfHitRatio(t *testing.T) {
	tr := newZipfTrace(100_000, 10_000, 1.1, 0.10)
	s, err := memory.New(memory.Options{MaxBytes: tr.budget})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mem := tr.replay(s)
	lru := tr.replay(newLRU(tr.budget))
	t.Logf("hit ratio: memory %.3f, LRU %.3f (budget %d bytes)", mem, lru, tr.budget)
	if mem <= 0.2 || lru <= 0.2 {
		t.Fatalf("hit ratios too low: memory %.3f, LRU %.3f", mem, lru)
	}
	// W-TinyLFU (its lossy read buffers drop reads under load) must beat LRU on a
	// skewed trace (0.80 against 0.775 here).
	if mem < lru+0.01 {
		t.Fatalf("memory store hit ratio %.3f does not beat LRU's %.3f", mem, lru)
	}
	if st := s.Stats(); st.Bytes > tr.budget {
		t.Fatalf("memory store holds %d bytes, budget %d", st.Bytes, tr.budget)
	}
}

// parallelKeys is how many entries the parallel benchmarks read from.
const parallelKeys = 10_000

func fillStore(tb testing.TB, s larder.Store) []string {
	keys := make([]string, parallelKeys)
	for i := range keys {
		keys[i] = "http://example.com/obj/" + strconv.Itoa(i)
		if err := s.Set(context.Background(), keys[i], traceEntry(1024), time.Hour); err != nil {
			tb.Fatal(err)
		}
	}
	return keys
}

var seedSeq atomic.Uint64

// benchStoreParallelGet measures hits from concurrent goroutines: each reads
// keys in its own random order, every Get must hit. Run with -cpu 1,2: with
// perfect scaling ns/op halves from -1 to -2.
func benchStoreParallelGet(b *testing.B, s larder.Store) {
	keys := fillStore(b, s)
	ctx := context.Background()
	var misses atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seedSeq.Add(1), 7))
		order := rng.Perm(len(keys))
		i := 0
		for pb.Next() {
			if _, err := s.Get(ctx, keys[order[i]]); err != nil {
				misses.Add(1)
			}
			if i++; i == len(order) {
				i = 0
			}
		}
	})
	if m := misses.Load(); m > 0 {
		b.Fatalf("%d gets missed", m)
	}
}

func BenchmarkStoreParallelGet(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		s, err := memory.New(memory.Options{MaxBytes: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchStoreParallelGet(b, s)
	})
	// The mutex LRU as a contrast: one lock shared by all keys.
	b.Run("lru", func(b *testing.B) { benchStoreParallelGet(b, newLRU(1<<30)) })
}
