package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

// TestParseRedisStore: the Redis --store URLs, parsed into go-redis's
// options and the store's.
func TestParseRedisStore(t *testing.T) {
	type want struct {
		kind       string // simple, cluster, failover
		addrs      []string
		user, pass string
		db         int
		tls        bool
		prefix     string
		maxValue   int
		master     string
		sentUser   string
		sentPass   string
		dial       time.Duration
		poolSize   int
	}
	tests := []struct {
		url  string
		want want
	}{
		{"redis://localhost", want{kind: "simple", addrs: []string{"localhost:6379"}}},
		{"redis://", want{kind: "simple", addrs: []string{"localhost:6379"}}},
		{"REDIS://127.0.0.1:16390/2", want{kind: "simple", addrs: []string{"127.0.0.1:16390"}, db: 2}},
		{"redis://:s3cret@h:1234/3?dial_timeout=2s&prefix=shop:&max_value_size=1MiB",
			want{kind: "simple", addrs: []string{"h:1234"}, pass: "s3cret", db: 3, dial: 2 * time.Second, prefix: "shop:", maxValue: 1 << 20}},
		{"redis://alice:p%40ss@h/0?pool_size=7", want{kind: "simple", addrs: []string{"h:6379"}, user: "alice", pass: "p@ss", poolSize: 7}},
		{"rediss://h:6380", want{kind: "simple", addrs: []string{"h:6380"}, tls: true}},
		{"redis://[::1]:7000/1", want{kind: "simple", addrs: []string{"[::1]:7000"}, db: 1}},
		{"redis+cluster://h1:7000,h2:7001", want{kind: "cluster", addrs: []string{"h1:7000", "h2:7001"}}},
		{"redis+cluster://h1:7000", want{kind: "cluster", addrs: []string{"h1:7000"}}},
		{"redis+cluster://:pw@[::1]:7000,[::1]:7001,h3:7002/?pool_size=5&prefix=p:",
			want{kind: "cluster", addrs: []string{"[::1]:7000", "[::1]:7001", "h3:7002"}, pass: "pw", poolSize: 5, prefix: "p:"}},
		{"rediss+cluster://u:pw@h:1", want{kind: "cluster", addrs: []string{"h:1"}, user: "u", pass: "pw", tls: true}},
		{"redis+sentinel://h:26379/mymaster", want{kind: "failover", addrs: []string{"h:26379"}, master: "mymaster"}},
		{"redis+sentinel://s1,s2:26380,[::1]", want{kind: "failover", addrs: []string{"s1:26379", "s2:26380", "[::1]:26379"}, master: "mymaster"}},
		{"redis+sentinel://u:pw@s1:26379/main/4?sentinel_username=su&sentinel_password=sp&dial_timeout=1",
			want{kind: "failover", addrs: []string{"s1:26379"}, master: "main", db: 4, user: "u", pass: "pw", sentUser: "su", sentPass: "sp", dial: time.Second}},
		{"rediss+sentinel://s1/m", want{kind: "failover", addrs: []string{"s1:26379"}, master: "m", tls: true}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			sc, err := parseStore(tt.url)
			if err != nil {
				t.Fatalf("parseStore: %v", err)
			}
			rc := sc.redis
			if rc == nil {
				t.Fatal("no Redis configuration")
			}
			var got want
			var ctxTimeout bool
			switch {
			case rc.simple != nil:
				o := rc.simple
				got = want{kind: "simple", addrs: []string{o.Addr}, user: o.Username, pass: o.Password, db: o.DB,
					tls: o.TLSConfig != nil, dial: o.DialTimeout, poolSize: o.PoolSize}
				ctxTimeout = o.ContextTimeoutEnabled
			case rc.cluster != nil:
				o := rc.cluster
				got = want{kind: "cluster", addrs: o.Addrs, user: o.Username, pass: o.Password,
					tls: o.TLSConfig != nil, dial: o.DialTimeout, poolSize: o.PoolSize}
				ctxTimeout = o.ContextTimeoutEnabled
			case rc.failover != nil:
				o := rc.failover
				got = want{kind: "failover", addrs: o.SentinelAddrs, user: o.Username, pass: o.Password, db: o.DB,
					tls: o.TLSConfig != nil, dial: o.DialTimeout, poolSize: o.PoolSize, master: o.MasterName,
					sentUser: o.SentinelUsername, sentPass: o.SentinelPassword}
				ctxTimeout = o.ContextTimeoutEnabled
			}
			got.prefix, got.maxValue = rc.store.Prefix, rc.store.MaxValueSize
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parsed\n%+v\nwant\n%+v", got, tt.want)
			}
			if !ctxTimeout {
				t.Error("ContextTimeoutEnabled is off")
			}
		})
	}
}

// TestParseRedisStoreErrors: bad Redis URLs are refused, and no error shows
// the password.
func TestParseRedisStoreErrors(t *testing.T) {
	const pw = "s3cr%3Et" // "s3cr>t"
	tests := []struct{ url, want string }{
		{"redis://:" + pw + "@h1,h2", "takes one host"},
		{"redis+cluster://:" + pw + "@h1,,h2", "empty host"},
		{"redis+cluster://:" + pw + "@h/1", "no path"},
		{"redis://:" + pw + "@h/x", "invalid database number"},
		{"redis://:" + pw + "@h/1/2", "invalid URL path"},
		{"redis://:" + pw + "@h?bogus=1", "bogus"},
		{"redis://:" + pw + "@h?pool_size=many", "pool_size"},
		{"redis://:" + pw + "@h:port", "not a valid redis:// URL"},
		{"redis://:" + pw + "@h?prefix=a{b}", "prefix"},
		{"redis://:" + pw + "@h?prefix=", "prefix"},
		{"redis://:" + pw + "@h?max_value_size=1TiB", "max_value_size"},
		{"redis://:" + pw + "@h?max_value_size=-1", "max_value_size"},
		{"redis://:" + pw + "@h?sentinel_password=x", "sentinel_password"},
		{"redis://:" + pw + "@h?password=x", "takes no password option"},
		{"redis+cluster://:" + pw + "@h?addr=h2:1", "takes no addr option"},
		{"redis+cluster://:" + pw + "@h?read_only=true", "read_only"},
		{"redis+sentinel://:" + pw + "@h/m?replica_only=true", "replica_only"},
		{"redis+sentinel://:" + pw + "@h/m/1/2", "/master or /master/db"},
		{"redis+sentinel://:" + pw + "@h/m/x", "database"},
		{"redis://:" + pw + "@h#frag", "fragment"},
		{"redis+nosuch://:" + pw + "@h", "unknown store scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := parseStore(tt.url)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			for _, p := range []string{pw, "s3cr>t", "s3cr"} {
				if strings.Contains(msg, p) {
					t.Errorf("error %q shows the password", msg)
				}
			}
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("error %q is more than one line", msg)
			}
		})
	}
}

// testRedis returns the address of the standalone Redis of the tests
// (scripts/services.sh), or skips the test; it fails it when
// LARDER_REQUIRE_SERVICES=1.
func testRedis(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("LARDER_TEST_REDIS")
	if addr == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LARDER_TEST_REDIS is not set, and LARDER_REQUIRE_SERVICES=1: start the servers with `. scripts/services.sh`")
		}
		t.Skip("LARDER_TEST_REDIS is not set: no Redis to test against (start one with `. scripts/services.sh`)")
	}
	return addr
}

// TestRedisStoreDaemon: two daemons on one Redis share their cache: what
// one stores the other serves, and a purge through either's admin API
// reaches both.
func TestRedisStoreDaemon(t *testing.T) {
	addr := testRedis(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "larder-test:" + hex.EncodeToString(b[:]) + ":"
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	t.Cleanup(func() { // after the daemons' clean-ups, registered later
		ctx := context.Background()
		keys, err := client.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Error(err)
		}
		for _, k := range keys {
			client.Del(ctx, k)
		}
	})

	o := newOrigin(t, cacheable)
	store := "redis://" + addr + "/0?prefix=" + prefix + "&dial_timeout=2s"
	args := []string{"--upstream", o.URL, "--store", store, "--admin", "127.0.0.1:0"}
	da := startDaemon(t, args, nil)
	db := startDaemon(t, args, nil)

	// waitHit polls d for path until it answers from the cache: the fill
	// is written behind the response. only-if-cached keeps the polls
	// away from the origin (a 504 until the fill lands).
	waitHit := func(d *daemon, path string) response {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := d.do("GET", path, hdr("Cache-Control", "only-if-cached"), "")
			if strings.Contains(r.Header.Get("Cache-Status"), "; hit") {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: no hit after 5 s (Cache-Status %q)", path, r.Header.Get("Cache-Status"))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if r := da.get("/a"); r.body != "body of /a" || !strings.Contains(r.Header.Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("first GET through A: %q, Cache-Status %q", r.body, r.Header.Get("Cache-Status"))
	}
	if r := waitHit(db, "/a"); r.body != "body of /a" {
		t.Fatalf("hit through B: %q", r.body)
	}
	if o.Calls() != 1 {
		t.Fatalf("origin calls = %d, want 1", o.Calls())
	}
	keys, err := client.Keys(context.Background(), prefix+"{*").Result() // entries, not the tag index
	if err != nil || len(keys) != 1 || !strings.HasSuffix(keys[0], "}http://site.test/a") {
		t.Fatalf("keys under the prefix: %q, %v", keys, err)
	}

	if r := db.doAdmin("PURGE", "/a", hdr("Host", "site.test")); r.StatusCode != 200 {
		t.Fatalf("PURGE through B: %d %q", r.StatusCode, r.body)
	}
	if r := da.get("/a"); strings.Contains(r.Header.Get("Cache-Status"), "; hit") {
		t.Fatalf("GET through A after B's purge: Cache-Status %q", r.Header.Get("Cache-Status"))
	}
	if o.Calls() != 2 {
		t.Fatalf("origin calls = %d after the purge, want 2", o.Calls())
	}
	waitHit(db, "/a")

	// No larder_stored_* gauges: the store cannot count its entries.
	for name := range da.scrape() {
		if strings.HasPrefix(name, "larder_stored_") {
			t.Errorf("metric %s with a Redis store", name)
		}
	}
	if n := da.scrape()["larder_store_errors_total"]; n != 0 {
		t.Errorf("larder_store_errors_total = %v", n)
	}
}

// TestRedisStoreUnreachable: a Redis that does not answer stops the daemon
// at start, with a one-line error that does not show the password.
func TestRedisStoreUnreachable(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0",
		"--store", "redis://:hunter2@127.0.0.1:1/0?dial_timeout=200ms"},
		func(string) string { return "" }, &stdout, &stderr)
	if code != exitConfig {
		t.Errorf("exit code %d, want %d", code, exitConfig)
	}
	msg := stderr.String()
	if !strings.HasPrefix(msg, "larder: --store: redis: PING") || strings.Count(msg, "\n") != 1 {
		t.Errorf("stderr %q, want one line: larder: --store: redis: PING ...", msg)
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("stderr %q shows the password", msg)
	}
}

// TestMemcacheStoreDaemon: --store memcache://... stores through memcached;
// two daemons on the same servers share their entries.
func TestMemcacheStoreDaemon(t *testing.T) {
	servers := os.Getenv("LARDER_TEST_MEMCACHE")
	if servers == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LARDER_TEST_MEMCACHE is not set (run scripts/services.sh)")
		}
		t.Skip("LARDER_TEST_MEMCACHE is not set: run under scripts/services.sh")
	}
	sc, err := parseStore("memcache://" + servers + "?prefix=daemon-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":")
	if err != nil {
		t.Fatal(err)
	}
	if sc.memcache == nil || len(sc.memcache.servers) != 2 {
		t.Fatalf("parsed %+v", sc)
	}
	s, stats, closeStore, err := openStore(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if stats != nil {
		t.Fatal("memcache store with stats")
	}
	ctx := context.Background()
	e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Body: []byte("x"), Nonce: "n"}
	if err := s.Set(ctx, "k", e, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k"); err != nil || string(got.Body) != "x" {
		t.Fatalf("Get: %v, %v", got, err)
	}
	_ = s.Delete(ctx, "k")
}

// TestDiskStoreDaemon: --store disk:///dir opens the disk store, with stats
// for the larder_stored_* gauges, and it keeps what it stored across a
// restart of the store.
func TestDiskStoreDaemon(t *testing.T) {
	dir := t.TempDir()
	sc, err := parseStore("disk://" + dir + "?size=64MiB")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Body: []byte("on disk"), Nonce: "n"}
	for round := range 2 {
		s, stats, closeStore, err := openStore(sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if err := s.Set(ctx, "k", e, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Get(ctx, "k"); err != nil || string(got.Body) != "on disk" {
			t.Fatalf("round %d: Get: %v, %v", round, got, err)
		}
		if stats == nil {
			t.Fatalf("round %d: no stats", round)
		}
		if st := stats(); st.Entries != 1 {
			t.Fatalf("round %d: stats %+v", round, st)
		}
		closeStore()
	}
}
