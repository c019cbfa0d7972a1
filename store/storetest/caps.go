package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// capTest is a conformance test of an optional capability.
type capTest struct {
	name string
	fn   func(t *testing.T, s larder.Store, c *config)
}

// capGroup is the tests of one optional capability, which run only against a
// store that has it.
type capGroup struct {
	name  string // the interface's name in package larder
	has   func(s larder.Store) bool
	tests []capTest
}

func capGroups() []capGroup {
	return []capGroup{
		{"BodyStreamer", has[larder.BodyStreamer], []capTest{
			{"RoundTrip", testStreamRoundTrip},
			{"SetThenGetStream", testStreamFromSet},
			{"Large", testStreamLarge},
			{"EmptyBody", testStreamEmptyBody},
			{"FailedBody", testStreamFailedBody},
			{"BodyIndependent", testStreamBodyIndependent},
			{"CloseUnread", testStreamCloseUnread},
			{"Expiry", testStreamExpiry},
			{"Concurrent", testStreamConcurrent},
			{"CancelledContext", testStreamCancelledContext},
		}},
		{"ConditionalStore", has[larder.ConditionalStore], []capTest{
			{"Absent", testSetIfAbsent},
			{"Generation", testSetIfGeneration},
			{"NoNonce", testSetIfNoNonce},
			{"AfterDelete", testSetIfAfterDelete},
			{"Expired", testSetIfExpired},
			{"Concurrent", testSetIfConcurrent},
		}},
		{"MultiGetter", has[larder.MultiGetter], []capTest{
			{"Mixed", testGetMultiMixed},
			{"Empty", testGetMultiEmpty},
			{"OddKeys", testGetMultiOddKeys},
			{"Expired", testGetMultiExpired},
		}},
		{"LocalGetter", has[larder.LocalGetter], []capTest{
			{"FollowsWrites", testLocalFollowsWrites},
			{"Expired", testLocalExpired},
		}},
		{"TagStore", has[larder.TagStore], []capTest{
			{"Index", testTagsIndex},
			{"PurgeRecord", testTagsPurgeRecord},
			{"Expiry", testTagsExpiry},
			{"OddTags", testTagsOdd},
			{"Concurrent", testTagsConcurrent},
		}},
		{"MultiSetter", has[larder.MultiSetter], []capTest{
			{"SetMulti", testSetMulti},
			{"Expiry", testSetMultiExpiry},
		}},
		{"FillLocker", has[larder.FillLocker], []capTest{
			{"Exclusive", testLockExclusive},
			{"Apart", testLockApart},
			{"Expiry", testLockExpiry},
			{"Concurrent", testLockConcurrent},
			{"CancelledContext", testLockCancelled},
		}},
		{"MetaRewriter", has[larder.MetaRewriter], []capTest{
			{"KeepsBody", testRewriteKeepsBody},
			{"Replaced", testRewriteReplaced},
			{"Kind", testRewriteKind},
			{"NotKept", testRewriteNotKept},
			{"Many", testRewriteMany},
			{"Expiry", testRewriteExpiry},
		}},
		{"NonBlockingStore", has[larder.NonBlockingStore], []capTest{
			{"CancelledContext", testNonBlocking},
		}},
		{"DeadlineStore", has[larder.DeadlineStore], []capTest{
			{"ExpiredDeadline", testDeadline},
		}},
		{"EntryKeeper", has[larder.EntryKeeper], []capTest{
			{"SameEntry", testKeepsEntries},
			{"CachedResponses", testKeptResponses},
		}},
	}
}

func has[T any](s larder.Store) bool {
	_, ok := s.(T)
	return ok
}

// runCapGroups runs the tests of each capability group. The first test of a
// group finds whether the store has the capability; if not, the group is
// skipped.
func runCapGroups(t *testing.T, newStore func(t *testing.T) larder.Store, c *config) {
	for _, g := range capGroups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				missing := false
				t.Run(tt.name, func(t *testing.T) {
					s := newStore(t)
					if s == nil {
						t.Fatal("newStore returned nil")
					}
					if !g.has(s) {
						missing = true
						t.Skipf("the store does not implement larder.%s", g.name)
					}
					tt.fn(t, s, c)
				})
				if missing {
					t.Skipf("the store does not implement larder.%s", g.name)
				}
			}
		})
	}
}

// expire waits until the entries stored with shortTTL (see below) have
// expired: with WithAdvance it moves the clock past shortTTL; without it, it
// polls Get of key until it misses, for at most 2.5 s.
func expire(t *testing.T, s larder.Store, c *config, key string) {
	t.Helper()
	if c.advance != nil {
		c.advance(shortTTL(c) + time.Millisecond)
		mustMiss(t, s, key)
		return
	}
	deadline := time.Now().Add(2500 * time.Millisecond)
	for {
		_, err := s.Get(context.Background(), key)
		if errors.Is(err, larder.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("Get of an expiring entry: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry with ttl %v still returned after 2.5 s", shortTTL(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shortTTL is the ttl of entries that a test lets expire: a minute of fake
// time with WithAdvance, else a second of real time.
func shortTTL(c *config) time.Duration {
	if c.advance != nil {
		return time.Minute
	}
	return time.Second
}

// ---- BodyStreamer ----
