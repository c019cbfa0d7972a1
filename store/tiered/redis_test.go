package tiered_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/faultproxy"
	"github.com/larder-cache/larder/store/redis"
	"github.com/larder-cache/larder/store/storetest"
	"github.com/larder-cache/larder/store/tiered"
)

// deployment names a Redis the tests run against.
type deployment struct{ name, env string }

var (
	standalone  = deployment{"standalone", "LARDER_TEST_REDIS"}
	cluster     = deployment{"cluster", "LARDER_TEST_REDIS_CLUSTER"}
	deployments = []deployment{standalone, cluster}
)

func (d deployment) addrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(d.env)
	if v == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set, and LARDER_REQUIRE_SERVICES=1", d.env)
		}
		t.Skipf("%s is not set: no %s Redis (start one with `. scripts/services.sh`)", d.env, d.name)
	}
	return strings.Split(v, ",")
}

// client returns a client of the deployment, closed at the end of the test.
// With addrs it connects there instead (a proxy in front of a standalone
// server).
func (d deployment) client(t testing.TB, addrs ...string) goredis.UniversalClient {
	t.Helper()
	if addrs == nil {
		addrs = d.addrs(t)
	}
	var c goredis.UniversalClient
	if d == cluster {
		c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	} else {
		c = goredis.NewClient(&goredis.Options{Addr: addrs[0], ContextTimeoutEnabled: true, MaxRetries: -1})
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// node is one process's view of a shared cache: a tiered store over a
// Redis L2 with a prefix and a channel of the test's own.
type node struct {
	*tiered.Store
	l2 *redis.Store
}

// space is a prefix and a channel of the test's own; the prefix's keys are
// deleted at the end.
type space struct{ prefix, channel string }

func newSpace(t testing.TB, c goredis.UniversalClient) space {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	sp := space{"larder-test:tiered:" + id + ":", "larder-test:tiered:" + id}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		del := func(ctx context.Context, c *goredis.Client) error {
			iter := c.Scan(ctx, 0, sp.prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
			return iter.Err()
		}
		if cc, ok := c.(*goredis.ClusterClient); ok {
			_ = cc.ForEachMaster(ctx, del)
		} else if sc, ok := c.(*goredis.Client); ok {
			_ = del(ctx, sc)
		}
	})
	return sp
}

// newNode returns a node on l2client (the L2) and busClient (the bus),
// connected to the bus.
func newNode(t testing.TB, l2client, busClient goredis.UniversalClient, sp space, opts tiered.Options) node {
	t.Helper()
	l2, err := redis.New(l2client, redis.Options{Prefix: sp.prefix})
	if err != nil {
		t.Fatal(err)
	}
	opts.Bus, opts.Channel = busClient, sp.channel
	s, err := tiered.New(l2, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatalf("the node did not connect to the bus: %v", err)
	}
	return node{s, l2}
}

// TestConformanceRedis runs the conformance suite on a tiered store over
// Redis, with a bus, on a standalone Redis and on a Redis Cluster.
func TestConformanceRedis(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.client(t)
			storetest.Run(t, func(t *testing.T) larder.Store {
				return newNode(t, c, c, newSpace(t, c), tiered.Options{MaxL1TTL: 500 * time.Millisecond}).Store
			})
		})
	}
}

// TestEvictionAcrossNodes checks that a write through one node evicts the
// key from the other's L1 (Set, SetIf, Delete), and measures how long after
// the write returns the other node may still serve the old entry from its
// L1: the consistency window of the package doc. The window must stay under
// the Lease, its bound when messages are lost.
func TestEvictionAcrossNodes(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			c := d.client(t)
			sp := newSpace(t, c)
			opts := tiered.Options{MaxL1TTL: time.Minute}
			a, b := newNode(t, c, c, sp, opts), newNode(t, c, c, sp, opts)
			exp := time.Now().Add(time.Hour)

			const rounds = 200
			windows := make([]time.Duration, 0, rounds)
			for i := range rounds {
				key := "https://example.com/k"
				must(t, a.Set(ctx, key, entryUntil("old", "g1", exp), time.Hour))
				// b hears of the Set (one eviction per write) before it fills
				// its L1, or the eviction, late, would empty it.
				waitEvictions(t, b, uint64(2*i+1))
				_ = getBody(t, b, key) // b fills its L1
				before := b.Stats()
				if getBody(t, b, key); b.Stats().L1Hits != before.L1Hits+1 {
					t.Fatalf("round %d: b's second Get was not an L1 hit", i)
				}
				// b's L1 now holds "old"; a writes.
				switch i % 3 {
				case 0:
					must(t, a.Delete(ctx, key))
				case 1:
					must(t, a.Set(ctx, key, entryUntil("new", "g2", exp), time.Hour))
				case 2:
					mustSetIf(t, a, key, entryUntil("new", "g2", exp), "g1", true)
				}
				done := time.Now()
				for getBody(t, b, key) == "old" {
					if time.Since(done) > time.Second {
						t.Fatalf("round %d: b still serves the old entry 1 s after the write (the Lease)", i)
					}
					time.Sleep(20 * time.Microsecond)
				}
				windows = append(windows, time.Since(done))
				waitEvictions(t, b, uint64(2*i+2))
			}
			slices.Sort(windows)
			t.Logf("window after a write returns, over %d writes: p50 %v, p99 %v, max %v",
				rounds, windows[rounds/2], windows[rounds*99/100], windows[rounds-1])
		})
	}
}

// blockingL2 holds each Get, after reading the L2, until release is closed.
type blockingL2 struct {
	tiered.L2
	read    chan struct{}
	release chan struct{}
}

func (s *blockingL2) Get(ctx context.Context, key string) (*larder.Entry, error) {
	e, err := s.L2.Get(ctx, key)
	close(s.read)
	<-s.release
	return e, err
}

// TestFillRace checks the race the stripes exist for: node b reads the old
// entry from the L2, node a writes and b receives the eviction, and only
// then b keeps what it read in its L1. b must not serve it afterwards.
func TestFillRace(t *testing.T) {
	ctx := context.Background()
	c := standalone.client(t)
	sp := newSpace(t, c)
	a := newNode(t, c, c, sp, tiered.Options{})
	l2, err := redis.New(c, redis.Options{Prefix: sp.prefix})
	must(t, err)
	slow := &blockingL2{L2: l2, read: make(chan struct{}), release: make(chan struct{})}
	b, err := tiered.New(slow, tiered.Options{Bus: c, Channel: sp.channel, MaxL1TTL: time.Minute})
	must(t, err)
	defer b.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	must(t, b.WaitConnected(cctx))

	key := "https://example.com/race"
	exp := time.Now().Add(time.Hour)
	must(t, a.Set(ctx, key, entryUntil("old", "g1", exp), time.Hour))
	got := make(chan string, 1)
	go func() {
		e, err := b.Get(ctx, key)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(e.Body)
	}()
	<-slow.read // b has read "old"
	evictions := b.Stats().Evictions
	must(t, a.Delete(ctx, key))
	for b.Stats().Evictions == evictions { // b hears of the Delete
		select {
		case <-cctx.Done():
			t.Fatal("b never received the eviction")
		case <-time.After(time.Millisecond):
		}
	}
	close(slow.release) // and now fills its L1
	if body := <-got; body != "old" {
		t.Fatalf("the racing Get returned %q, want the old entry it read", body)
	}
	slow.read = make(chan struct{})
	if got := getBody(t, b, key); got != "<miss>" {
		t.Fatalf("after the race, b serves %q from its L1, want a miss (from the L2)", got)
	}
}

// TestBusFaults checks that a node whose bus connection breaks, or goes
// silent, stops using its L1 (every Get reads the L2, so no eviction it
// missed matters) and empties it, and uses it again once the subscription
// is back. The bus goes through a faultproxy; the L2 does not.
func TestBusFaults(t *testing.T) {
	for _, fault := range []string{"break", "silence"} {
		t.Run(fault, func(t *testing.T) {
			ctx := context.Background()
			c := standalone.client(t)
			p, err := faultproxy.New(standalone.addrs(t)[0])
			must(t, err)
			defer p.Close()
			busClient := standalone.client(t, p.Addr())
			sp := newSpace(t, c)
			const lease = 200 * time.Millisecond
			a := newNode(t, c, c, sp, tiered.Options{})
			b := newNode(t, c, busClient, sp, tiered.Options{Lease: lease, MaxL1TTL: time.Minute})

			key := "https://example.com/fault"
			exp := time.Now().Add(time.Hour)
			must(t, a.Set(ctx, key, entryUntil("old", "g1", exp), time.Hour))
			_ = getBody(t, b, key)
			waitEvictions(t, b, 1) // a's Set, before b filled its L1
			flushes := b.Stats().Flushes

			switch fault {
			case "break":
				p.Refuse(true)
				p.Break()
			case "silence":
				p.Pause()
			}
			// a's purge is published, but b cannot hear it.
			must(t, a.Delete(ctx, key))
			start := time.Now()
			for b.Stats().Connected {
				if time.Since(start) > 2*lease {
					t.Fatalf("b still uses its L1 %v after the bus %s (lease %v)", time.Since(start), fault, lease)
				}
				time.Sleep(time.Millisecond)
			}
			t.Logf("b stopped using its L1 %v after the %s", time.Since(start), fault)
			if got := getBody(t, b, key); got != "<miss>" {
				t.Fatalf("with the bus down, b serves %q, want the L2's miss", got)
			}
			must(t, a.Set(ctx, key, entryUntil("mid", "g3", exp), time.Hour))
			if got := getBody(t, b, key); got != "mid" {
				t.Fatalf("with the bus down, b serves %q, want the L2's mid", got)
			}

			switch fault {
			case "break":
				p.Refuse(false)
			case "silence":
				p.Resume()
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			must(t, b.WaitConnected(cctx))
			if b.Stats().Flushes == flushes {
				t.Fatal("b uses its L1 again without having emptied it")
			}
			if fault == "silence" {
				// The messages held during the silence (a's Delete and
				// Set) arrive now: wait for them, or a late one evicts
				// the fill below.
				waitEvictions(t, b, 3)
			}
			_ = getBody(t, b, key)
			before := b.Stats()
			if got := getBody(t, b, key); got != "mid" || b.Stats().L1Hits != before.L1Hits+1 {
				t.Fatalf("after the bus came back, Get = %q, L1 hit %v; want mid from the L1", got, b.Stats().L1Hits > before.L1Hits)
			}
			// And evictions arrive again.
			must(t, a.Delete(ctx, key))
			deadline := time.Now().Add(time.Second)
			for getBody(t, b, key) != "<miss>" {
				if time.Now().After(deadline) {
					t.Fatal("after the bus came back, b did not hear a's Delete")
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestConcurrentWriters runs writers and readers on three nodes at once
// and checks, once they stop and the evictions are delivered, that every
// node serves what the L2 holds.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	c := cluster.client(t)
	sp := newSpace(t, c)
	var nodes []node
	for range 3 {
		nodes = append(nodes, newNode(t, c, c, sp, tiered.Options{MaxL1TTL: time.Minute}))
	}
	keys := []string{"https://example.com/1", "https://example.com/2", "https://example.com/3"}
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 300 {
				k := keys[(i+j)%len(keys)]
				switch j % 4 {
				case 0:
					_ = n.Set(ctx, k, entryUntil(string(rune('a'+i))+"-"+string(rune('0'+j%10)), "", exp), time.Hour)
				case 1:
					_ = n.Delete(ctx, k)
				default:
					_, _ = n.Get(ctx, k)
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond) // the last evictions in flight
	for _, k := range keys {
		want := getBody(t, nodes[0].l2, k)
		for i, n := range nodes {
			if got := getBody(t, n, k); got != want {
				t.Errorf("node %d serves %q for %s, the L2 holds %q", i, got, k, want)
			}
		}
	}
}

// waitEvictions waits until n has evicted want keys others published.
func waitEvictions(t testing.TB, n node, want uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for n.Stats().Evictions < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d evictions heard after 1 s, want %d", n.Stats().Evictions, want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}
