package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// ---- MetaRewriter ----

// rewriteCall is what a test's rewrite function saw, per key.
type rewriteCall struct {
	h    *larder.EntryHead // a copy; nil for nothing
	seen bool
}

// mustRewrite calls RewriteMeta on keys with fn, records what fn was given
// and checks the returned keys.
func mustRewrite(t testing.TB, s larder.Store, keys []string, fn func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool), wantRetry ...string) map[string]*rewriteCall {
	t.Helper()
	calls := make(map[string]*rewriteCall)
	retry, err := s.(larder.MetaRewriter).RewriteMeta(context.Background(), keys, func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		if calls[key] != nil {
			t.Errorf("rewrite called twice for %q", key)
		}
		c := &rewriteCall{seen: true}
		if h != nil {
			v := *h
			c.h = &v
		}
		calls[key] = c
		return fn(key, h)
	})
	if err != nil {
		t.Fatalf("RewriteMeta: %v", err)
	}
	slices.Sort(retry)
	slices.Sort(wantRetry)
	if !slices.Equal(retry, wantRetry) {
		t.Fatalf("RewriteMeta returned %q to read again, want %q", retry, wantRetry)
	}
	for _, k := range keys {
		if calls[k] == nil {
			t.Fatalf("rewrite not called for %q", k)
		}
	}
	return calls
}

// staled returns h with a new Nonce and lifetime.
func staled(h *larder.EntryHead, gen string) larder.EntryHead {
	v := *h
	v.Nonce = gen
	v.Lifetime = 0
	return v
}

// testRewriteKeepsBody: the head the rewrite returns is stored, with the
// header fields, Vary names, tags, body key and body of the entry read; a
// key that held nothing gets an entry with nothing but the returned head;
// a key the rewrite declines is left as it is.
func testRewriteKeepsBody(t *testing.T, s larder.Store, _ *config) {
	big := genEntry(strings.Repeat("b", 100_000), "g-big")
	big.Header.Set("X-Long", strings.Repeat("h", 2000)) // a head longer than most
	nilBody := &larder.Entry{Kind: larder.KindVary, VaryNames: []string{"Accept"}, Nonce: "g-vary", ResponseTime: epoch}
	full := sampleEntries()["response"]
	full.Nonce = "g-full"
	apart := sampleEntries()["body stored apart"]
	entries := map[string]*larder.Entry{
		"a":     genEntry("body a", "g-a"),
		"empty": genEntry("", "g-empty"),
		"big":   big,
		"vary":  nilBody,
		"keep":  genEntry("keep me", "g-keep"),
		"full":  full,  // every field
		"apart": apart, // a body key
	}
	for k, e := range entries {
		mustSet(t, s, k, e, longTTL)
	}
	tomb := larder.EntryHead{Kind: larder.KindTombstone, Nonce: "g-tomb", ResponseTime: epoch, Expires: epoch.Add(time.Hour)}
	calls := mustRewrite(t, s, []string{"a", "empty", "big", "vary", "keep", "full", "apart", "absent"}, func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		switch {
		case key == "keep":
			return larder.EntryHead{}, 0, false
		case h == nil:
			return tomb, longTTL, true
		}
		nh := staled(h, "new-"+key)
		nh.ResponseTime = h.ResponseTime.Add(time.Second)
		return nh, longTTL, true
	})
	for k, e := range entries {
		if c := calls[k]; c.h == nil || *c.h != e.Head() {
			t.Errorf("rewrite of %q given %+v, want %+v", k, c.h, e.Head())
		}
		want := e
		if k != "keep" {
			h := e.Head()
			nh := staled(&h, "new-"+k)
			nh.ResponseTime = h.ResponseTime.Add(time.Second)
			want = e.WithHead(nh)
		}
		got := mustGet(t, s, k)
		if diff := diffEntries(got, want); diff != "" {
			t.Errorf("%q after RewriteMeta: %s", k, diff)
		}
		if (got.Body == nil) != (want.Body == nil) && !(len(want.Body) == 0 && len(got.Body) == 0 && want.Body != nil) {
			t.Errorf("%q after RewriteMeta: a body nil %v, want nil %v", k, got.Body == nil, want.Body == nil)
		}
	}
	if calls["absent"].h != nil {
		t.Errorf("rewrite of a key never set given %+v", calls["absent"].h)
	}
	mustEqual(t, "a key that held nothing, after RewriteMeta", mustGet(t, s, "absent"), tomb.Entry())
}

// testRewriteKind: a head of another Kind than the entry read is not
// written (the store cannot tell what the entry's other fields would
// mean); its key is returned and the entry left as it is.
func testRewriteKind(t *testing.T, s larder.Store, _ *config) {
	e := genEntry("k", "g-k")
	mustSet(t, s, "k", e, longTTL)
	mustRewrite(t, s, []string{"k"}, func(_ string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		nh := staled(h, "new")
		nh.Kind = larder.KindTombstone
		return nh, longTTL, true
	}, "k")
	mustEqual(t, "an entry after a rewrite to another Kind", mustGet(t, s, "k"), e)
}

// testRewriteReplaced: an entry replaced between the read and the write
// (here by the rewrite function itself) is left as the other write left
// it, and its key returned; as is one deleted meanwhile, or written where
// nothing was.
func testRewriteReplaced(t *testing.T, s larder.Store, _ *config) {
	ctx := context.Background()
	mustSet(t, s, "r", genEntry("old", "g-old"), longTTL)
	mustSet(t, s, "d", genEntry("gone", "g-gone"), longTTL)
	other := genEntry("other", "g-other")
	mustRewrite(t, s, []string{"r", "d", "n"}, func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		switch key {
		case "r", "n":
			if err := s.Set(ctx, key, other, longTTL); err != nil {
				t.Fatal(err)
			}
		case "d":
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if h == nil {
			return larder.EntryHead{Kind: larder.KindTombstone, Nonce: "t"}, longTTL, true
		}
		return staled(h, "new"), longTTL, true
	}, "d", "n", "r")
	mustEqual(t, "an entry replaced during RewriteMeta", mustGet(t, s, "r"), other)
	mustEqual(t, "an entry stored where nothing was during RewriteMeta", mustGet(t, s, "n"), other)
	mustMiss(t, s, "d")
}

// testRewriteNotKept: a rewrite the store would not keep (a ttl ≤ 0)
// removes the entry read, and its key is returned.
func testRewriteNotKept(t *testing.T, s larder.Store, _ *config) {
	mustSet(t, s, "k", genEntry("k", "g-k"), longTTL)
	mustRewrite(t, s, []string{"k"}, func(_ string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		return staled(h, "new"), 0, true
	}, "k")
	mustMiss(t, s, "k")
}

// testRewriteMany: hundreds of keys in one call, of every size of body,
// are each rewritten with their own body.
func testRewriteMany(t *testing.T, s larder.Store, _ *config) {
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://example.com/many/%d", i)
		mustSet(t, s, keys[i], genEntry(strings.Repeat(string(rune('a'+i%26)), i*7), fmt.Sprintf("g%d", i)), longTTL)
	}
	mustRewrite(t, s, keys, func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		return staled(h, "new-"+h.Nonce), longTTL, true
	})
	for i, k := range keys {
		got := mustGet(t, s, k)
		if got.Nonce != fmt.Sprintf("new-g%d", i) || got.Lifetime != 0 || !bytes.Equal(got.Body, bytes.Repeat([]byte{byte('a' + i%26)}, i*7)) {
			t.Fatalf("%s after RewriteMeta: Nonce %q, Lifetime %v, %d bytes of body", k, got.Nonce, got.Lifetime, len(got.Body))
		}
	}
	if retry, err := s.(larder.MetaRewriter).RewriteMeta(context.Background(), nil, nil); err != nil || len(retry) != 0 {
		t.Fatalf("RewriteMeta of no keys = %q, %v", retry, err)
	}
}

// testRewriteExpiry: the rewritten entry lives for the ttl given.
func testRewriteExpiry(t *testing.T, s larder.Store, c *config) {
	mustSet(t, s, "x", genEntry("x", "g-x"), longTTL)
	mustRewrite(t, s, []string{"x"}, func(_ string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		return staled(h, "new"), shortTTL(c), true
	})
	expire(t, s, c, "x")
}
