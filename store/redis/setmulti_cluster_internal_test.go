package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

// TestSetMultiClusterRedirect: a unit of keys that the node it was sent
// to does not serve (a slot moved since the client mapped them) is written
// through the cluster client, which follows the redirects.
func TestSetMultiClusterRedirect(t *testing.T) {
	s, cc := clusterStore(t)
	ctx := context.Background()
	keys := make([]string, 50)
	for i := range keys {
		keys[i] = "http://example.com/redirect/" + strconv.Itoa(i)
	}
	t.Cleanup(func() {
		for _, k := range keys {
			cc.Del(context.Background(), s.Key(k))
		}
	})
	// Every key goes to the node of the first one: the others answer MOVED.
	first, err := cc.MasterForKey(ctx, s.Key(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	var asked int
	wrong := func(context.Context, string) (*goredis.Client, error) {
		asked++
		return first, nil
	}
	ts := &larder.Entry{Kind: larder.KindTombstone, Nonce: "t1"}
	v, ok, err := s.encodeValue(ts, time.Hour)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := s.setMultiCluster(ctx, cc, wrong, keys, v, true, time.Hour); err != nil {
		t.Fatalf("setMultiCluster: %v", err)
	}
	if asked != len(keys) {
		t.Fatalf("the master of %d keys asked, want %d", asked, len(keys))
	}
	others := 0
	for _, k := range keys {
		if m, _ := cc.MasterForKey(ctx, s.Key(k)); m != first {
			others++
		}
		e, err := s.Get(ctx, k)
		if err != nil || e.Nonce != "t1" {
			t.Fatalf("%s after setMultiCluster: %v, %v", k, e, err)
		}
		if ttl := cc.PTTL(ctx, s.Key(k)).Val(); ttl < 59*time.Minute {
			t.Fatalf("%s: PTTL %v, want about an hour", k, ttl)
		}
	}
	if others == 0 {
		t.Fatal("every key is on one node: the test tried no redirect")
	}
}

// clusterStore returns a store with a prefix of its own on the test
// cluster (LARDER_TEST_REDIS_CLUSTER), and its client.
func clusterStore(t *testing.T) (*Store, *goredis.ClusterClient) {
	t.Helper()
	addrs := serviceAddr(t, "LARDER_TEST_REDIS_CLUSTER")
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true})
	t.Cleanup(func() { cc.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	s, err := New(cc, Options{Prefix: "larder-test:" + hex.EncodeToString(b[:]) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	return s, cc
}
