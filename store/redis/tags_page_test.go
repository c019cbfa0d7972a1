package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// standaloneAddr returns the standalone test server's address, from
// LARDER_TEST_REDIS (serviceAddr).
func standaloneAddr(t *testing.T) string { return serviceAddr(t, "LARDER_TEST_REDIS") }

// serviceAddr returns the address (or addresses) that the variable env
// names; unset, the test is skipped, or fails when
// LARDER_REQUIRE_SERVICES=1 (as for the external tests, helpers_test.go).
func serviceAddr(t *testing.T, env string) string {
	t.Helper()
	addr := os.Getenv(env)
	if addr == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set, and LARDER_REQUIRE_SERVICES=1", env)
		}
		t.Skipf("%s is not set", env)
	}
	return addr
}

// pageStore returns a store on the standalone test server under a prefix
// of its own, and the index key of tag "t", deleted at the end.
func pageStore(t *testing.T) (*Store, *goredis.Client, string) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: standaloneAddr(t), ContextTimeoutEnabled: true})
	var b [6]byte
	_, _ = rand.Read(b[:])
	s, err := New(c, Options{Prefix: "larder-test:" + hex.EncodeToString(b[:]) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	idx, purged := s.tagKeys("t")
	t.Cleanup(func() {
		c.Del(context.Background(), idx, purged)
		c.Close()
	})
	return s, c, idx
}

// TestPurgePages: a purge reads every key of a tag's index across pages,
// once each, keys that share an expiry included, and none that expired.
func TestPurgePages(t *testing.T) {
	s, c, idx := pageStore(t)
	ctx := context.Background()
	now := time.Now()
	base := now.UnixMicro()
	var want []string
	var zs []goredis.Z
	for i := range 2*purgePage + 37 {
		k := fmt.Sprintf("https://example.com/%04d", i)
		score := base + int64(i/7) + 1 // 7 keys an expiry
		if i%100 == 3 {
			score = base - int64(i) // expired at the purge
		} else {
			want = append(want, k)
		}
		zs = append(zs, goredis.Z{Score: float64(score), Member: k})
	}
	if err := c.ZAdd(ctx, idx, zs...).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.PurgeTags(ctx, []string{"t"}, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("PurgeTags returned %d keys, want %d", len(got), len(want))
	}
}

// TestPurgePageMoves: between two pages, the last key of the first page
// gets a later expiry (a fill extended it) or is removed (expired), keys
// before it are removed and added: the next page loses no key present
// throughout, and returns again at most those that shared its expiry.
func TestPurgePageMoves(t *testing.T) {
	for _, move := range []string{"none", "later", "removed"} {
		t.Run(move, func(t *testing.T) {
			s, c, idx := pageStore(t)
			ctx := context.Background()
			base := time.Now().UnixMicro()
			at := strconv.FormatInt(base, 10)
			var zs []goredis.Z
			n := purgePage + purgePage/2 // the rest fits in the second page
			for i := range n {
				zs = append(zs, goredis.Z{Score: float64(base + 1 + int64(i/7)), Member: fmt.Sprintf("k%04d", i)})
			}
			if err := c.ZAdd(ctx, idx, zs...).Err(); err != nil {
				t.Fatal(err)
			}
			first, score, err := s.purgePage(ctx, nil, idx, at, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(first) != purgePage {
				t.Fatalf("first page: %d keys", len(first))
			}
			last := first[len(first)-1]
			// Earlier keys go and come: the ranks after them shift.
			c.ZRem(ctx, idx, "k0000", "k0001", "k0002")
			c.ZAdd(ctx, idx, goredis.Z{Score: float64(base + 1), Member: "k-new"})
			switch move {
			case "later":
				c.ZAdd(ctx, idx, goredis.Z{Score: float64(base + 1_000_000), Member: last})
			case "removed":
				c.ZRem(ctx, idx, last)
			}
			second, _, err := s.purgePage(ctx, nil, idx, at, last, score)
			if err != nil {
				t.Fatal(err)
			}
			seen := make(map[string]int)
			for _, k := range append(first, second...) {
				seen[k]++
			}
			for i := purgePage; i < n; i++ {
				if k := fmt.Sprintf("k%04d", i); seen[k] != 1 {
					t.Errorf("%s returned %d times", k, seen[k])
				}
			}
			again := 0
			for k, m := range seen {
				if m > 1 {
					again++
					if k == last {
						continue
					}
					if sc, _ := c.ZScore(ctx, idx, k).Result(); strconv.FormatFloat(sc, 'f', -1, 64) != score {
						t.Errorf("%s (expiry %v) returned again, not of the last key's expiry %s", k, sc, score)
					}
				}
			}
			if move == "none" && again > 0 {
				t.Errorf("%d keys returned twice with the last key in place", again)
			}
		})
	}
}

// TestHashSlot: the slot of the Redis Cluster specification's example, and
// of keys whose slots CLUSTER KEYSLOT gave.
func TestHashSlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		slot uint16
	}{
		{"123456789", 12739}, // CRC16 0x31C3
		{"", 0},
		{"foo", 12182},
		{"0123456789abcdef", 10405},
	} {
		if got := hashSlot(tc.key); got != tc.slot {
			t.Errorf("hashSlot(%q) = %d, want %d", tc.key, got, tc.slot)
		}
	}
}
