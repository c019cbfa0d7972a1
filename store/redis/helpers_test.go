package redis_test

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
	"go.uber.org/goleak"

	"github.com/larder-cache/larder/store/redis"
)

// The store's goroutines are go-redis's; none may outlive the tests, with
// every client closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server names a Redis deployment the tests run against.
type server struct {
	name string // "standalone" or "cluster"
	env  string // the variable that holds its address(es)
}

var (
	standalone = server{"standalone", "LARDER_TEST_REDIS"}
	cluster    = server{"cluster", "LARDER_TEST_REDIS_CLUSTER"}
	servers    = []server{standalone, cluster}
)

// addrs returns the server's addresses from its variable. When it is unset
// the test is skipped, or fails if LARDER_REQUIRE_SERVICES=1 (as
// scripts/services.sh and scripts/test.sh set it).
func (sv server) addrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(sv.env)
	if v == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set, and LARDER_REQUIRE_SERVICES=1: start the servers with `. scripts/services.sh`", sv.env)
		}
		t.Skipf("%s is not set: no %s Redis to test against (start one with `. scripts/services.sh`)", sv.env, sv.name)
	}
	return strings.Split(v, ",")
}

// client returns a new client of the server, closed at the end of the test.
func (sv server) client(t testing.TB) goredis.UniversalClient {
	t.Helper()
	addrs := sv.addrs(t)
	var c goredis.UniversalClient
	if sv == cluster {
		c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	} else {
		c = goredis.NewClient(&goredis.Options{Addr: addrs[0], ContextTimeoutEnabled: true})
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s Redis at %v: %v", sv.name, addrs, err)
	}
	return c
}

// newPrefix returns a key prefix of the test's own, whose keys are deleted
// at the end of the test (after the clean-ups registered later, which run
// first).
func newPrefix(t testing.TB, c goredis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "larder-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		if n := deletePrefix(t, c, prefix); n > 0 {
			t.Logf("deleted %d keys under %s", n, prefix)
		}
	})
	return prefix
}

// newStore returns a store on c with a prefix of the test's own.
func newStore(t testing.TB, c goredis.UniversalClient, opts redis.Options) *redis.Store {
	t.Helper()
	opts.Prefix = newPrefix(t, c)
	s, err := redis.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keysUnder returns every key under prefix, on every master of a cluster.
func keysUnder(t testing.TB, c goredis.UniversalClient, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		keys []string
	)
	scan := func(ctx context.Context, c *goredis.Client) error {
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var ks []string
		for it.Next(ctx) {
			ks = append(ks, it.Val())
		}
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return it.Err()
	}
	var err error
	switch c := c.(type) {
	case *goredis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *goredis.Client:
		err = scan(ctx, c)
	default:
		t.Fatalf("keysUnder: a %T", c)
	}
	if err != nil {
		t.Fatalf("SCAN %s*: %v", prefix, err)
	}
	return keys
}

// deletePrefix deletes every key under prefix and returns how many.
func deletePrefix(t testing.TB, c goredis.UniversalClient, prefix string) int {
	t.Helper()
	keys := keysUnder(t, c, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, k := range keys { // one at a time: in a cluster, keys of many slots
		if err := c.Del(ctx, k).Err(); err != nil {
			t.Errorf("DEL %q: %v", k, err)
		}
	}
	return len(keys)
}
