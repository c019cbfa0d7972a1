package memory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// fillStored has a cache store a response for each of n URLs in s, with a
// body of size bytes, and returns the keys it stored them under.
func fillStored(t testing.TB, s *memory.Store, n, size int) []string {
	t.Helper()
	c := larder.New(s)
	t.Cleanup(func() { _ = c.Close() })
	body := strings.Repeat("b", size)
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"`+r.URL.Path+`"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(body))
	}))
	keys := make([]string, n)
	for i := range keys {
		url := fmt.Sprintf("http://example.com/memo/%d", i)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, url, nil))
		keys[i] = storedKey(t, s, url)
	}
	return keys
}

func mustGet(t *testing.T, s *memory.Store, key string) *larder.Entry {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

// A hot key's Get returns the Entry it rebuilt before, without allocating;
// without the memo each Get rebuilds one.
func TestMemoHotKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		hot  int
		memo bool
	}{{"default", 0, true}, {"none", -1, false}, {"one slot", 1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, memory.Options{HotEntries: tc.hot})
			key := fillStored(t, s, 1, 100)[0]
			a, b := mustGet(t, s, key), mustGet(t, s, key)
			if (a == b) != tc.memo {
				t.Fatalf("two Gets of a hot key gave the same Entry: %v, want %v", a == b, tc.memo)
			}
			allocs := testing.AllocsPerRun(100, func() { mustGet(t, s, key) })
			if tc.memo && allocs != 0 || !tc.memo && allocs == 0 {
				t.Fatalf("a hot key's Get allocates %.0f times (memo %v)", allocs, tc.memo)
			}
		})
	}
}

// A key written again is never answered with the Entry of what it held
// before, even when the new entry shares its body (a soft purge's rewrite).
func TestMemoRewrittenKey(t *testing.T) {
	s := newStore(t, memory.Options{})
	key := fillStored(t, s, 1, 100)[0]
	old := mustGet(t, s, key)
	mustGet(t, s, key)
	ctx := context.Background()
	soft := *old
	soft.Lifetime = 0
	soft.Nonce = "rewritten"
	if ok, err := s.SetIf(ctx, key, &soft, time.Hour, old.Nonce); !ok || err != nil {
		t.Fatalf("SetIf: %v, %v", ok, err)
	}
	for range 2 {
		if e := mustGet(t, s, key); e == old || e.Nonce != "rewritten" || e.Lifetime != 0 {
			t.Fatalf("Get after the rewrite: Nonce %q, Lifetime %v (the memo's old entry: %v)", e.Nonce, e.Lifetime, e == old)
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

// Two keys sharing the memo's one slot: an entry hit since it came in
// keeps the slot against the other key once (its second chance), then
// gives it up.
func TestMemoSlotShared(t *testing.T) {
	s := newStore(t, memory.Options{HotEntries: 1})
	keys := fillStored(t, s, 3, 10)
	a := mustGet(t, s, keys[0])
	if mustGet(t, s, keys[0]) != a {
		t.Fatal("the memo did not keep the first key's entry")
	}
	mustGet(t, s, keys[1])
	if mustGet(t, s, keys[0]) != a {
		t.Fatal("an entry hit in the memo lost its slot to the first other key")
	}
	mustGet(t, s, keys[1]) // a's second chance
	b := mustGet(t, s, keys[1])
	if mustGet(t, s, keys[1]) != b {
		t.Fatal("the other key did not take the slot after the second chance")
	}
	if mustGet(t, s, keys[0]) == a {
		t.Fatal("the memo's one slot kept two entries")
	}
	// An entry never hit in the memo gives it up to the next key.
	s2 := newStore(t, memory.Options{HotEntries: 1})
	keys = fillStored(t, s2, 2, 10) // each Get once
	c := mustGet(t, s2, keys[0])    // rebuilt: keys[1] held the slot, unused
	if mustGet(t, s2, keys[0]) != c {
		t.Fatal("a slot whose entry was never hit was not given to the next key")
	}
}

// What the memo keeps is counted in Stats, within the share of MaxBytes
// reserved for it, and released with the entries it was built from.
func TestMemoCounted(t *testing.T) {
	const maxBytes = 8 << 20 // 64 slots
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	keys := fillStored(t, s, 200, 4096)
	var weights int64
	for _, k := range keys {
		weights += memory.Weight(mustGet(t, s, k))
	}
	st := s.Stats()
	memo := st.Bytes - weights
	if st.Entries != len(keys) || memo <= 0 || memo > 64*1024 {
		t.Fatalf("Stats() = %+v, the entries weigh %d: the memo holds %d bytes, want (0, 64 KiB]", st, weights, memo)
	}
	ctx := context.Background()
	for _, k := range keys {
		_ = s.Delete(ctx, k)
	}
	if st := s.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("after deleting every key: %+v, want nothing (the memo released what it kept)", st)
	}
}

func TestHotEntriesOption(t *testing.T) {
	if _, err := memory.New(memory.Options{MaxBytes: 1 << 20, HotEntries: 1024}); err == nil {
		t.Fatal("HotEntries of all of MaxBytes: no error")
	}
	s := newStore(t, memory.Options{MaxBytes: 1 << 20, HotEntries: 100}) // 64 slots
	keys := fillStored(t, s, 1, 10)
	if a, b := mustGet(t, s, keys[0]), mustGet(t, s, keys[0]); a != b {
		t.Fatal("HotEntries 100: no memo")
	}
}

// The memo's reserve is not the entries': an entry that fits MaxBytes but
// not what the memo leaves is not stored, and what is stored stays within
// MaxBytes with the memo full.
func TestMemoReserve(t *testing.T) {
	const maxBytes = 4 << 20 // 32 slots, 32 KiB reserved
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	ctx := context.Background()
	big := &larder.Entry{Kind: larder.KindResponse, Status: 200, Header: http.Header{}, Body: make([]byte, maxBytes-16<<10)}
	if err := s.Set(ctx, "big", big, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "big"); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get of an entry in the memo's reserve: %v, want ErrNotFound", err)
	}
	keys := fillStored(t, s, 500, 4096) // ~2.3 MB: every one fits
	for range 2 {
		for _, k := range keys {
			_, _ = s.Get(ctx, k)
		}
	}
	if st := s.Stats(); st.Bytes > maxBytes || st.Entries == 0 {
		t.Fatalf("Stats() = %+v with the memo full, MaxBytes %d", st, maxBytes)
	}
}
