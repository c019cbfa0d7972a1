package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) }

func newStore(t testing.TB, opts memory.Options) *memory.Store {
	t.Helper()
	s, err := memory.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func entry(body []byte) *larder.Entry {
	return &larder.Entry{
		Kind:   larder.KindResponse,
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/octet-stream"}},
		Body:   body,
	}
}

func TestConformance(t *testing.T) {
	var clock *fakeClock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = newFakeClock()
		return newStore(t, memory.Options{Clock: clock.Now})
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

func TestConformanceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about 1 s for a real ttl")
	}
	storetest.Run(t, func(t *testing.T) larder.Store {
		return newStore(t, memory.Options{})
	})
}

func TestNewOptions(t *testing.T) {
	if _, err := memory.New(memory.Options{MaxBytes: -1}); err == nil {
		t.Fatal("New with negative MaxBytes: no error")
	}
	s := newStore(t, memory.Options{}) // zero value: 256 MiB, real clock
	if err := s.Set(context.Background(), "k", entry(make([]byte, 1<<20)), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), "k"); err != nil {
		t.Fatalf("Get from a zero-options store: %v", err)
	}
}

func TestByteBound(t *testing.T) {
	const maxBytes = 64 << 10
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	ctx := context.Background()
	body := make([]byte, 1000)
	// Every entry weighs the same, whatever its key.
	key := func(i int) string { return fmt.Sprintf("k%05d", i) }
	size := int(memory.Weight(entry(body)))
	n := 10 * maxBytes / size
	for i := range n {
		if err := s.Set(ctx, key(i), entry(body), time.Hour); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			if st := s.Stats(); st.Bytes > maxBytes {
				t.Fatalf("after %d sets: Stats().Bytes = %d > MaxBytes %d", i+1, st.Bytes, maxBytes)
			}
		}
	}
	st := s.Stats()
	if st.Bytes > maxBytes {
		t.Fatalf("Stats().Bytes = %d > MaxBytes %d", st.Bytes, maxBytes)
	}
	if st.Bytes < maxBytes/2 || st.Entries == 0 {
		t.Fatalf("Stats() = %+v: the store should be well filled", st)
	}
	if st.Bytes != int64(st.Entries*size) {
		t.Fatalf("Stats() = %+v, want Bytes = Entries × %d", st, size)
	}
	hits := 0
	for i := range n {
		if _, err := s.Get(ctx, key(i)); err == nil {
			hits++
		}
	}
	if hits != st.Entries {
		t.Fatalf("%d keys readable, Stats().Entries = %d", hits, st.Entries)
	}
}

func TestOversizeEntryNotStored(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 4096})
	ctx := context.Background()
	if err := s.Set(ctx, "k", entry([]byte("small")), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", entry(make([]byte, 5000)), time.Hour); err != nil {
		t.Fatalf("Set of an oversize entry: %v", err)
	}
	if e, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get after an oversize Set = %v, %v; want ErrNotFound (the old entry replaced, the new one not stored)", e, err)
	}
	if st := s.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("Stats() = %+v, want empty", st)
	}
	// An entry of exactly MaxBytes is stored.
	exact := entry(nil)
	exact.Body = make([]byte, 4096-memory.Weight(exact))
	if err := s.Set(ctx, "exact", exact, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "exact"); err != nil {
		t.Fatalf("Get of an entry of exactly MaxBytes: %v", err)
	}
}

// TestKeysNotHeld: the store keeps two hashes of a key, not its bytes, so
// that requests with long URLs hold no more memory than short ones; every
// entry is still found under its own key, and under no other.
func TestKeysNotHeld(t *testing.T) {
	const maxBytes = 8 << 20
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	ctx := context.Background()
	long := strings.Repeat("q", 500<<10)
	heap0 := liveHeap()
	for i := range 600 {
		if err := s.Set(ctx, fmt.Sprint(i, long), entry([]byte(fmt.Sprint(i))), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(liveHeap()) - int64(heap0)
	st := s.Stats()
	if st.Entries != 600 || st.Bytes > maxBytes || grown > 600*4096 {
		t.Fatalf("after 600 entries with 500 KiB keys: Stats() = %+v, the heap grew by %d bytes; want 600 entries in a few KiB each", st, grown)
	}
	for i := range 600 {
		e, err := s.Get(ctx, fmt.Sprint(i, long))
		if err != nil || string(e.Body) != fmt.Sprint(i) {
			t.Fatalf("Get of key %d: %v, %v", i, e, err)
		}
		if _, err := s.Get(ctx, fmt.Sprint(i, long, "x")); !errors.Is(err, larder.ErrNotFound) {
			t.Fatalf("Get of a key never stored: err = %v, want ErrNotFound", err)
		}
	}
}

func TestNonPositiveTTL(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.Set(ctx, "k", entry([]byte("old")), time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "k", entry([]byte("new")), ttl); err != nil {
			t.Fatalf("Set with ttl %v: %v", ttl, err)
		}
		if e, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
			t.Fatalf("Get after Set with ttl %v = %v, %v; want ErrNotFound", ttl, e, err)
		}
	}
}

func TestNilEntry(t *testing.T) {
	s := newStore(t, memory.Options{})
	if err := s.Set(context.Background(), "k", nil, time.Hour); err == nil {
		t.Fatal("Set of a nil entry: no error")
	}
}

func TestExpiryFakeClock(t *testing.T) {
	clock := newFakeClock()
	s := newStore(t, memory.Options{Clock: clock.Now})
	ctx := context.Background()
	for i := range 100 {
		ttl := time.Duration(i+1) * time.Second
		if err := s.Set(ctx, fmt.Sprint("k", i), entry([]byte("v")), ttl); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Entries != 100 {
		t.Fatalf("Stats().Entries = %d, want 100", st.Entries)
	}
	clock.Advance(50 * time.Second) // k0..k49 expired, exactly at their ttl for k49
	for i := range 100 {
		_, err := s.Get(ctx, fmt.Sprint("k", i))
		if expired := i < 50; expired != errors.Is(err, larder.ErrNotFound) {
			t.Fatalf("k%d after 50 s: err = %v, expired = %v", i, err, expired)
		}
	}
	// otter reads the same clock: its maintenance drops the expired entries.
	if st := s.Stats(); st.Entries != 50 {
		t.Fatalf("Stats().Entries = %d after 50 s, want 50", st.Entries)
	}
	clock.Advance(time.Hour)
	if st := s.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("Stats() = %+v after an hour, want empty", st)
	}
}

func TestSamePointer(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	e := entry([]byte("x"))
	if err := s.Set(ctx, "k", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got != e {
		t.Fatal("Get returned a different pointer from the one stored")
	}
}

func TestClose(t *testing.T) {
	s, err := memory.New(memory.Options{Clock: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	ctx := context.Background()
	if err := s.Set(ctx, "k", entry([]byte("x")), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatalf("Get after Close: %v", err)
	}
}

func TestGetHitDoesNotAllocate(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	if err := s.Set(ctx, "k", entry(make([]byte, 1024)), time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := s.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Get hit: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = s.Get(ctx, "missing") }); n != 0 {
		t.Fatalf("Get miss: %v allocs, want 0", n)
	}
}

func TestConcurrentBoundedChurn(t *testing.T) {
	const maxBytes = 256 << 10
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 5000 {
				k := fmt.Sprint("k", r.IntN(2000))
				switch r.IntN(4) {
				case 0:
					_ = s.Set(ctx, k, entry(make([]byte, r.IntN(4096))), time.Hour)
				case 1:
					_ = s.Delete(ctx, k)
				default:
					if e, err := s.Get(ctx, k); err == nil && e == nil {
						t.Error("nil entry without error")
					}
				}
			}
		})
	}
	wg.Wait()
	if st := s.Stats(); st.Bytes > maxBytes {
		t.Fatalf("Stats().Bytes = %d > %d", st.Bytes, maxBytes)
	}
}

const benchKeys = 10_000

func benchStore(b *testing.B) (*memory.Store, []string) {
	s := newStore(b, memory.Options{MaxBytes: 1 << 30})
	keys := make([]string, benchKeys)
	body := bytes.Repeat([]byte("x"), 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://example.com/item/%d", i)
		if err := s.Set(context.Background(), keys[i], entry(body), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	s.Stats() // settle otter's maintenance
	return s, keys
}

func BenchmarkGetParallel(b *testing.B) {
	s, keys := benchStore(b)
	ctx := context.Background()
	var seed sync.Mutex
	next := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		seed.Lock()
		next++
		r := rand.New(rand.NewPCG(next, 1))
		seed.Unlock()
		i := r.IntN(benchKeys)
		for pb.Next() {
			if _, err := s.Get(ctx, keys[i]); err != nil {
				b.Error(err)
				return
			}
			i++
			if i == benchKeys {
				i = 0
			}
		}
	})
}

func BenchmarkSet(b *testing.B) {
	s, keys := benchStore(b)
	ctx := context.Background()
	e := entry(bytes.Repeat([]byte("y"), 1024))
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Set(ctx, keys[i], e, time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
		if i == benchKeys {
			i = 0
		}
	}
}
