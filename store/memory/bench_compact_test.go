package memory_test

import (
	"context"
	"testing"

	"github.com/larder-cache/larder/store/memory"
)

// BenchmarkGetStored reads responses that a cache stored (in compact
// form): "hot", one key again and again (the memo's case); "cold", 100,000
// keys in turn, more than the memo's slots, so that most Gets rebuild
// their Entry.
func BenchmarkGetStored(b *testing.B) {
	for _, tc := range []struct {
		name string
		keys int
	}{{"hot", 1}, {"cold", 100_000}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newStore(b, memory.Options{MaxBytes: 1 << 30})
			keys := fillStored(b, s, tc.keys, 1024)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Get(ctx, keys[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	}
}

// storedKey finds the key under which the cache stored url's response.
func storedKey(b testing.TB, s *memory.Store, url string) string {
	for _, k := range []string{url, "GET " + url, "GET\x00" + url} {
		if _, err := s.Get(context.Background(), k); err == nil {
			return k
		}
	}
	b.Fatalf("no key found for %s", url)
	return ""
}
