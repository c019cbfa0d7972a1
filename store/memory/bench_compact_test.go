package memory_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/larder-cache/larder/store/memory"
)

// BenchmarkGetStored reads responses that a cache stored (in compact
// form): "hot", one key again and again (the memo's case); "cold", 100,000
// keys in turn, more than the memo's slots, so that most Gets rebuild
// their Entry; "zipf", 100,000 keys drawn with Zipf's law (s = 1.1), as
// real traffic's popularity goes, the memo keeping the popular ones (with
// its default 4,096 slots, and with 65,536).
func BenchmarkGetStored(b *testing.B) {
	for _, tc := range []struct {
		name string
		keys int
		zipf bool
		hot  int // Options.HotEntries
	}{
		{"hot", 1, false, 0}, {"cold", 100_000, false, 0},
		{"zipf", 100_000, true, 0}, {"zipf/hot-65536", 100_000, true, 1 << 16},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newStore(b, memory.Options{MaxBytes: 1 << 30, HotEntries: tc.hot})
			keys := fillStored(b, s, tc.keys, 1024)
			if tc.zipf {
				z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(keys)-1))
				drawn := make([]string, 1<<20)
				for i := range drawn {
					drawn[i] = keys[z.Uint64()]
				}
				keys = drawn
			}
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
