package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

func mustGetMulti(t testing.TB, s larder.MultiGetter, keys []string) []*larder.Entry {
	t.Helper()
	got, err := s.GetMulti(context.Background(), keys)
	if err != nil {
		t.Fatalf("GetMulti(%d keys): %v", len(keys), err)
	}
	if len(got) != len(keys) {
		t.Fatalf("GetMulti(%d keys) returned %d entries", len(keys), len(got))
	}
	return got
}

func testGetMultiMixed(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiGetter)
	entries := sampleEntries()
	for name, e := range entries {
		mustSet(t, s, "k/"+name, e, longTTL)
	}
	keys := []string{"k/response", "missing", "k/vary index", "k/response", "k/minimal", "k/", "missing 2", "k/not found with body"}
	want := []*larder.Entry{entries["response"], nil, entries["vary index"], entries["response"], entries["minimal"], nil, nil, entries["not found with body"]}
	got := mustGetMulti(t, ms, keys)
	for i := range keys {
		if want[i] == nil {
			if got[i] != nil {
				t.Fatalf("GetMulti: entry %d (%q) = %+v, want nil (a miss)", i, keys[i], got[i])
			}
			continue
		}
		if got[i] == nil {
			t.Fatalf("GetMulti: entry %d (%q) is nil", i, keys[i])
		}
		mustEqual(t, fmt.Sprintf("GetMulti entry %d (%q)", i, keys[i]), got[i], want[i])
	}
	// All misses.
	for i, e := range mustGetMulti(t, ms, []string{"x", "y"}) {
		if e != nil {
			t.Fatalf("GetMulti of missing keys: entry %d = %+v", i, e)
		}
	}
}

func testGetMultiEmpty(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiGetter)
	mustSet(t, s, "k", newEntry(200, "k"), longTTL)
	mustGetMulti(t, ms, nil)
	mustGetMulti(t, ms, []string{})
}

func testGetMultiOddKeys(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiGetter)
	keys := oddKeys()
	for i, k := range keys {
		if i%3 != 0 {
			mustSet(t, s, k, newEntry(200, fmt.Sprint("v", i)), longTTL)
		}
	}
	// Many keys in one call, more than a networked store may send in one batch.
	var all []string
	for range 20 {
		all = append(all, keys...)
	}
	got := mustGetMulti(t, ms, all)
	for j, e := range got {
		i := j % len(keys)
		if i%3 == 0 {
			if e != nil {
				t.Fatalf("GetMulti: odd key %d %q was never set, got %+v", i, keys[i], e)
			}
			continue
		}
		mustEqual(t, fmt.Sprintf("GetMulti of odd key %d %q", i, keys[i]), e, newEntry(200, fmt.Sprint("v", i)))
	}
}

func testGetMultiExpired(t *testing.T, s larder.Store, c *config) {
	ms := s.(larder.MultiGetter)
	mustSet(t, s, "short", newEntry(200, "short"), shortTTL(c))
	mustSet(t, s, "long", newEntry(200, "long"), longTTL)
	expire(t, s, c, "short")
	got := mustGetMulti(t, ms, []string{"short", "long"})
	if got[0] != nil {
		t.Fatalf("GetMulti returned an expired entry: %+v", got[0])
	}
	mustEqual(t, "GetMulti of a long-lived entry", got[1], newEntry(200, "long"))
}

// ---- NonBlockingStore ----

// testNonBlocking checks that NonBlocking gives one answer, and that a store
// that says it never blocks completes every call normally, and at once, with a
// cancelled context: the cache calls it without a deadline.
func testNonBlocking(t *testing.T, s larder.Store, _ *config) {
	nb := s.(larder.NonBlockingStore)
	v := nb.NonBlocking()
	for range 10 {
		if nb.NonBlocking() != v {
			t.Fatal("NonBlocking changed its answer")
		}
	}
	if !v {
		t.Skip("NonBlocking reports false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	type call struct {
		name string
		call func() error
	}
	calls := []call{
		{"Set", func() error { return s.Set(ctx, "k", newEntry(200, "k"), longTTL) }},
		{"Get", func() error {
			e, err := s.Get(ctx, "k")
			if err == nil && e == nil {
				err = errors.New("nil entry and no error")
			}
			return err
		}},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
	}
	if ms, ok := s.(larder.MultiGetter); ok {
		calls = append(calls, call{"GetMulti", func() error {
			_, err := ms.GetMulti(ctx, []string{"k", "x"})
			return err
		}})
	}
	if cs, ok := s.(larder.ConditionalStore); ok {
		calls = append(calls, call{"SetIf", func() error {
			_, err := cs.SetIf(ctx, "c", genEntry("c", "g"), longTTL, "")
			return err
		}})
	}
	if ts, ok := s.(larder.TagStore); ok {
		calls = append(calls, call{"AddTags", func() error {
			_, err := ts.AddTags(ctx, "t", []string{"a"}, epoch, epoch.Add(longTTL))
			return err
		}}, call{"PurgeTags", func() error {
			_, err := ts.PurgeTags(ctx, []string{"a"}, epoch, keep)
			return err
		}})
	}
	if bs, ok := s.(larder.BodyStreamer); ok {
		calls = append(calls, call{"SetStream", func() error {
			return bs.SetStream(ctx, "s", newEntry(200, "s"), strings.NewReader("s"), 1, longTTL)
		}}, call{"GetStream", func() error {
			_, body, _, err := bs.GetStream(ctx, "s")
			if err == nil {
				_, err = io.ReadAll(body)
				body.Close()
			}
			return err
		}})
	}
	for _, call := range calls {
		start := time.Now()
		if err := call.call(); err != nil {
			t.Errorf("%s with a cancelled context on a store that never blocks: %v", call.name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s on a store that never blocks took %v", call.name, d)
		}
	}
}
