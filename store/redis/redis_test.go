package redis_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/cachekey"
	"github.com/larder-cache/larder/store/redis"
	"github.com/larder-cache/larder/store/storetest"
)

// TestConformance runs the conformance suite, capabilities included, on a
// standalone Redis and on a Redis Cluster.
func TestConformance(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			c := sv.client(t)
			storetest.Run(t, func(t *testing.T) larder.Store {
				return newStore(t, c, redis.Options{})
			})
		})
	}
}

func entry(body, nonce string) *larder.Entry {
	return &larder.Entry{
		Kind:         larder.KindResponse,
		Status:       200,
		Header:       http.Header{"Content-Type": {"text/plain"}},
		Body:         []byte(body),
		ResponseTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Lifetime:     time.Minute,
		Nonce:        nonce,
	}
}

func mustGetBody(t *testing.T, s larder.Store, key, want string) {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(e.Body) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, e.Body, want)
	}
}

func mustMiss(t *testing.T, s larder.Store, key string) {
	t.Helper()
	if e, err := s.Get(context.Background(), key); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", key, e, err)
	}
}

// TestOptions: the zero Options work; a bad prefix or size is refused.
func TestOptions(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer c.Close()
	s, err := redis.New(c, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := s.Key("https://example.com/a"); !strings.HasPrefix(k, redis.DefaultPrefix+"{") {
		t.Errorf("Key with the zero Options = %q, want the default prefix %q", k, redis.DefaultPrefix)
	}
	for _, o := range []redis.Options{
		{Prefix: "a{b"}, {Prefix: "}"}, {MaxValueSize: -1}, {MaxValueSize: redis.MaxMaxValueSize + 1},
	} {
		if _, err := redis.New(c, o); err == nil {
			t.Errorf("New with %+v: no error", o)
		}
	}
	if _, err := redis.New(nil, redis.Options{}); err == nil {
		t.Error("New with a nil client: no error")
	}
	if _, err := redis.New(c, redis.Options{MaxValueSize: redis.MaxMaxValueSize}); err != nil {
		t.Errorf("New with MaxValueSize %d: %v", redis.MaxMaxValueSize, err)
	}
}

// TestKeyLayout: prefix, hash tag of the primary key, the larder key.
func TestKeyLayout(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer c.Close()
	s, err := redis.New(c, redis.Options{Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	const primary = "https://example.com/a?b=1"
	variant := cachekey.Variant(primary, "n1~n0", "", "accept-language=de")
	if got, want := s.Key(primary), "p:{"+redis.Tag(primary)+"}"+primary; got != want {
		t.Errorf("Key(primary) = %q, want %q", got, want)
	}
	if tag := redis.Tag(primary); len(tag) != 16 || strings.Trim(tag, "0123456789abcdef") != "" {
		t.Errorf("Tag = %q, want 16 lowercase hex digits", tag)
	}
	if redis.Tag(variant) != redis.Tag(primary) {
		t.Errorf("a variant's tag %q differs from its primary key's %q", redis.Tag(variant), redis.Tag(primary))
	}
	if got, want := s.Key(variant), "p:{"+redis.Tag(primary)+"}"+variant; got != want {
		t.Errorf("Key(variant) = %q, want %q", got, want)
	}
	if redis.Tag("https://example.com/b") == redis.Tag(primary) {
		t.Error("two URLs share a tag")
	}
}

// TestSameSlot: in a cluster, a URL's index and its variants are in one
// slot, so one MGET reads them; GetMulti of keys of many URLs (many slots,
// on every master) works too.
func TestSameSlot(t *testing.T) {
	c := cluster.client(t)
	s := newStore(t, c, redis.Options{})
	ctx := context.Background()
	masters := map[string]bool{}
	for i := range 30 {
		primary := fmt.Sprintf("https://example.com/page/%d", i)
		variants := []string{
			cachekey.Variant(primary, "g1", "", "accept-language=de"),
			cachekey.Variant(primary, "g1", "user-hash", "accept-language=en"),
		}
		idx := &larder.Entry{Kind: larder.KindVary, VaryNames: []string{"accept-language"}, Nonce: "g1",
			Expires: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		if err := s.Set(ctx, primary, idx, time.Minute); err != nil {
			t.Fatal(err)
		}
		for j, v := range variants {
			if err := s.Set(ctx, v, entry(fmt.Sprint(i, "-", j), ""), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		slot := func(k string) int64 {
			n, err := c.ClusterKeySlot(ctx, k).Result()
			if err != nil {
				t.Fatalf("CLUSTER KEYSLOT: %v", err)
			}
			return n
		}
		want := slot(s.Key(primary))
		for _, v := range variants {
			if got := slot(s.Key(v)); got != want {
				t.Fatalf("URL %d: variant in slot %d, index in slot %d", i, got, want)
			}
		}
		// One MGET, straight to the server: no CROSSSLOT.
		vals, err := c.MGet(ctx, s.Key(primary), s.Key(variants[0]), s.Key(variants[1])).Result()
		if err != nil {
			t.Fatalf("URL %d: MGET of the index and its variants: %v", i, err)
		}
		for j, v := range vals {
			if v == nil {
				t.Fatalf("URL %d: MGET value %d is nil", i, j)
			}
		}
		es, err := s.GetMulti(ctx, []string{primary, variants[1]})
		if err != nil {
			t.Fatalf("URL %d: GetMulti: %v", i, err)
		}
		if es[0] == nil || es[0].Kind != larder.KindVary || es[1] == nil || string(es[1].Body) != fmt.Sprint(i, "-1") {
			t.Fatalf("URL %d: GetMulti = %+v", i, es)
		}
		addr, err := masterOf(ctx, c, s.Key(primary))
		if err != nil {
			t.Fatal(err)
		}
		masters[addr] = true
	}
	if len(masters) < 2 {
		t.Errorf("30 URLs on %d masters: the test does not spread over the cluster", len(masters))
	}
	// A mix of URLs, hence of slots and masters, in one GetMulti.
	keys := []string{"https://example.com/page/0", "https://example.com/page/7", "missing",
		cachekey.Variant("https://example.com/page/3", "g1", "", "accept-language=de"), "https://example.com/page/29"}
	es, err := s.GetMulti(ctx, keys)
	if err != nil {
		t.Fatalf("GetMulti across slots: %v", err)
	}
	for i, e := range es {
		if (e == nil) != (keys[i] == "missing") {
			t.Errorf("GetMulti across slots: entry %d (%q) = %+v", i, keys[i], e)
		}
	}
}

// masterOf returns the address of the master that serves key's slot.
func masterOf(ctx context.Context, c goredis.UniversalClient, key string) (string, error) {
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", err
	}
	shards, err := c.ClusterShards(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if r.Start <= slot && slot <= r.End {
				for _, n := range sh.Nodes {
					if n.Role == "master" {
						return net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10)), nil
					}
				}
			}
		}
	}
	return "", fmt.Errorf("no master serves slot %d", slot)
}

// TestValueFormat: the value is version 1, the nonce's length and the
// nonce, then Entry.MarshalBinary; it expires after the ttl given.
func TestValueFormat(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			c := sv.client(t)
			s := newStore(t, c, redis.Options{})
			ctx := context.Background()
			e := entry("hello", "gen-1~gen-0")
			if err := s.Set(ctx, "https://example.com/a", e, 90*time.Second+1500*time.Microsecond); err != nil {
				t.Fatal(err)
			}
			raw, err := c.Get(ctx, s.Key("https://example.com/a")).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			enc, err := e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			want := append([]byte{1}, binary.BigEndian.AppendUint16(nil, uint16(len(e.Nonce)))...)
			want = append(append(want, e.Nonce...), enc...)
			if !bytes.Equal(raw, want) {
				t.Fatalf("value\n%q\nwant\n%q", raw, want)
			}
			pttl, err := c.PTTL(ctx, s.Key("https://example.com/a")).Result()
			if err != nil {
				t.Fatal(err)
			}
			if pttl <= 89*time.Second || pttl > 90*time.Second+time.Millisecond {
				t.Errorf("PTTL = %v, want just under 90.001s", pttl)
			}
		})
	}
}

// TestShortTTL: a ttl under 1 ms stores nothing and removes the old entry.
func TestShortTTL(t *testing.T) {
	c := standalone.client(t)
	s := newStore(t, c, redis.Options{})
	ctx := context.Background()
	for _, ttl := range []time.Duration{0, -time.Second, 999 * time.Microsecond} {
		if err := s.Set(ctx, "k", entry("old", "g"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "k", entry("new", "g2"), ttl); err != nil {
			t.Fatalf("Set with ttl %v: %v", ttl, err)
		}
		mustMiss(t, s, "k")
		if err := s.Set(ctx, "k", entry("old", "g"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SetIf(ctx, "k", entry("new", "g2"), ttl, "g"); ok || err != nil {
			t.Fatalf("SetIf with ttl %v = %v, %v; want false, nil", ttl, ok, err)
		}
		mustMiss(t, s, "k")
	}
}

// TestMaxValueSize: an entry larger than the bound is not stored, and the
// entry it would have replaced is removed; SetIf does so only when its
// comparison holds.
func TestMaxValueSize(t *testing.T) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			c := sv.client(t)
			s := newStore(t, c, redis.Options{MaxValueSize: 1 << 20})
			ctx := context.Background()
			big := entry(strings.Repeat("x", 1<<20), "big")
			fits := entry(strings.Repeat("y", 1<<20-200), "fits")

			if err := s.Set(ctx, "k", fits, time.Minute); err != nil {
				t.Fatal(err)
			}
			mustGetBody(t, s, "k", string(fits.Body))
			if err := s.Set(ctx, "k", big, time.Minute); err != nil {
				t.Fatalf("Set of an entry over MaxValueSize: %v", err)
			}
			mustMiss(t, s, "k")

			if err := s.Set(ctx, "k", fits, time.Minute); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.SetIf(ctx, "k", big, time.Minute, "other"); ok || err != nil {
				t.Fatalf("SetIf of a big entry, wrong gen = %v, %v", ok, err)
			}
			mustGetBody(t, s, "k", string(fits.Body))
			if ok, err := s.SetIf(ctx, "k", big, time.Minute, "fits"); ok || err != nil {
				t.Fatalf("SetIf of a big entry, right gen = %v, %v; want false, nil", ok, err)
			}
			mustMiss(t, s, "k")

			// The default bound takes the cache's largest default body.
			d := newStore(t, c, redis.Options{})
			e := entry(strings.Repeat("z", larder.DefaultMaxObjectSize), "")
			e.Header["X-Filler"] = []string{strings.Repeat("h", 64<<10)}
			if err := d.Set(ctx, "max", e, time.Minute); err != nil {
				t.Fatal(err)
			}
			mustGetBody(t, d, "max", string(e.Body))
		})
	}
}

// TestForeignValue: a value under the prefix that the store did not write
// (another version, truncated, altered) is an error wrapping
// larder.ErrEntryFormat for the read that finds it, which deletes it (the
// next read is a miss), and SetIf does not overwrite it.
func TestForeignValue(t *testing.T) {
	c := standalone.client(t)
	s := newStore(t, c, redis.Options{})
	ctx := context.Background()
	gone := func(how, v string) {
		t.Helper()
		if n, err := c.Exists(ctx, s.Key("k")).Result(); err != nil || n != 0 {
			t.Errorf("%s of %q: the value is still there (%d, %v)", how, v, n, err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
			t.Errorf("Get after the %s of %q: %v, want ErrNotFound", how, v, err)
		}
	}
	for _, v := range []string{"x", "\x01\x00", "\x01\x00\x05abc", "\x02\x00\x00LRDE", "\x01\x00\x00garbage"} {
		if err := c.Set(ctx, s.Key("k"), v, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrEntryFormat) {
			t.Errorf("Get of %q: %v, want ErrEntryFormat", v, err)
		}
		gone("Get", v)
		if err := c.Set(ctx, s.Key("k"), v, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetMulti(ctx, []string{"k", "other"}); !errors.Is(err, larder.ErrEntryFormat) {
			t.Errorf("GetMulti of %q: %v, want ErrEntryFormat", v, err)
		}
		gone("GetMulti", v)
	}
	for _, v := range []string{"x", "\x02\x00\x00"} {
		if err := c.Set(ctx, s.Key("k"), v, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		ok, err := s.SetIf(ctx, "k", entry("e", "g"), time.Minute, "")
		if ok || !errors.Is(err, larder.ErrEntryFormat) {
			t.Errorf("SetIf over %q = %v, %v; want false and ErrEntryFormat", v, ok, err)
		}
		if got, _ := c.Get(ctx, s.Key("k")).Result(); got != v {
			t.Errorf("SetIf over %q changed it to %q", v, got)
		}
	}
	// A key of another type.
	if err := c.Del(ctx, s.Key("h")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, s.Key("h"), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	c.Expire(ctx, s.Key("h"), time.Minute)
	if _, err := s.Get(ctx, "h"); err == nil || errors.Is(err, larder.ErrNotFound) {
		t.Errorf("Get of a hash: %v, want a failure", err)
	}
	if _, err := s.SetIf(ctx, "h", entry("e", "g"), time.Minute, ""); err == nil {
		t.Error("SetIf over a hash: no error")
	}
}

// TestEveryKeyExpires: whatever the store and the cache write has an
// expiry, tombstones and Vary indexes included.
func TestEveryKeyExpires(t *testing.T) {
	c := standalone.client(t)
	s := newStore(t, c, redis.Options{})
	ctx := context.Background()
	if err := s.Set(ctx, "a", entry("a", "g"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetIf(ctx, "b", entry("b", "g"), time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	cache := larder.New(s)
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Surrogate-Key", "t "+r.Header.Get("Accept-Language")) // the tag index's keys
		w.Write([]byte("hello " + r.Header.Get("Accept-Language")))
	}))
	for _, lang := range []string{"de", "en", "fr"} {
		serve(h, "GET", "/v", "Accept-Language", lang)
	}
	serve(h, "GET", "/plain")
	cache.Close()
	serve(h, "POST", "/v")                                     // a tombstone
	if err := cache.PurgeTags(ctx, "de", "none"); err != nil { // purge records
		t.Fatal(err)
	}
	cache.Close()
	prefix, _, _ := strings.Cut(s.Key(""), "{")
	keys := keysUnder(t, c, prefix)
	if len(keys) < 8 {
		t.Fatalf("%d keys under the prefix: %q", len(keys), keys)
	}
	for _, k := range keys {
		pttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pttl <= 0 {
			t.Errorf("key %q has no expiry (PTTL %v)", k, pttl)
		}
	}
}

// TestDeadline: a call honours its context's deadline on a server that
// never answers, and a done context fails at once.
func TestDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() { // accepts, reads, never answers
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
		}
	})
	defer func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, cn := range conns {
			cn.Close()
		}
		mu.Unlock()
	}()
	c := goredis.NewClient(&goredis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true})
	defer c.Close()
	s, err := redis.New(c, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(ctx context.Context) error{
		"Get":    func(ctx context.Context) error { _, err := s.Get(ctx, "k"); return err },
		"Set":    func(ctx context.Context) error { return s.Set(ctx, "k", entry("x", "g"), time.Minute) },
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, "k") },
		"SetIf": func(ctx context.Context) error {
			_, err := s.SetIf(ctx, "k", entry("x", "g"), time.Minute, "")
			return err
		},
		"GetMulti": func(ctx context.Context) error {
			_, err := s.GetMulti(ctx, []string{"k", "https://example.com/other"})
			return err
		},
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		d := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
			t.Errorf("%s on a server that does not answer: %v, want a deadline error", name, err)
		}
		if d > time.Second {
			t.Errorf("%s on a server that does not answer took %v, with a 100 ms deadline", name, d)
		}

		done, cancel := context.WithCancel(context.Background())
		cancel()
		start = time.Now()
		if err := call(done); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("%s with a cancelled context took %v", name, d)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
