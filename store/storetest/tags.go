package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// ---- TagStore ----

// keep is the purge record keep of the TagStore tests.
const keep = time.Minute

func mustAddTags(t testing.TB, s larder.TagStore, key string, tags []string, since, expires time.Time, want bool) {
	t.Helper()
	got, err := s.AddTags(context.Background(), key, tags, since, expires)
	if err != nil {
		t.Fatalf("AddTags(%q, %q): %v", key, tags, err)
	}
	if got != want {
		t.Fatalf("AddTags(%q, %q, since %v) = %v, want %v", key, tags, since.Sub(epoch), got, want)
	}
}

func mustPurgeTags(t testing.TB, s larder.TagStore, tags []string, now time.Time, want ...string) {
	t.Helper()
	got, err := s.PurgeTags(context.Background(), tags, now, keep)
	if err != nil {
		t.Fatalf("PurgeTags(%q): %v", tags, err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("PurgeTags(%q) = %q, want %q", tags, got, want)
	}
}

func testTagsIndex(t *testing.T, s larder.Store, _ *config) {
	ts := s.(larder.TagStore)
	exp := epoch.Add(longTTL)
	mustAddTags(t, ts, "https://example.com/1", []string{"a", "b"}, epoch, exp, true)
	mustAddTags(t, ts, "https://example.com/2", []string{"b"}, epoch, exp, true)
	mustAddTags(t, ts, "https://example.com/3", nil, epoch, exp, true)
	now := epoch.Add(time.Second)
	mustPurgeTags(t, ts, []string{"a"}, now, "https://example.com/1")
	mustPurgeTags(t, ts, []string{"b"}, now, "https://example.com/1", "https://example.com/2")
	mustPurgeTags(t, ts, []string{"a", "b", "a"}, now, "https://example.com/1", "https://example.com/2")
	mustPurgeTags(t, ts, []string{"none"}, now)
	mustPurgeTags(t, ts, nil, now)
	// A purge forgets no key: a second purge finds them again.
	mustPurgeTags(t, ts, []string{"a"}, now.Add(time.Second), "https://example.com/1")
}

func testTagsPurgeRecord(t *testing.T, s larder.Store, _ *config) {
	ts := s.(larder.TagStore)
	exp := epoch.Add(longTTL)
	at := epoch.Add(time.Second)
	mustPurgeTags(t, ts, []string{"c"}, at)
	mustAddTags(t, ts, "k-before", []string{"c"}, at.Add(-time.Millisecond), exp, false)
	mustAddTags(t, ts, "k-at", []string{"c"}, at, exp, false)
	mustAddTags(t, ts, "k-other-first", []string{"d", "c"}, epoch, exp, false)
	mustAddTags(t, ts, "k-after", []string{"c"}, at.Add(time.Millisecond), exp, true)
	mustPurgeTags(t, ts, []string{"c"}, at.Add(time.Second), "k-after")
	// An earlier purge does not replace a later record.
	mustPurgeTags(t, ts, []string{"c"}, epoch, "k-after")
	mustAddTags(t, ts, "k-late", []string{"c"}, at.Add(500*time.Millisecond), exp, false)
	// Other tags are not affected.
	mustAddTags(t, ts, "k-d", []string{"d"}, epoch, exp, true)
}

func testTagsExpiry(t *testing.T, s larder.Store, _ *config) {
	ts := s.(larder.TagStore)
	mustAddTags(t, ts, "short", []string{"e"}, epoch, epoch.Add(10*time.Second), true)
	mustAddTags(t, ts, "long", []string{"e"}, epoch, epoch.Add(longTTL), true)
	mustAddTags(t, ts, "extended", []string{"e"}, epoch, epoch.Add(10*time.Second), true)
	mustAddTags(t, ts, "extended", []string{"e"}, epoch, epoch.Add(longTTL), true)
	mustAddTags(t, ts, "extended", []string{"e"}, epoch, epoch.Add(5*time.Second), true)
	mustPurgeTags(t, ts, []string{"e"}, epoch.Add(20*time.Second), "long", "extended")
}

func testTagsOdd(t *testing.T, s larder.Store, _ *config) {
	ts := s.(larder.TagStore)
	exp := epoch.Add(longTTL)
	tags := []string{"\x00example.com/docs/", "{braces}", "ünï", "a:b/c?d", "x y"}
	for i, tag := range tags {
		mustAddTags(t, ts, fmt.Sprintf("https://example.com/%d\x00v", i), []string{tag}, epoch, exp, true)
	}
	for i, tag := range tags {
		mustPurgeTags(t, ts, []string{tag}, epoch.Add(time.Second), fmt.Sprintf("https://example.com/%d\x00v", i))
	}
}

// testTagsConcurrent: of AddTags calls dated before a concurrent PurgeTags,
// each one that reports true has its key returned by the purge.
func testTagsConcurrent(t *testing.T, s larder.Store, _ *config) {
	ts := s.(larder.TagStore)
	exp := epoch.Add(longTTL)
	const n = 200
	added := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			ok, err := ts.AddTags(context.Background(), fmt.Sprintf("k%d", i), []string{"f", fmt.Sprintf("g%d", i%3)}, epoch, exp)
			if err != nil {
				t.Errorf("AddTags: %v", err)
			}
			added[i] = ok
		})
	}
	var got []string
	wg.Go(func() {
		<-start
		var err error
		if got, err = ts.PurgeTags(context.Background(), []string{"f"}, epoch.Add(time.Second), keep); err != nil {
			t.Errorf("PurgeTags: %v", err)
		}
	})
	close(start)
	wg.Wait()
	for i, ok := range added {
		if ok && !slices.Contains(got, fmt.Sprintf("k%d", i)) {
			t.Fatalf("k%d was added before the purge but not purged", i)
		}
	}
}

// ---- MultiSetter ----

func testSetMulti(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiSetter)
	ctx := context.Background()
	keys := make([]string, 2500)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://example.com/m/%d", i)
	}
	if err := s.Set(ctx, keys[7], newEntry(200, "old"), longTTL); err != nil {
		t.Fatal(err)
	}
	e := genEntry("multi", "g1")
	if err := ms.SetMulti(ctx, keys, e, longTTL); err != nil {
		t.Fatalf("SetMulti: %v", err)
	}
	for _, i := range []int{0, 7, 999, 1000, 2499} {
		got := mustGet(t, s, keys[i])
		if diff := diffEntries(got, e); diff != "" {
			t.Fatalf("%s after SetMulti: %s", keys[i], diff)
		}
	}
	if err := ms.SetMulti(ctx, nil, e, longTTL); err != nil {
		t.Fatalf("SetMulti of no keys: %v", err)
	}
}

func testSetMultiExpiry(t *testing.T, s larder.Store, c *config) {
	ms := s.(larder.MultiSetter)
	if err := ms.SetMulti(context.Background(), []string{"x1", "x2"}, genEntry("x", "g"), shortTTL(c)); err != nil {
		t.Fatalf("SetMulti: %v", err)
	}
	expire(t, s, c, "x1")
	mustMiss(t, s, "x2")
}
