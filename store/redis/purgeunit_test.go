package redis_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/redis"
)

// pipeSizes is a go-redis hook that records the size of each round trip
// the client makes: the number of keys of a single script call or DEL
// that succeeded (a NOSCRIPT reply is followed by the same call with the
// script), or of a pipeline (but a new connection's set-up): its commands,
// a script call counting as its keys.
type pipeSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (p *pipeSizes) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (p *pipeSizes) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		n := -1
		switch cmd.Name() {
		case "evalsha", "eval", "del":
			n = cmdKeys(cmd)
		}
		if n >= 0 && err == nil {
			p.mu.Lock()
			p.sizes = append(p.sizes, n)
			p.mu.Unlock()
		}
		return err
	}
}
func (p *pipeSizes) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if n := cmds[0].Name(); n != "client" && n != "hello" { // not a new connection's set-up
			n := 0
			for _, c := range cmds {
				n += cmdKeys(c)
			}
			p.mu.Lock()
			p.sizes = append(p.sizes, n)
			p.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

// cmdKeys is how many keys cmd counts for in a round trip's size: a
// script call's keys, a DEL's, 1 for any other command.
func cmdKeys(cmd goredis.Cmder) int {
	switch args := cmd.Args(); cmd.Name() {
	case "evalsha", "eval":
		if k, ok := args[2].(int); ok {
			return k
		}
	case "del":
		return len(args) - 1
	}
	return 1
}

// take returns the sizes recorded since the last take, and forgets them.
func (p *pipeSizes) take() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sizes
	p.sizes = nil
	return s
}

// The store's setMultiUnit and rewriteMetaUnit: the keys of one round
// trip of a purge's tombstones, and of a soft purge's heads.
const (
	setMultiUnit    = 4
	rewriteMetaUnit = 8
)

// TestPurgeUnits: on one server, a purge's writes go a few keys a round
// trip (SetMulti 4, RewriteMeta 8), so that hits wait behind at most that
// many, SetMulti's in one command (a script, or a DEL when the
// ttl is under 1 ms). Through a cluster client: TestPurgeUnitsCluster.
func TestPurgeUnits(t *testing.T) {
	c := standalone.client(t)
	hook := &pipeSizes{}
	c.AddHook(hook)
	s := newStore(t, c, redis.Options{})
	ctx := context.Background()
	const n = 40
	keys := setKeys(t, s, n)

	hook.take()
	ts := &larder.Entry{Kind: larder.KindTombstone, Nonce: "t1"}
	if err := s.SetMulti(ctx, keys[:n/2], ts, time.Hour); err != nil {
		t.Fatal(err)
	}
	checkUnits(t, "SetMulti", hook.take(), n/2, setMultiUnit)
	for _, k := range keys[:n/2] {
		if e, err := s.Get(ctx, k); err != nil || e.Nonce != "t1" {
			t.Fatalf("%s after SetMulti: %v, %v", k, e, err)
		}
		if ttl := c.PTTL(ctx, s.Key(k)).Val(); ttl < 59*time.Minute || ttl > time.Hour {
			t.Fatalf("%s after SetMulti: PTTL %v, want about an hour", k, ttl)
		}
	}
	// A ttl under Redis's millisecond deletes, as Set does.
	if err := s.SetMulti(ctx, keys[:n/2], ts, time.Microsecond); err != nil {
		t.Fatal(err)
	}
	checkUnits(t, "SetMulti (deleting)", hook.take(), n/2, setMultiUnit)
	for _, k := range keys[:n/2] {
		if _, err := s.Get(ctx, k); !errors.Is(err, larder.ErrNotFound) {
			t.Fatalf("%s after SetMulti with a ttl of 1µs: %v", k, err)
		}
	}

	lens := make(map[string]int64)
	for _, k := range keys[n/2:] {
		lens[k] = c.StrLen(ctx, s.Key(k)).Val()
	}
	hook.take()
	rewriteStale(t, s, keys[n/2:])
	// Two round trips per unit: the heads read (one script call), the
	// heads written (one script call).
	sizes := hook.take()
	// The new heads, whose lifetime is shorter, take the old heads' room
	// (larder.AppendEntryMetaPadded): the bodies stay where they were.
	for _, k := range keys[n/2:] {
		if got := c.StrLen(ctx, s.Key(k)).Val(); got != lens[k] {
			t.Errorf("%s: %d bytes after RewriteMeta, %d before", k, got, lens[k])
		}
	}
	var reads, writes []int
	for i := 0; i+1 < len(sizes); i += 2 {
		reads, writes = append(reads, sizes[i]), append(writes, sizes[i+1])
	}
	checkUnits(t, "RewriteMeta's reads", reads, n/2, rewriteMetaUnit)
	checkUnits(t, "RewriteMeta's writes", writes, n/2, rewriteMetaUnit)
}

// TestPurgeUnitsCluster: through a cluster client, SetMulti and
// RewriteMeta write to one node at a time, 4 and 8 keys a round trip, through
// the node's own client (the cluster client sends nothing).
func TestPurgeUnitsCluster(t *testing.T) {
	c := cluster.client(t).(*goredis.ClusterClient)
	ctx := context.Background()
	nodes := &pipeSizes{}
	if err := c.ForEachMaster(ctx, func(_ context.Context, m *goredis.Client) error {
		m.AddHook(nodes)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	whole := &pipeSizes{}
	c.AddHook(whole)
	s := newStore(t, c, redis.Options{})
	const n = 200 // some 33 keys a node for each call
	keys := setKeys(t, s, n)

	nodes.take()
	whole.take()
	ts := &larder.Entry{Kind: larder.KindTombstone, Nonce: "t1"}
	if err := s.SetMulti(ctx, keys[:n/2], ts, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := whole.take(); len(got) > 0 {
		t.Fatalf("SetMulti sent pipelines of %v commands through the cluster client", got)
	}
	checkUnits(t, "SetMulti", nodes.take(), n/2, setMultiUnit)
	for _, k := range keys[:n/2] {
		if e, err := s.Get(ctx, k); err != nil || e.Nonce != "t1" {
			t.Fatalf("%s after SetMulti: %v, %v", k, e, err)
		}
	}
	nodes.take()
	whole.take()

	rewriteStale(t, s, keys[n/2:])
	if got := whole.take(); len(got) > 0 {
		t.Fatalf("RewriteMeta sent pipelines of %v commands through the cluster client", got)
	}
	// The heads read and the scripts (one a key: each in a slot of its
	// own), 8 at most a pipeline.
	checkUnits(t, "RewriteMeta", nodes.take(), n, rewriteMetaUnit)
}

// setKeys stores n entries and returns their keys.
func setKeys(t *testing.T, s *redis.Store, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "http://example.com/unit/" + strconv.Itoa(i)
		if err := s.Set(context.Background(), keys[i], entry("body "+strconv.Itoa(i), "n"+strconv.Itoa(i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// rewriteStale rewrites the entries under keys with a lifetime of 0 and
// checks that they are.
func rewriteStale(t *testing.T, s *redis.Store, keys []string) {
	t.Helper()
	ctx := context.Background()
	retry, err := s.RewriteMeta(ctx, keys, func(_ string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool) {
		nh := *h
		nh.Nonce, nh.Lifetime = h.Nonce+"s", 0
		return nh, time.Hour, true
	})
	if err != nil || len(retry) > 0 {
		t.Fatalf("RewriteMeta: retry %v, %v", retry, err)
	}
	for _, k := range keys {
		e, err := s.Get(ctx, k)
		if err != nil || e.Lifetime != 0 {
			t.Fatalf("%s after RewriteMeta: %v, %v", k, e, err)
		}
	}
}

// checkUnits fails unless sizes, the commands of each pipeline of a call
// over n keys, cover the n keys with pipelines of at most, and some of
// exactly, max commands.
func checkUnits(t *testing.T, what string, sizes []int, n, most int) {
	t.Helper()
	total, largest := 0, 0
	for _, s := range sizes {
		total += s
		largest = max(largest, s)
	}
	if total != n || largest != most {
		t.Fatalf("%s of %d keys sent pipelines of %v commands, want at most %d each (and %d in all)", what, n, sizes, most, n)
	}
}

// TestSetMultiAllocs: on one server, SetMulti's allocations do not grow by
// a command's worth a key (a Cmd, its arguments, the key string): a purge
// by tag writes 100,000 tombstones, and what they leave the collector
// shows in the p99 of the hits served meanwhile.
func TestSetMultiAllocs(t *testing.T) {
	s := newStore(t, standalone.client(t), redis.Options{})
	ctx := context.Background()
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = "http://example.com/allocs/" + strconv.Itoa(i)
	}
	ts := &larder.Entry{Kind: larder.KindTombstone, Nonce: "t1"}
	perKey := testing.AllocsPerRun(20, func() {
		if err := s.SetMulti(ctx, keys, ts, time.Hour); err != nil {
			t.Fatal(err)
		}
	}) / float64(len(keys))
	t.Logf("%.2f allocations a key", perKey)
	if perKey > 3.5 { // 2.88 on 2026-12-01: a unit of 4 keys makes 11.5
		t.Errorf("SetMulti makes %.2f allocations a key, want at most 3.5", perKey)
	}
}
