package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TestParseTieredStore: tiered: URLs, and the ones refused.
func TestParseTieredStore(t *testing.T) {
	tests := []struct {
		url             string
		scheme          string
		size            int64
		maxTTL, lease   time.Duration
		channel, prefix string
	}{
		{"tiered:memory+redis://h:1/0", "tiered+redis", 64 << 20, 0, 0, "larder:tiered", ""},
		{"tiered:memory?size=1MiB&max_ttl=5s&lease=300ms+redis://h:1/0?prefix=shop:", "tiered+redis", 1 << 20, 5 * time.Second, 300 * time.Millisecond, "shop:tiered", "shop:"},
		{"TIERED:memory?channel=c+redis+cluster://h1:1,h2:2", "tiered+redis+cluster", 64 << 20, 0, 0, "c", ""},
		{"tiered:memory?size=2MiB+disk:///var/cache/x?size=1GiB", "tiered+disk", 2 << 20, 0, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			sc, err := parseStore(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			tc := sc.tiered
			if tc == nil || sc.scheme != tt.scheme || sc.size != tt.size {
				t.Fatalf("parsed %+v", sc)
			}
			o := tc.opts
			if o.L1.MaxBytes != tt.size || o.MaxL1TTL != tt.maxTTL || o.Lease != tt.lease || o.Channel != tt.channel {
				t.Errorf("options %+v", o)
			}
			if tc.inner.redis != nil && tc.inner.redis.store.Prefix != tt.prefix {
				t.Errorf("L2 prefix %q, want %q", tc.inner.redis.store.Prefix, tt.prefix)
			}
		})
	}
	errs := []struct{ url, want string }{
		{"tiered:", "wants tiered:memory"},
		{"tiered:memory", "wants tiered:memory"},
		{"tiered:memory+", "wants tiered:memory"},
		{"tiered:disk+redis://h", "the L1 must be memory"},
		{"tiered:memory?size=0+redis://h", "size"},
		{"tiered:memory?size=x+redis://h", "size"},
		{"tiered:memory?max_ttl=-1s+redis://h", "max_ttl"},
		{"tiered:memory?lease=1ms+redis://h", "lease"},
		{"tiered:memory?channel=+redis://h", "channel"},
		{"tiered:memory?bogus=1+redis://h", "unknown L1 parameter"},
		{"tiered:memory+memory://", "must be Redis or disk"},
		{"tiered:memory+memcache://h:1", "must be Redis or disk"},
		{"tiered:memory+tiered:memory+redis://h", "cannot be tiered"},
		{"tiered:memory?lease=1s+disk:///x", "no bus"},
		{"tiered:memory+redis://:hunter2@h?bogus=1", "bogus"},
	}
	for _, tt := range errs {
		t.Run(tt.url, func(t *testing.T) {
			_, err := parseStore(tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestTieredStoreDaemon: two daemons with tiered stores on one Redis share
// their cache, serve repeated hits from their L1, and a purge through one
// reaches the other's L1 (within the window store/tiered documents: the
// test allows the 1 s lease, and reports what it took).
func TestTieredStoreDaemon(t *testing.T) {
	addr := testRedis(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "larder-test:" + hex.EncodeToString(b[:]) + ":"
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := client.Keys(ctx, prefix+"*").Result()
		for _, k := range keys {
			client.Del(ctx, k)
		}
	})

	o := newOrigin(t, cacheable)
	store := "tiered:memory?size=8MiB&max_ttl=1m+redis://" + addr + "/0?prefix=" + prefix
	args := []string{"--upstream", o.URL, "--store", store, "--admin", "127.0.0.1:0"}
	da := startDaemon(t, args, nil)
	db := startDaemon(t, args, nil)

	isHit := func(r response) bool { return strings.Contains(r.Header.Get("Cache-Status"), "; hit") }
	waitHit := func(d *daemon, path string) response {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := d.do("GET", path, hdr("Cache-Control", "only-if-cached"), "")
			if isHit(r) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: no hit after 5 s (Cache-Status %q)", path, r.Header.Get("Cache-Status"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if r := da.get("/a"); r.body != "body of /a" || isHit(r) {
		t.Fatalf("first GET through A: %q, Cache-Status %q", r.body, r.Header.Get("Cache-Status"))
	}
	waitHit(db, "/a")
	waitHit(da, "/a")
	for range 3 {
		if r := db.get("/a"); !isHit(r) || r.body != "body of /a" {
			t.Fatalf("GET through B: %q, %q", r.body, r.Header.Get("Cache-Status"))
		}
	}
	if o.Calls() != 1 {
		t.Fatalf("origin calls = %d, want 1", o.Calls())
	}

	if r := da.doAdmin("PURGE", "/a", hdr("Host", "site.test")); r.StatusCode != 200 {
		t.Fatalf("PURGE through A: %d %q", r.StatusCode, r.body)
	}
	purged := time.Now()
	for {
		r := db.do("GET", "/a", hdr("Cache-Control", "only-if-cached"), "")
		if !isHit(r) {
			break
		}
		if time.Since(purged) > time.Second {
			t.Fatal("B still serves /a 1 s after A's purge returned")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("B stopped serving /a %v after A's purge returned", time.Since(purged))
	if r := db.get("/a"); isHit(r) || r.body != "body of /a" {
		t.Fatalf("GET through B after the purge: %q, %q", r.body, r.Header.Get("Cache-Status"))
	}
	if n := da.scrape()["larder_store_errors_total"]; n != 0 {
		t.Errorf("larder_store_errors_total = %v", n)
	}
}

// FuzzParseTieredStore: any tiered: URL is parsed or refused with an error,
// never a panic; a parsed one has a positive L1 size and an L2 of its own,
// and no error shows the password of the L2's URL.
func FuzzParseTieredStore(f *testing.F) {
	for _, s := range []string{
		"tiered:memory+redis://h:1/0",
		"tiered:memory?size=1MiB&max_ttl=5s&lease=300ms+redis://:hunter2@h:1/0?prefix=shop:",
		"tiered:memory?channel=c+redis+cluster://h1:1,h2:2",
		"tiered:memory?size=2MiB+disk:///var/cache/x?size=1GiB",
		"tiered:memory++redis://h", "tiered:memory?size=%zz+redis://h", "tiered:memory?lease=1e400s+redis://h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := parseStore(s)
		if err != nil {
			l1, l2, _ := strings.Cut(s, "+")
			if !strings.Contains(l1, "hunter2") && strings.Contains(l2, ":hunter2@") && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			return
		}
		if tc := sc.tiered; tc != nil && (tc.opts.L1.MaxBytes <= 0 || tc.inner.tiered != nil || tc.inner.scheme == "") {
			t.Errorf("%q parsed as %+v", s, tc)
		}
	})
}
