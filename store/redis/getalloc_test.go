package redis_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/redis"
)

// getBytes returns the bytes a Get of key allocates, on average over n.
func getBytes(t *testing.T, s larder.Store, key string, n int) uint64 {
	t.Helper()
	ctx := context.Background()
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

// TestGetCopiesNoBody: a Get allocates the reply go-redis reads and
// little more: the entry's body is a view of the reply (larder.DecodeEntry),
// not a second copy of 64 KiB.
func TestGetCopiesNoBody(t *testing.T) {
	s := newStore(t, standalone.client(t), redis.Options{})
	const size = 64 << 10
	e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Nonce: "g1", Body: []byte(strings.Repeat("b", size)), ResponseTime: time.Now(), Lifetime: time.Hour}
	if err := s.Set(context.Background(), "http://example.com/big", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	getBytes(t, s, "http://example.com/big", 2) // connections made
	if got := getBytes(t, s, "http://example.com/big", 20); got > size+size/4 {
		t.Fatalf("a Get of a body of %d bytes allocates %d bytes, want at most %d (the reply and no copy of it)", size, got, size+size/4)
	}
}
