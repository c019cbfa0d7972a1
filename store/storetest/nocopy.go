package storetest

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// CheckGetCopiesNoBody checks what a store that decodes its entries with
// larder.DecodeEntry promises (store/redis and store/memcache call it): a
// Get allocates what the store reads from its backend and little more, the
// entry's body being a view of that read rather than a second copy. It
// stores a 64 KiB body and fails if a Get of it allocates, on average over
// 20 (after two that may open connections), more than 1.25 times the body.
// It is not part of Run: a store may copy (store/disk must, as its reads
// live only for a transaction).
func CheckGetCopiesNoBody(t *testing.T, s larder.Store) {
	t.Helper()
	const (
		key  = "http://storetest.example/big"
		size = 64 << 10
	)
	ctx := context.Background()
	e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Nonce: "g1", Body: []byte(strings.Repeat("b", size)),
		ResponseTime: time.Now(), Lifetime: time.Hour}
	if err := s.Set(ctx, key, e, time.Hour); err != nil {
		t.Fatal(err)
	}
	perGet := func(n int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			if _, err := s.Get(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
	}
	perGet(2)
	if got := perGet(20); got > size+size/4 {
		t.Fatalf("a Get of a body of %d bytes allocates %d bytes, want at most %d (the read and no copy of it)", size, got, size+size/4)
	}
}
