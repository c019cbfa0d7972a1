package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// ---- LocalGetter ----

// localEntry is newEntry with an Expires an hour from now (real time), as
// the cache sets it, so that a store that keeps entries locally until their
// Expires (a tiered store) may keep it.
func localEntry(status int, body string) *larder.Entry {
	e := newEntry(status, body)
	e.Expires = time.Now().Add(time.Hour)
	return e
}

// mustLocal checks that GetLocal of key returns want or nothing; with a nil
// want, that it returns nothing. It reports whether it returned an entry.
func mustLocal(t testing.TB, s larder.LocalGetter, what, key string, want *larder.Entry) bool {
	t.Helper()
	got, ok := s.GetLocal(key)
	switch {
	case !ok && got != nil:
		t.Fatalf("%s: GetLocal(%q) returned an entry with false", what, key)
	case !ok:
		return false
	case want == nil:
		t.Fatalf("%s: GetLocal(%q) returned an entry (status %d) that Get would not", what, key, got.Status)
	case got == nil:
		t.Fatalf("%s: GetLocal(%q) returned nil with true", what, key)
	}
	mustEqual(t, what+": GetLocal", got, want)
	return true
}

// testLocalFollowsWrites: GetLocal never returns an entry Get would not,
// after a Set, an overwrite, a Delete.
func testLocalFollowsWrites(t *testing.T, s larder.Store, _ *config) {
	lg := s.(larder.LocalGetter)
	mustLocal(t, lg, "never stored", "k", nil)
	e1, e2 := localEntry(200, "one"), localEntry(201, "two")
	mustSet(t, s, "k", e1, longTTL)
	mustLocal(t, lg, "after Set", "k", e1)
	mustEqual(t, "Get", mustGet(t, s, "k"), e1) // a store may keep it locally now
	mustLocal(t, lg, "after Get", "k", e1)
	mustSet(t, s, "k", e2, longTTL)
	mustLocal(t, lg, "after an overwrite", "k", e2)
	mustEqual(t, "Get", mustGet(t, s, "k"), e2)
	mustLocal(t, lg, "after an overwrite and Get", "k", e2)
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	mustLocal(t, lg, "after Delete", "k", nil)
	mustMiss(t, s, "k")
	mustLocal(t, lg, "after Delete and Get", "k", nil)
}

// testLocalExpired: GetLocal does not return an expired entry.
func testLocalExpired(t *testing.T, s larder.Store, c *config) {
	lg := s.(larder.LocalGetter)
	e := newEntry(200, "short")
	mustSet(t, s, "short", e, shortTTL(c))
	mustEqual(t, "Get", mustGet(t, s, "short"), e)
	mustLocal(t, lg, "before expiry", "short", e)
	expire(t, s, c, "short")
	mustLocal(t, lg, "after expiry", "short", nil)
}
