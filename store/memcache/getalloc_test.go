package memcache_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memcache"
)

// TestGetCopiesNoBody: a Get allocates the item the client reads and
// little more: the entry's body is a view of the item's value
// (larder.DecodeEntry), not a second copy of 64 KiB.
func TestGetCopiesNoBody(t *testing.T) {
	s := newStore(t, servers(t), memcache.Options{})
	ctx := context.Background()
	const size = 64 << 10
	e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Nonce: "g1", Body: []byte(strings.Repeat("b", size)), ResponseTime: time.Now(), Lifetime: time.Hour}
	if err := s.Set(ctx, "http://example.com/big", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	get := func(n int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			if _, err := s.Get(ctx, "http://example.com/big"); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
	}
	get(2) // connections made
	if got := get(20); got > size+size/4 {
		t.Fatalf("a Get of a body of %d bytes allocates %d bytes, want at most %d (the item and no copy of it)", size, got, size+size/4)
	}
}
