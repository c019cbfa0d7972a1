package larder

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"unsafe"
)

// TestKeyTable: intern returns a string equal to what it is given, the same
// one (the same bytes, no allocation) for a key asked for again, and a
// correct one for keys that share a slot, whichever took it last.
func TestKeyTable(t *testing.T) {
	tab := newKeyTable()
	a := tab.intern([]byte("http://example.com/a"))
	buf := []byte("http://example.com/a")
	if again := tab.intern(buf); again != a || unsafe.StringData(again) != unsafe.StringData(a) {
		t.Fatalf("the key asked for again is a new string %q (was %q)", again, a)
	}
	buf[len(buf)-1] = 'b' // the table never keeps what it is given
	if a != "http://example.com/a" {
		t.Fatalf("the interned key changed with the caller's buffer: %q", a)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = tab.intern([]byte("http://example.com/a")) }); allocs != 0 {
		t.Errorf("intern of a known key: %.0f allocations, want 0", allocs)
	}

	// A key longer than keyBuf is returned, never kept.
	long := make([]byte, keyBuf+1)
	for i := range long {
		long[i] = 'a'
	}
	if got := tab.intern(long); got != string(long) {
		t.Fatalf("a long key came back as %q", got)
	}
	for i := range tab.slots {
		if p := tab.slots[i].Load(); p != nil && len(*p) > keyBuf {
			t.Fatalf("slot %d keeps a key of %d bytes", i, len(*p))
		}
	}

	// More keys than slots: each is still returned equal, though most share
	// a slot with another.
	keys := make([]string, 3*keySlots)
	for i := range keys {
		keys[i] = fmt.Sprintf("http://example.com/%d", i)
	}
	for round := range 2 {
		for _, k := range keys {
			if got := tab.intern([]byte(k)); got != k {
				t.Fatalf("round %d: intern(%q) = %q", round, k, got)
			}
		}
	}
}

// TestTargetKeysOnce: a request for a URL asked for before is keyed without
// an allocation, with the key Request gives; a target not in the key's form
// is keyed by Request, the request passed on rewritten.
func TestTargetKeysOnce(t *testing.T) {
	c := New(nil)
	defer c.Close()
	for _, tc := range []struct{ target, key string }{
		{"http://example.com/a?b=1", "http://example.com/a?b=1"},
		{"http://EXAMPLE.com:80/./a/%7e", "http://example.com/a/~"},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		key, fwd := c.target(r)
		if key != tc.key {
			t.Fatalf("%s: key %q, want %q", tc.target, key, tc.key)
		}
		if want, _ := c.key.Request(r); key != want {
			t.Fatalf("%s: key %q, Request gives %q", tc.target, key, want)
		}
		if plain := tc.key == tc.target; (fwd == r) != plain {
			t.Fatalf("%s: request passed on rewritten: %v, want %v", tc.target, fwd != r, !plain)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "http://example.com/a?b=1", nil)
	if allocs := testing.AllocsPerRun(100, func() { _, _ = c.target(r) }); allocs != 0 {
		t.Errorf("target of a URL asked for before: %.0f allocations, want 0", allocs)
	}
}

// TestKeyTableConcurrent: goroutines interning keys that share slots each
// get back their own key (run with -race).
func TestKeyTableConcurrent(t *testing.T) {
	tab := newKeyTable()
	keys := make([]string, 2*keySlots)
	for i := range keys {
		keys[i] = fmt.Sprintf("http://example.com/%d", i)
	}
	errs := make(chan string, 4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k := keys[(i*7+g*131)%len(keys)]
				if got := tab.intern([]byte(k)); got != k {
					errs <- fmt.Sprintf("intern(%q) = %q", k, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
