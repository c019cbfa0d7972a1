package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// ---- FillLocker ----

// lockFill takes the lock named key for ttl, failing the test on an error.
func lockFill(t *testing.T, s larder.Store, key string, ttl time.Duration) (func(), bool) {
	t.Helper()
	release, held, err := s.(larder.FillLocker).LockFill(context.Background(), key, ttl)
	if err != nil {
		t.Fatalf("LockFill(%q): %v", key, err)
	}
	if held != (release != nil) {
		t.Fatalf("LockFill(%q): held %v with a release %v", key, held, release != nil)
	}
	return release, held
}

// locks reports whether the store locks across callers; one that cannot
// (larder.FillLocker allows it of a wrapper) reports every lock held, which
// the test checks before skipping the rest.
func locks(t *testing.T, s larder.Store) bool {
	t.Helper()
	r1, _ := lockFill(t, s, "probe", longTTL)
	r2, held := lockFill(t, s, "probe", longTTL)
	if r1 == nil {
		t.Fatal("the first LockFill of a free lock does not hold it")
	}
	r1()
	if !held {
		return true
	}
	r2()
	for range 3 {
		if r, held := lockFill(t, s, "probe", longTTL); !held {
			t.Fatal("a store that reported a held lock twice reports it free")
		} else {
			r()
		}
	}
	t.Skip("the store cannot lock across callers: every LockFill holds (allowed of a wrapper)")
	return false
}

// testLockExclusive: a held lock is not taken again until released; locks
// of other keys are independent.
func testLockExclusive(t *testing.T, s larder.Store, _ *config) {
	if !locks(t, s) {
		return
	}
	release, held := lockFill(t, s, "k", longTTL)
	if !held {
		t.Fatal("a free lock was not taken")
	}
	if _, held := lockFill(t, s, "k", longTTL); held {
		t.Fatal("a held lock was taken again")
	}
	for _, k := range append([]string{"k\x00v", "other"}, oddKeys()...) {
		r, held := lockFill(t, s, k, longTTL)
		if !held {
			t.Fatalf("the lock %q was held by the lock of another key", k)
		}
		r()
	}
	release()
	r, held := lockFill(t, s, "k", longTTL)
	if !held {
		t.Fatal("a released lock was not free")
	}
	r()
}

// testLockApart: locks do not touch the entries of the same keys, nor the
// entries the locks.
func testLockApart(t *testing.T, s larder.Store, _ *config) {
	if !locks(t, s) {
		return
	}
	e := newEntry(200, "entry")
	mustSet(t, s, "k", e, longTTL)
	release, held := lockFill(t, s, "k", longTTL)
	if !held {
		t.Fatal("the lock of a key holding an entry was not free")
	}
	mustEqual(t, "the entry under a held lock", mustGet(t, s, "k"), e)
	r, held := lockFill(t, s, "absent", longTTL)
	if !held {
		t.Fatal("a free lock was not taken")
	}
	mustMiss(t, s, "absent")
	r()
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if _, held := lockFill(t, s, "k", longTTL); held {
		t.Fatal("Delete of an entry released the lock of its key")
	}
	mustSet(t, s, "k", e, longTTL)
	release()
	mustEqual(t, "the entry after its key's lock was released", mustGet(t, s, "k"), e)
}

// testLockExpiry: a lock no one releases is free once its ttl has passed;
// the release of the lock's first holder then leaves the new holder's lock
// alone.
func testLockExpiry(t *testing.T, s larder.Store, c *config) {
	if !locks(t, s) {
		return
	}
	ttl := shortTTL(c)
	old, held := lockFill(t, s, "k", ttl)
	if !held {
		t.Fatal("a free lock was not taken")
	}
	var release func()
	if c.advance != nil {
		c.advance(ttl + time.Millisecond)
		if release, held = lockFill(t, s, "k", longTTL); !held {
			t.Fatalf("a lock was still held after its ttl (%v)", ttl)
		}
	} else {
		deadline := time.Now().Add(ttl + 1500*time.Millisecond)
		for {
			if release, held = lockFill(t, s, "k", longTTL); held {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a lock with ttl %v still held after %v", ttl, ttl+1500*time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	old()
	if _, held := lockFill(t, s, "k", longTTL); held {
		t.Fatal("the release of an expired lock's holder released the lock its next holder took")
	}
	release()
}

// testLockConcurrent: of concurrent LockFill calls of one key, one holds
// the lock.
func testLockConcurrent(t *testing.T, s larder.Store, _ *config) {
	if !locks(t, s) {
		return
	}
	const n = 16
	var wg sync.WaitGroup
	var holders atomic.Int32
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, held, err := s.(larder.FillLocker).LockFill(context.Background(), "k", longTTL)
			if err != nil {
				errs <- err
			}
			if held {
				holders.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if h := holders.Load(); h != 1 {
		t.Fatalf("%d of %d concurrent LockFill calls held the lock, want 1", h, n)
	}
}

// testLockCancelled: LockFill with a cancelled context fails, holding nothing.
func testLockCancelled(t *testing.T, s larder.Store, _ *config) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release, held, err := s.(larder.FillLocker).LockFill(ctx, "k", longTTL)
	switch {
	case held && err != nil:
		t.Fatalf("LockFill with a cancelled context held the lock and failed: %v", err)
	case held:
		release() // a store that cannot lock holds every lock, calling nothing
	case err == nil:
		t.Fatal("LockFill with a cancelled context: neither held nor an error")
	}
}
