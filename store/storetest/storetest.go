package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// Option configures Run.
type Option func(*config)

type config struct {
	advance func(time.Duration)
}

// WithAdvance gives Run a hook that moves the clock of the stores that newStore
// returns forward by d. With it, the expiry tests take no real time; without it
// they wait for a 1 s ttl to run out in real time (see the package doc).
//
// The hook is called from the subtest's goroutine only, after newStore has
// returned the subtest's store; it must affect that store.
func WithAdvance(advance func(d time.Duration)) Option {
	return func(c *config) { c.advance = advance }
}

// Run runs the conformance suite against stores made by newStore, each subtest
// with a fresh store. See the package doc for what is checked. The tests of an
// optional capability (larder.BodyStreamer, larder.ConditionalStore,
// larder.MultiGetter, larder.LocalGetter, larder.TagStore,
// larder.MultiSetter, larder.MetaRewriter, larder.FillLocker,
// larder.DeadlineStore, larder.NonBlockingStore, larder.EntryKeeper) run
// only if the stores have it; otherwise their group is skipped.
func Run(t *testing.T, newStore func(t *testing.T) larder.Store, opts ...Option) {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s larder.Store, c *config)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"Expiry", testExpiry},
		{"OddKeys", testOddKeys},
		{"LargeValue", testLargeValue},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
		{"ReturnedEntryIndependent", testReturnedEntryIndependent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s, &c)
		})
	}
	runCapGroups(t, newStore, &c)
}

const longTTL = time.Hour

var epoch = time.Date(2025, 11, 28, 4, 42, 0, 123456789, time.UTC)

func testGetMissing(t *testing.T, s larder.Store, _ *config) {
	mustMiss(t, s, "missing")
	mustSet(t, s, "present", newEntry(200, "x"), longTTL)
	mustMiss(t, s, "missing")
	mustMiss(t, s, "presen")
	mustMiss(t, s, "present ")
}

func testSetGet(t *testing.T, s larder.Store, _ *config) {
	entries := sampleEntries()
	want := make(map[string]*larder.Entry, len(entries))
	for name, e := range entries {
		want[name] = cloneEntry(e)
		mustSet(t, s, "k/"+name, e, longTTL)
	}
	for name, e := range entries {
		mustEqual(t, "entry passed to Set (Set must not modify it)", e, want[name])
		mustEqual(t, "Get of "+name, mustGet(t, s, "k/"+name), want[name])
	}
	// Reading twice gives the same again.
	for name := range entries {
		mustEqual(t, "second Get of "+name, mustGet(t, s, "k/"+name), want[name])
	}
}

func testOverwrite(t *testing.T, s larder.Store, _ *config) {
	mustSet(t, s, "k", newEntry(200, "first"), longTTL)
	mustSet(t, s, "other", newEntry(200, "other"), longTTL)
	mustSet(t, s, "k", newEntry(404, "second"), longTTL)
	mustEqual(t, "Get after overwrite", mustGet(t, s, "k"), newEntry(404, "second"))
	// A smaller entry over a larger one, and a Vary index over a response.
	mustSet(t, s, "k", sampleEntries()["vary index"], longTTL)
	mustEqual(t, "Get after second overwrite", mustGet(t, s, "k"), sampleEntries()["vary index"])
	mustEqual(t, "untouched key", mustGet(t, s, "other"), newEntry(200, "other"))
}

func testDelete(t *testing.T, s larder.Store, _ *config) {
	ctx := context.Background()
	mustSet(t, s, "k", newEntry(200, "a"), longTTL)
	mustSet(t, s, "keep", newEntry(200, "b"), longTTL)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustMiss(t, s, "k")
	mustEqual(t, "other key after Delete", mustGet(t, s, "keep"), newEntry(200, "b"))
	// Deleting again is not an error, and the key can be set again.
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	mustSet(t, s, "k", newEntry(200, "c"), longTTL)
	mustEqual(t, "Get after Delete and Set", mustGet(t, s, "k"), newEntry(200, "c"))
}

func testDeleteMissing(t *testing.T, s larder.Store, _ *config) {
	if err := s.Delete(context.Background(), "never-set"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	mustMiss(t, s, "never-set")
}

func testExpiry(t *testing.T, s larder.Store, c *config) {
	if c.advance == nil {
		testExpiryRealTime(t, s)
		return
	}
	const ttl = time.Minute
	mustSet(t, s, "short", newEntry(200, "short"), ttl)
	mustSet(t, s, "long", newEntry(200, "long"), longTTL)
	mustSet(t, s, "renewed", newEntry(200, "old"), ttl)
	mustGet(t, s, "short")

	c.advance(ttl / 2)
	// Overwriting starts the ttl again, with the new entry.
	mustSet(t, s, "renewed", newEntry(200, "new"), ttl)
	c.advance(ttl/2 - time.Millisecond)
	mustEqual(t, "entry 1 ms before its ttl", mustGet(t, s, "short"), newEntry(200, "short"))

	c.advance(2 * time.Millisecond)
	mustMiss(t, s, "short")
	mustEqual(t, "overwritten entry after the first ttl", mustGet(t, s, "renewed"), newEntry(200, "new"))
	mustEqual(t, "long-lived entry", mustGet(t, s, "long"), newEntry(200, "long"))

	c.advance(ttl / 2)
	mustMiss(t, s, "renewed")
	mustMiss(t, s, "short")

	// An expired key can be set again.
	mustSet(t, s, "short", newEntry(201, "again"), ttl)
	mustEqual(t, "entry set after expiry", mustGet(t, s, "short"), newEntry(201, "again"))
	c.advance(longTTL)
	mustMiss(t, s, "long")
	mustMiss(t, s, "short")
}

func testExpiryRealTime(t *testing.T, s larder.Store) {
	const (
		ttl      = time.Second
		deadline = 2500 * time.Millisecond
		poll     = 50 * time.Millisecond
	)
	ctx := context.Background()
	start := time.Now()
	mustSet(t, s, "short", newEntry(200, "short"), ttl)
	mustSet(t, s, "long", newEntry(200, "long"), longTTL)
	for {
		e, err := s.Get(ctx, "short")
		if errors.Is(err, larder.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Get of an expiring entry: %v", err)
		}
		mustEqual(t, "entry before expiry", e, newEntry(200, "short"))
		if time.Since(start) > deadline {
			t.Fatalf("entry with ttl %v still returned after %v", ttl, time.Since(start))
		}
		time.Sleep(poll)
	}
	mustEqual(t, "long-lived entry", mustGet(t, s, "long"), newEntry(200, "long"))
}

func oddKeys() []string {
	long := strings.Repeat("k", 300)
	longUnicode := strings.Repeat("ключ", 40) // 320 bytes
	return []string{
		"with space",
		" leading and trailing ",
		"tab\there\nnewline\r",
		"\x00nul\x00",
		"\x7f\x01\x1bcontrol",
		"invalid utf-8 \xff\xfe\xc0",
		"ünïcödé/日本語/🍕",
		"GET https://example.com/a?b=c&d=e#f",
		"colons:and|pipes;and%25percent",
		"*",
		long,
		long[:299] + "j", // differs only in the last byte
		"j" + long[1:],   // differs only in the first byte
		long + long,
		longUnicode,
		strings.Repeat("\xff", 300),
	}
}

func testOddKeys(t *testing.T, s larder.Store, _ *config) {
	keys := oddKeys()
	for i, k := range keys {
		mustSet(t, s, k, newEntry(200, "v"+strconv.Itoa(i)), longTTL)
	}
	for i, k := range keys {
		mustEqual(t, fmt.Sprintf("Get of odd key %d %q", i, k), mustGet(t, s, k), newEntry(200, "v"+strconv.Itoa(i)))
	}
	for i, k := range keys {
		if i%2 == 0 {
			if err := s.Delete(context.Background(), k); err != nil {
				t.Fatalf("Delete(%q): %v", k, err)
			}
		}
	}
	for i, k := range keys {
		if i%2 == 0 {
			mustMiss(t, s, k)
		} else {
			mustEqual(t, fmt.Sprintf("odd key %d %q after deleting others", i, k), mustGet(t, s, k), newEntry(200, "v"+strconv.Itoa(i)))
		}
	}
}

func testLargeValue(t *testing.T, s larder.Store, _ *config) {
	body := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(4, 2))
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	e := newEntry(200, "large")
	e.Body = body
	want := cloneEntry(e)
	mustSet(t, s, "large", e, longTTL)
	mustEqual(t, "4 MiB entry", mustGet(t, s, "large"), want)
}

func testConcurrent(t *testing.T, s larder.Store, _ *config) {
	const (
		workers = 8
		rounds  = 200
		shared  = 4
	)
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			// On shared keys an entry's body must match its header: a torn or
			// mixed entry would not.
			check := func(key string, e *larder.Entry) error {
				if e == nil {
					return fmt.Errorf("Get(%q) returned nil and no error", key)
				}
				if got := e.Header.Get("X-Body"); got != string(e.Body) || !strings.HasPrefix(got, "w") {
					return fmt.Errorf("Get(%q): header %q does not match body %q", key, got, e.Body)
				}
				return nil
			}
			for i := range rounds {
				own := fmt.Sprintf("own/%d/%d", w, i%10)
				body := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Set(ctx, own, newEntry(200, body), longTTL); err != nil {
					errc <- fmt.Errorf("Set(%q): %w", own, err)
					return
				}
				e, err := s.Get(ctx, own)
				if err != nil {
					errc <- fmt.Errorf("Get(%q) of own key: %w", own, err)
					return
				}
				if string(e.Body) != body {
					errc <- fmt.Errorf("Get(%q) = body %q, want %q (own key, not written by others)", own, e.Body, body)
					return
				}

				sk := fmt.Sprintf("shared/%d", i%shared)
				switch i % 3 {
				case 0:
					err = s.Set(ctx, sk, newEntry(200, body), longTTL)
				case 1:
					e, err = s.Get(ctx, sk)
					if errors.Is(err, larder.ErrNotFound) {
						err = nil
					} else if err == nil {
						err = check(sk, e)
					}
				case 2:
					if i%9 == 2 {
						err = s.Delete(ctx, sk)
					} else {
						e, err = s.Get(ctx, sk)
						if errors.Is(err, larder.ErrNotFound) {
							err = nil
						} else if err == nil {
							err = check(sk, e)
						}
					}
				}
				if err != nil {
					errc <- fmt.Errorf("shared key %q: %w", sk, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// Every worker's last write to each own key is what remains.
	for w := range workers {
		for j := range 10 {
			last := rounds - 10 + j
			mustEqual(t, "own key after the run", mustGet(t, s, fmt.Sprintf("own/%d/%d", w, j)),
				newEntry(200, fmt.Sprintf("w%d-%d", w, last)))
		}
	}
}

func testCancelledContext(t *testing.T, s larder.Store, _ *config) {
	const limit = 5 * time.Second
	mustSet(t, s, "k", newEntry(200, "k"), longTTL)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	for _, cc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline exceeded", expired, context.DeadlineExceeded},
	} {
		calls := []struct {
			name string
			call func(ctx context.Context) error
			ok   func(err error) bool // what counts as completing normally
		}{
			{"Get present", func(ctx context.Context) error {
				e, err := s.Get(ctx, "k")
				if err == nil && e == nil {
					return errors.New("nil entry and no error")
				}
				return err
			}, func(err error) bool { return err == nil }},
			{"Get missing", func(ctx context.Context) error {
				_, err := s.Get(ctx, "missing")
				return err
			}, func(err error) bool { return errors.Is(err, larder.ErrNotFound) }},
			{"Set", func(ctx context.Context) error {
				return s.Set(ctx, "set-cancelled", newEntry(200, "x"), longTTL)
			}, func(err error) bool { return err == nil }},
			{"Delete", func(ctx context.Context) error {
				return s.Delete(ctx, "k2")
			}, func(err error) bool { return err == nil }},
		}
		for _, call := range calls {
			done := make(chan error, 1)
			go func() { done <- call.call(cc.ctx) }()
			select {
			case err := <-done:
				if !call.ok(err) && !errors.Is(err, cc.want) {
					t.Errorf("%s with a %s context: err = %v; want it to complete or to wrap %v", call.name, cc.name, err, cc.want)
				}
			case <-time.After(limit):
				t.Fatalf("%s with a %s context did not return within %v", call.name, cc.name, limit)
			}
		}
	}

	// The store still works with a live context.
	mustEqual(t, "Get after cancelled calls", mustGet(t, s, "k"), newEntry(200, "k"))
	mustSet(t, s, "after", newEntry(200, "after"), longTTL)
	mustEqual(t, "Set after cancelled calls", mustGet(t, s, "after"), newEntry(200, "after"))
}

func testReturnedEntryIndependent(t *testing.T, s larder.Store, _ *config) {
	first := sampleEntries()["response"]
	firstWant := cloneEntry(first)
	mustSet(t, s, "k", first, longTTL)
	got1 := mustGet(t, s, "k")

	second := newEntry(500, "second")
	mustSet(t, s, "k", second, longTTL)
	got2 := mustGet(t, s, "k")
	mustEqual(t, "Get after overwrite", got2, newEntry(500, "second"))
	mustEqual(t, "entry returned before the overwrite", got1, firstWant)
	mustEqual(t, "entry passed to the first Set", first, firstWant)

	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "entry returned before Delete", got2, newEntry(500, "second"))
}
