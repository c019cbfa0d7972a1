package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// genEntry returns an entry of generation gen.
func genEntry(body, gen string) *larder.Entry {
	e := newEntry(200, body)
	e.Nonce = gen
	return e
}

func mustSetIf(t testing.TB, s larder.ConditionalStore, key string, e *larder.Entry, ttl time.Duration, gen string, want bool) {
	t.Helper()
	got, err := s.SetIf(context.Background(), key, e, ttl, gen)
	if err != nil {
		t.Fatalf("SetIf(%q, gen %q): %v", key, gen, err)
	}
	if got != want {
		t.Fatalf("SetIf(%q, gen %q) = %v, want %v", key, gen, got, want)
	}
}

func testSetIfAbsent(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	e := genEntry("a", "gen-a")
	want := cloneEntry(e)
	mustSetIf(t, cs, "k", e, longTTL, "", true)
	mustEqual(t, "entry passed to SetIf (SetIf must not modify it)", e, want)
	mustEqual(t, "Get after SetIf on an absent key", mustGet(t, s, "k"), want)
	// The key is no longer absent.
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "", false)
	mustEqual(t, "Get after a second SetIf with gen \"\"", mustGet(t, s, "k"), want)
	// A generation on an absent key does not match.
	mustSetIf(t, cs, "absent", genEntry("c", "gen-c"), longTTL, "gen-a", false)
	mustMiss(t, s, "absent")
}

func testSetIfGeneration(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	mustSet(t, s, "k", genEntry("a", "gen-a"), longTTL)
	mustSet(t, s, "other", genEntry("o", "gen-a"), longTTL)
	for _, gen := range []string{"gen-b", "", "gen-", "gen-a ", "GEN-A"} {
		mustSetIf(t, cs, "k", genEntry("wrong", "gen-x"), longTTL, gen, false)
		mustEqual(t, fmt.Sprintf("Get after SetIf with the wrong gen %q", gen), mustGet(t, s, "k"), genEntry("a", "gen-a"))
	}
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", true)
	mustEqual(t, "Get after SetIf with the right gen", mustGet(t, s, "k"), genEntry("b", "gen-b"))
	// The old generation no longer matches; the new one does.
	mustSetIf(t, cs, "k", genEntry("stale", "gen-s"), longTTL, "gen-a", false)
	mustSetIf(t, cs, "k", genEntry("c", "gen-c"), longTTL, "gen-b", true)
	mustEqual(t, "Get after a second SetIf", mustGet(t, s, "k"), genEntry("c", "gen-c"))
	// A Vary index and a tombstone are entries like any other.
	tomb := &larder.Entry{Kind: larder.KindTombstone, Nonce: "gen-t", Expires: epoch}
	mustSetIf(t, cs, "k", tomb, longTTL, "gen-c", true)
	mustSetIf(t, cs, "k", genEntry("fill", "gen-f"), longTTL, "gen-c", false)
	mustEqual(t, "tombstone after a stale fill", mustGet(t, s, "k"), tomb)
	mustEqual(t, "untouched key of the same generation", mustGet(t, s, "other"), genEntry("o", "gen-a"))
}

func testSetIfNoNonce(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	mustSet(t, s, "k", genEntry("a", ""), longTTL)
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", false)
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "", true)
	mustEqual(t, "Get after SetIf over an entry without a Nonce", mustGet(t, s, "k"), genEntry("b", "gen-b"))
}

func testSetIfAfterDelete(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	mustSet(t, s, "k", genEntry("a", "gen-a"), longTTL)
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", false)
	mustMiss(t, s, "k")
	mustSetIf(t, cs, "k", genEntry("c", "gen-c"), longTTL, "", true)
	mustEqual(t, "Get after SetIf on a deleted key", mustGet(t, s, "k"), genEntry("c", "gen-c"))
}

func testSetIfExpired(t *testing.T, s larder.Store, c *config) {
	cs := s.(larder.ConditionalStore)
	mustSetIf(t, cs, "k", genEntry("a", "gen-a"), shortTTL(c), "", true)
	mustSetIf(t, cs, "long", genEntry("l", "gen-l"), longTTL, "", true)
	expire(t, s, c, "k")
	// An expired entry counts as absent.
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", false)
	mustMiss(t, s, "k")
	mustSetIf(t, cs, "k", genEntry("c", "gen-c"), longTTL, "", true)
	mustEqual(t, "Get after SetIf over an expired entry", mustGet(t, s, "k"), genEntry("c", "gen-c"))
	mustEqual(t, "entry stored by SetIf with a long ttl", mustGet(t, s, "long"), genEntry("l", "gen-l"))
}

func testSetIfConcurrent(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	const (
		workers = 8
		rounds  = 50
	)
	ctx := context.Background()
	gen := "" // the key is absent at first
	for r := range rounds {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			won   = make([]bool, workers)
			errs  = make([]error, workers)
		)
		for w := range workers {
			wg.Go(func() {
				<-start
				won[w], errs[w] = cs.SetIf(ctx, "k", genEntry(fmt.Sprintf("w%d-r%d", w, r), fmt.Sprintf("gen-w%d-r%d", w, r)), longTTL, gen)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("round %d: SetIf of worker %d: %v", r, w, errs[w])
			}
			if won[w] {
				if winner >= 0 {
					t.Fatalf("round %d: SetIf with gen %q stored for workers %d and %d", r, gen, winner, w)
				}
				winner = w
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no SetIf with gen %q stored", r, gen)
		}
		gen = fmt.Sprintf("gen-w%d-r%d", winner, r)
		mustEqual(t, fmt.Sprintf("round %d: Get of the winner's entry", r), mustGet(t, s, "k"),
			genEntry(fmt.Sprintf("w%d-r%d", winner, r), gen))
	}
}

// ---- MultiGetter ----
