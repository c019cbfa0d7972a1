package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/store/disk"
	memcachestore "github.com/larder-cache/larder/store/memcache"
	"github.com/larder-cache/larder/store/memory"
	redisstore "github.com/larder-cache/larder/store/redis"
	"github.com/larder-cache/larder/store/tiered"
)

// storeKind is a store the suite runs on besides the memory store.
type storeKind struct {
	name string
	env  string // the variable naming its servers; "" for none
	// open returns a factory of stores, one per case, and a clean-up.
	open func(t *testing.T, servers []string) (func(*testing.T, *fakeclock.Clock) larder.Store, func())
}

// conformancePrefix is a key prefix of one run of the suite on one store.
func conformancePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "larder-conf:" + hex.EncodeToString(b[:]) + ":"
}

// caseCount numbers the stores made in one run, for their prefixes.
type caseCount struct {
	mu sync.Mutex
	n  int
}

func (c *caseCount) next() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return hex.EncodeToString([]byte{byte(c.n >> 8), byte(c.n)}) + ":"
}

func redisKind(name, env string, cluster bool, tieredL1 bool) storeKind {
	return storeKind{name: name, env: env, open: func(t *testing.T, servers []string) (func(*testing.T, *fakeclock.Clock) larder.Store, func()) {
		var c goredis.UniversalClient
		if cluster {
			c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: servers, ContextTimeoutEnabled: true})
		} else {
			c = goredis.NewClient(&goredis.Options{Addr: servers[0], ContextTimeoutEnabled: true})
		}
		prefix := conformancePrefix()
		var count caseCount
		newStore := func(t *testing.T, clk *fakeclock.Clock) larder.Store {
			p := prefix + count.next()
			s, err := redisstore.New(c, redisstore.Options{Prefix: p})
			if err != nil {
				t.Fatal(err)
			}
			if !tieredL1 {
				return s
			}
			ts, err := tiered.New(s, tiered.Options{Bus: c, Channel: p + "tiered", Clock: clk.Now,
				L1: memory.Options{MaxBytes: 16 << 20}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(ts.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ts.WaitConnected(ctx); err != nil {
				t.Fatal(err)
			}
			return ts
		}
		cleanup := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			del := func(ctx context.Context, n *goredis.Client) error {
				iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
				for iter.Next(ctx) {
					n.Del(ctx, iter.Val())
				}
				return iter.Err()
			}
			if cc, ok := c.(*goredis.ClusterClient); ok {
				_ = cc.ForEachMaster(ctx, del)
			} else {
				_ = del(ctx, c.(*goredis.Client))
			}
			c.Close()
		}
		return newStore, cleanup
	}}
}

// storeKinds are the stores the suite runs on, as well as the memory store.
var storeKinds = []storeKind{
	redisKind("redis", "LARDER_TEST_REDIS", false, false),
	redisKind("redis-cluster", "LARDER_TEST_REDIS_CLUSTER", true, false),
	redisKind("tiered", "LARDER_TEST_REDIS", false, true),
	{name: "memcache", env: "LARDER_TEST_MEMCACHE", open: func(t *testing.T, servers []string) (func(*testing.T, *fakeclock.Clock) larder.Store, func()) {
		prefix := conformancePrefix()
		var count caseCount
		return func(t *testing.T, _ *fakeclock.Clock) larder.Store {
			s, err := memcachestore.NewFromServers(servers, memcachestore.Options{Prefix: prefix + count.next()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}, func() {}
	}},
	{name: "disk", open: func(t *testing.T, _ []string) (func(*testing.T, *fakeclock.Clock) larder.Store, func()) {
		return func(t *testing.T, clk *fakeclock.Clock) larder.Store {
			s, err := disk.Open(t.TempDir(), disk.Options{Clock: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}, func() {}
	}},
}

// storeKnown are the cases that pass on the memory store but not on a
// store, with the reason.
var storeKnown = map[string]map[string]string{}

// TestCacheTestsStores runs the suite on each store of storeKinds: every
// case that passes on the memory store must pass on each, but those in
// storeKnown.
func TestCacheTestsStores(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			var servers []string
			if k.env != "" {
				v := os.Getenv(k.env)
				if v == "" {
					if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
						t.Fatalf("%s is not set, and LARDER_REQUIRE_SERVICES=1", k.env)
					}
					t.Skipf("%s is not set", k.env)
				}
				servers = strings.Split(v, ",")
			}
			newStore, cleanup := k.open(t, servers)
			t.Cleanup(cleanup)
			var mu sync.Mutex
			var pass, fail, known int
			t.Run("group", func(t *testing.T) {
				for _, s := range suites() {
					for _, c := range s.cases {
						if c.NotApplicable != "" || c.KnownFailure != "" {
							continue
						}
						t.Run(c.ID, func(t *testing.T) {
							t.Parallel()
							if f := run(t, c, false); f != nil {
								t.Skip("fails on the memory store too")
							}
							f := runWith(t, c, false, newStore)
							mu.Lock()
							defer mu.Unlock()
							reason, isKnown := storeKnown[k.name][c.ID]
							switch {
							case f == nil && isKnown:
								t.Errorf("passes on %s, though marked as failing there (%s)", k.name, reason)
							case f == nil:
								pass++
							case isKnown:
								known++
								t.Skipf("known to fail on %s: %s", k.name, reason)
							default:
								fail++
								t.Errorf("[%s] on the %s store: %s", c.Kind, k.name, f.msg)
							}
						})
					}
				}
			})
			t.Logf("cache-tests on the %s store: %d pass, %d fail, %d known to fail", k.name, pass, fail, known)
		})
	}
}
