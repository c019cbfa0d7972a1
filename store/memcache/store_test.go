package memcache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gm "github.com/bradfitz/gomemcache/memcache"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memcache"
	"github.com/larder-cache/larder/store/storetest"
)

// TestConformance runs the conformance suite on the servers of
// LARDER_TEST_MEMCACHE, each subtest with a prefix of its own. Their item
// size limit decides MaxValueSize; with memcached's default (-I 1m) the
// suite's 4 MiB entry cannot be kept, and that one subtest is skipped
// (TestConformanceLargeItems runs it on a server with room, and
// TestOversize checks what happens instead).
func TestConformance(t *testing.T) {
	addrs := servers(t)
	limit := itemSizeMax(t, addrs)
	storetest.Run(t, func(t *testing.T) larder.Store {
		if strings.HasSuffix(t.Name(), "/LargeValue") && limit-memcache.ItemOverhead < 4<<20+1024 {
			t.Skipf("the servers' item size limit is %d bytes (memcached -I): a 4 MiB entry is skipped by design, not stored (see TestOversize; TestConformanceLargeItems runs this on memcached -I 8m)", limit)
		}
		return newStore(t, addrs, memcache.Options{MaxValueSize: limit - memcache.ItemOverhead})
	})
}

// TestConformanceLargeItems runs the whole suite, the 4 MiB entry included,
// on a memcached of its own started with -I 8m.
func TestConformanceLargeItems(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a memcached and waits for real ttls")
	}
	addr := startMemcached(t, "-I", "8m")
	if got := itemSizeMax(t, []string{addr}); got != 8<<20 {
		t.Fatalf("item_size_max = %d, want 8 MiB", got)
	}
	storetest.Run(t, func(t *testing.T) larder.Store {
		return newStore(t, []string{addr}, memcache.Options{MaxValueSize: 8<<20 - memcache.ItemOverhead})
	})
}

// sized returns an entry whose encoding is exactly n bytes.
func sized(t testing.TB, n int, nonce string) *larder.Entry {
	t.Helper()
	e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Header: http.Header{"X-A": {"b"}}, Nonce: nonce, Body: []byte{}}
	v, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	e.Body = bytes.Repeat([]byte("x"), n-len(v))
	if v, _ := e.MarshalBinary(); len(v) != n {
		t.Fatalf("encoding of %d bytes, want %d", len(v), n)
	}
	return e
}

func mustGet(t testing.TB, s larder.Store, key string) *larder.Entry {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%.40q): %v", key, err)
	}
	return e
}

func mustMiss(t testing.TB, s larder.Store, key string) {
	t.Helper()
	if e, err := s.Get(context.Background(), key); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get(%.40q) = %v, %v; want ErrNotFound", key, e, err)
	}
}

func mustSet(t testing.TB, s larder.Store, key string, e *larder.Entry, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, e, ttl); err != nil {
		t.Fatalf("Set(%.40q): %v", key, err)
	}
}

// TestOversize: an entry larger than MaxValueSize is not stored, the entry
// stored before it is removed, Set returns nil, and Skipped counts it; one
// of exactly MaxValueSize is stored. With the defaults and the longest
// prefix, the largest value fits memcached's default item size limit.
func TestOversize(t *testing.T) {
	addrs := servers(t)
	ctx := context.Background()

	t.Run("MaxValueSize", func(t *testing.T) {
		s := newStore(t, addrs, memcache.Options{MaxValueSize: 4096})
		mustSet(t, s, "k", sized(t, 100, ""), time.Hour)
		mustSet(t, s, "k", sized(t, 4097, ""), time.Hour)
		mustMiss(t, s, "k")
		if n := s.Skipped(); n != 1 {
			t.Fatalf("Skipped = %d after one oversize Set, want 1", n)
		}
		// A body alone larger than the bound (no encoding needed to tell).
		big := sized(t, 100, "")
		big.Body = make([]byte, 1<<20)
		mustSet(t, s, "k2", big, time.Hour)
		mustMiss(t, s, "k2")
		mustSet(t, s, "k", sized(t, 4096, ""), time.Hour)
		if got := mustGet(t, s, "k"); len(got.Body) != len(sized(t, 4096, "").Body) {
			t.Fatalf("entry of exactly MaxValueSize: body of %d bytes", len(got.Body))
		}
		if n := s.Skipped(); n != 2 {
			t.Fatalf("Skipped = %d, want 2", n)
		}
	})

	t.Run("DefaultFitsServer", func(t *testing.T) {
		if limit := itemSizeMax(t, addrs); limit != 1<<20 {
			t.Skipf("the servers' item size limit is %d, not memcached's default", limit)
		}
		// The longest prefix: the longest memcached key the store makes.
		p := prefix(t)
		p += strings.Repeat("p", memcache.MaxPrefixLen-len(p))
		s := newStore(t, addrs, memcache.Options{Prefix: p})
		for i := range 10 { // keys on both servers
			k := fmt.Sprint("k", i)
			mustSet(t, s, k, sized(t, memcache.DefaultMaxValueSize, ""), time.Hour)
			mustGet(t, s, k)
		}
		mustSet(t, s, "k0", sized(t, memcache.DefaultMaxValueSize+1, ""), time.Hour)
		mustMiss(t, s, "k0")
		if n := s.Skipped(); n != 1 {
			t.Fatalf("Skipped = %d, want 1", n)
		}
	})

	t.Run("ServerRefuses", func(t *testing.T) {
		// MaxValueSize above the server's limit: the server refuses, and
		// that counts as a skip too, never as an error.
		limit := itemSizeMax(t, addrs)
		s := newStore(t, addrs, memcache.Options{MaxValueSize: 4 * limit})
		mustSet(t, s, "k", sized(t, 100, ""), time.Hour)
		mustSet(t, s, "k", sized(t, 2*limit, ""), time.Hour)
		mustMiss(t, s, "k")
		ok, err := s.SetIf(ctx, "k", sized(t, 2*limit, ""), time.Hour, "")
		if ok || err != nil {
			t.Fatalf("SetIf of a value the server refuses = %v, %v; want false, nil", ok, err)
		}
		mustMiss(t, s, "k")
		if n := s.Skipped(); n != 2 {
			t.Fatalf("Skipped = %d, want 2", n)
		}
		// The store works on after the connections the refusals closed.
		mustSet(t, s, "k", sized(t, 100, "g1"), time.Hour)
		mustGet(t, s, "k")
		ok, err = s.SetIf(ctx, "k", sized(t, 2*limit, ""), time.Hour, "g1")
		if ok || err != nil {
			t.Fatalf("SetIf over g1 of a value the server refuses = %v, %v; want false, nil", ok, err)
		}
		mustMiss(t, s, "k") // removed, as SetIf does when the comparison holds
	})

	t.Run("SetIf", func(t *testing.T) {
		s := newStore(t, addrs, memcache.Options{MaxValueSize: 4096})
		mustSet(t, s, "k", sized(t, 100, "g1"), time.Hour)
		// The comparison fails: nothing changes, nothing is counted.
		if ok, err := s.SetIf(ctx, "k", sized(t, 5000, "g2"), time.Hour, "other"); ok || err != nil {
			t.Fatalf("SetIf = %v, %v", ok, err)
		}
		if got := mustGet(t, s, "k"); got.Nonce != "g1" {
			t.Fatalf("entry after a failed comparison: nonce %q", got.Nonce)
		}
		if n := s.Skipped(); n != 0 {
			t.Fatalf("Skipped = %d, want 0", n)
		}
		// It holds: the entry is removed and the skip counted.
		if ok, err := s.SetIf(ctx, "k", sized(t, 5000, "g2"), time.Hour, "g1"); ok || err != nil {
			t.Fatalf("SetIf = %v, %v", ok, err)
		}
		mustMiss(t, s, "k")
		if n := s.Skipped(); n != 1 {
			t.Fatalf("Skipped = %d, want 1", n)
		}
		// ttl ≤ 0 removes too, and is no skip.
		mustSet(t, s, "k", sized(t, 100, "g3"), time.Hour)
		if ok, err := s.SetIf(ctx, "k", sized(t, 100, "g4"), 0, "g3"); ok || err != nil {
			t.Fatalf("SetIf with ttl 0 = %v, %v", ok, err)
		}
		mustMiss(t, s, "k")
		if n := s.Skipped(); n != 1 {
			t.Fatalf("Skipped = %d, want 1", n)
		}
	})
}

// TestKeys: larder keys with NUL, spaces, control bytes and of 10 KiB are
// kept apart, also ones that differ only in their last byte, through Get,
// GetMulti, SetIf and Delete.
func TestKeys(t *testing.T) {
	s := newStore(t, servers(t), memcache.Options{})
	ctx := context.Background()
	long := strings.Repeat("https://example.com/ü?", 500)[:10<<10]
	if len(long) != 10<<10 {
		t.Fatalf("long key of %d bytes", len(long))
	}
	keys := []string{
		"GET https://example.com/a\x00accept-language=en\x00",
		"GET https://example.com/a\x00accept-language=fr\x00",
		"with space", "with  space", " ", "\x00", "\x00\x00", "\r\n\t\x7f\x1b",
		long, long[:len(long)-1] + "r", "r" + long[1:], long + "\x00",
	}
	for i, k := range keys {
		mustSet(t, s, k, sized(t, 200+i, fmt.Sprint("n", i)), time.Hour)
	}
	for i, k := range keys {
		if got := mustGet(t, s, k); got.Nonce != fmt.Sprint("n", i) {
			t.Fatalf("key %d (%.30q): got the entry of %q", i, k, got.Nonce)
		}
	}
	es, err := s.GetMulti(ctx, append(keys, "absent", keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if es[i] == nil || es[i].Nonce != fmt.Sprint("n", i) {
			t.Fatalf("GetMulti: key %d: %v", i, es[i])
		}
	}
	if es[len(keys)] != nil || es[len(keys)+1] == nil || es[len(keys)+1].Nonce != "n0" {
		t.Fatalf("GetMulti: absent %v, repeated %v", es[len(keys)], es[len(keys)+1])
	}
	if ok, err := s.SetIf(ctx, long, sized(t, 300, "m"), time.Hour, "n8"); !ok || err != nil {
		t.Fatalf("SetIf on the 10 KiB key = %v, %v", ok, err)
	}
	if err := s.Delete(ctx, long+"\x00"); err != nil {
		t.Fatal(err)
	}
	mustMiss(t, s, long+"\x00")
	if got := mustGet(t, s, long); got.Nonce != "m" {
		t.Fatalf("10 KiB key after SetIf: %q", got.Nonce)
	}
	if got := mustGet(t, s, long[:len(long)-1]+"r"); got.Nonce != "n9" {
		t.Fatalf("neighbour of the 10 KiB key: %q", got.Nonce)
	}
}

// TestTTL: a ttl under a second is kept (rounded up), one past memcached's
// 30-day limit for relative times is kept too (sent as an absolute time),
// and ttl ≤ 0 removes the entry.
func TestTTL(t *testing.T) {
	s := newStore(t, servers(t), memcache.Options{})
	for _, ttl := range []time.Duration{time.Nanosecond, 999 * time.Millisecond, 30 * 24 * time.Hour,
		30*24*time.Hour + time.Second, 31 * 24 * time.Hour, 400 * 24 * time.Hour} {
		k := ttl.String()
		mustSet(t, s, k, sized(t, 100, k), ttl)
		if got := mustGet(t, s, k); got.Nonce != k {
			t.Fatalf("ttl %v: %q", ttl, got.Nonce)
		}
		if ok, err := s.SetIf(context.Background(), k, sized(t, 100, "2"), ttl, k); !ok || err != nil {
			t.Fatalf("SetIf with ttl %v = %v, %v", ttl, ok, err)
		}
		mustGet(t, s, k)
		mustSet(t, s, k, sized(t, 100, k), -time.Second)
		mustMiss(t, s, k)
	}
}

// TestTTLNotEarly: memcached's clock ticks once a second, yet an entry is
// there until its ttl has run out, whatever the phase of that clock when it
// was set; and it is gone within 2 s after.
func TestTTLNotEarly(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real ttls")
	}
	s := newStore(t, servers(t), memcache.Options{})
	const ttl = time.Second
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 200 * time.Millisecond) // five phases of the tick
			k := fmt.Sprint("k", i)
			set := time.Now()
			if err := s.Set(context.Background(), k, sized(t, 100, k), ttl); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(ttl - 50*time.Millisecond - time.Since(set))
			if _, err := s.Get(context.Background(), k); err != nil {
				t.Errorf("entry %d with a ttl of %v gone after %v: %v", i, ttl, time.Since(set), err)
			}
			time.Sleep(ttl + 2*time.Second - time.Since(set))
			if _, err := s.Get(context.Background(), k); !errors.Is(err, larder.ErrNotFound) {
				t.Errorf("entry %d with a ttl of %v still there after %v: %v", i, ttl, time.Since(set), err)
			}
		})
	}
	wg.Wait()
}

// TestSetIfAcrossStores: stores on separate clients (separate processes,
// as far as memcached can tell) racing SetIf on the same keys with the same
// generation: exactly one stores each round, and a losing writer's entry is
// never what remains.
func TestSetIfAcrossStores(t *testing.T) {
	addrs := servers(t)
	p := prefix(t)
	const writers, rounds = 8, 40
	stores := make([]*memcache.Store, writers)
	for i := range stores {
		stores[i] = newStore(t, addrs, memcache.Options{Prefix: p})
	}
	ctx := context.Background()
	for r := range rounds {
		key := fmt.Sprint("race/", r%4) // keys reused: gen "" only in the first rounds
		prev := ""
		if r >= 4 {
			prev = mustGet(t, stores[0], key).Nonce
		}
		var (
			wg     sync.WaitGroup
			wins   atomic.Int32
			winner atomic.Value
			start  = make(chan struct{})
		)
		for w, s := range stores {
			wg.Go(func() {
				<-start
				n := fmt.Sprintf("r%d-w%d", r, w)
				ok, err := s.SetIf(ctx, key, sized(t, 120, n), time.Hour, prev)
				if err != nil {
					t.Errorf("SetIf: %v", err)
				}
				if ok {
					wins.Add(1)
					winner.Store(n)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d SetIf stored, want exactly 1", r, wins.Load())
		}
		if got := mustGet(t, stores[1], key).Nonce; got != winner.Load() {
			t.Fatalf("round %d: %q stored, but %q won", r, got, winner.Load())
		}
	}
}

// TestGetMultiServers: GetMulti reads keys held by both servers in one
// call, and each server holds some of them: the keys are spread.
func TestGetMultiServers(t *testing.T) {
	addrs := servers(t)
	if len(addrs) < 2 {
		t.Skip("needs two memcached servers")
	}
	p := prefix(t)
	s := newStore(t, addrs, memcache.Options{Prefix: p})
	var keys []string
	for i := range 64 {
		k := fmt.Sprint("spread/", i)
		keys = append(keys, k)
		if i%2 == 0 {
			mustSet(t, s, k, sized(t, 100, k), time.Hour)
		}
	}
	es, err := s.GetMulti(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if (i%2 == 0) != (e != nil) || e != nil && e.Nonce != keys[i] {
			t.Fatalf("GetMulti: key %d: %v", i, e)
		}
	}
	// Each server alone, with the same prefix, finds only its share.
	for _, a := range addrs {
		one := newStore(t, []string{a}, memcache.Options{Prefix: p})
		es, err := one.GetMulti(context.Background(), keys)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e != nil {
				n++
			}
		}
		if n == 0 || n == 32 {
			t.Fatalf("server %s holds %d of the 32 entries; want a share", a, n)
		}
	}
}

// TestServerDown: with nothing listening, calls fail with an error that is
// not ErrNotFound, within the timeout.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := memcache.NewFromServers([]string{addr}, memcache.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	start := time.Now()
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "k")
	checks["Set"] = s.Set(ctx, "k", sized(t, 100, ""), time.Hour)
	checks["Delete"] = s.Delete(ctx, "k")
	_, checks["GetMulti"] = s.GetMulti(ctx, []string{"a", "b"})
	_, checks["SetIf"] = s.SetIf(ctx, "k", sized(t, 100, ""), time.Hour, "g")
	checks["Ping"] = s.Ping(ctx)
	for name, err := range checks {
		if err == nil || errors.Is(err, larder.ErrNotFound) {
			t.Errorf("%s with the server down: %v", name, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("calls took %v", d)
	}
}

// TestBadItem: an item under a store key that is not an encoded entry (a
// foreign writer, a future format, a truncated value) is an error, not a
// miss, for the Get or GetMulti that finds it, which deletes it (the next
// read is a miss); SetIf over it is an error; Set replaces it.
func TestBadItem(t *testing.T) {
	addrs := servers(t)
	p := prefix(t)
	s := newStore(t, addrs, memcache.Options{Prefix: p})
	ctx := context.Background()
	mustSet(t, s, "k", sized(t, 100, "g"), time.Hour)
	// Overwrite the item, through a client of its own, with bytes that are
	// not an entry.
	c := gm.New(addrs...)
	defer c.Close()
	key := findKey(t, c, "k", p)
	bad := func() {
		t.Helper()
		if err := c.Set(&gm.Item{Key: key, Value: []byte("not an entry")}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(how string) {
		t.Helper()
		if _, err := c.Get(key); !errors.Is(err, gm.ErrCacheMiss) {
			t.Errorf("after the %s of a bad item: %v, want it gone", how, err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
			t.Errorf("Get after the %s of a bad item: %v, want ErrNotFound", how, err)
		}
	}
	bad()
	if _, err := s.Get(ctx, "k"); err == nil || errors.Is(err, larder.ErrNotFound) || !errors.Is(err, larder.ErrEntryFormat) {
		t.Fatalf("Get of a bad item: %v", err)
	}
	gone("Get")
	bad()
	if _, err := s.GetMulti(ctx, []string{"k"}); !errors.Is(err, larder.ErrEntryFormat) {
		t.Fatalf("GetMulti of a bad item: %v", err)
	}
	gone("GetMulti")
	bad()
	if ok, err := s.SetIf(ctx, "k", sized(t, 100, "h"), time.Hour, "g"); ok || !errors.Is(err, larder.ErrEntryFormat) {
		t.Fatalf("SetIf over a bad item = %v, %v", ok, err)
	}
	mustSet(t, s, "k", sized(t, 100, "h"), time.Hour)
	mustGet(t, s, "k")
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// findKey returns the memcached key the store uses for key: Prefix and the
// base64url SHA-256, as the package doc says.
func findKey(t *testing.T, c *gm.Client, key, p string) string {
	t.Helper()
	k := p + hashKey(key)
	if _, err := c.Get(k); err != nil {
		t.Fatalf("no item under %q (the documented key): %v", k, err)
	}
	return k
}

// TestContext: with a context that is done, no call reaches memcached.
func TestContext(t *testing.T) {
	s := newStore(t, servers(t), memcache.Options{})
	mustSet(t, s, "k", sized(t, 100, "g"), time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Set(ctx, "k", sized(t, 100, "h"), time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set: %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete: %v", err)
	}
	if ok, err := s.SetIf(ctx, "k", sized(t, 100, "h"), time.Hour, "g"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("SetIf: %v, %v", ok, err)
	}
	if _, err := s.GetMulti(ctx, []string{"k"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetMulti: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get: %v", err)
	}
	if got := mustGet(t, s, "k"); got.Nonce != "g" {
		t.Fatalf("entry changed by calls with a cancelled context: %q", got.Nonce)
	}
}

func TestNewOptions(t *testing.T) {
	for _, o := range []memcache.Options{
		{MaxValueSize: -1}, {Timeout: -1}, {MaxIdleConns: -1},
		{Prefix: "with space"}, {Prefix: "ctl\x01"}, {Prefix: "ü"},
		{Prefix: strings.Repeat("p", memcache.MaxPrefixLen+1)},
	} {
		if _, err := memcache.NewFromServers([]string{"127.0.0.1:1"}, o); err == nil {
			t.Errorf("NewFromServers with %+v: no error", o)
		}
	}
	if _, err := memcache.NewFromServers(nil, memcache.Options{}); err == nil {
		t.Error("NewFromServers with no servers: no error")
	}
	if _, err := memcache.New(nil, memcache.Options{}); err == nil {
		t.Error("New with a nil client: no error")
	}
	c := gm.New("127.0.0.1:1")
	if _, err := memcache.New(c, memcache.Options{}); err != nil || c.Timeout != 0 || c.MaxIdleConns != 0 {
		t.Errorf("New with zero options: %v; client Timeout %v, MaxIdleConns %d (want them untouched)", err, c.Timeout, c.MaxIdleConns)
	}
	if _, err := memcache.New(c, memcache.Options{Timeout: time.Second, MaxIdleConns: 9}); err != nil || c.Timeout != time.Second || c.MaxIdleConns != 9 {
		t.Errorf("New with options: %v; client Timeout %v, MaxIdleConns %d", err, c.Timeout, c.MaxIdleConns)
	}
	s, err := memcache.NewFromServers([]string{"127.0.0.1:1"}, memcache.Options{Prefix: strings.Repeat("p", memcache.MaxPrefixLen)})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Client(); c.Timeout != memcache.DefaultTimeout || c.MaxIdleConns != memcache.DefaultMaxIdleConns {
		t.Errorf("NewFromServers defaults: Timeout %v, MaxIdleConns %d", c.Timeout, c.MaxIdleConns)
	}
}
