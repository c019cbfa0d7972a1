package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startProcess runs the daemon as a process of its own (the test binary
// re-executed: see TestMain) with args and --listen and --admin on free
// loopback ports, and returns it once it serves, as a daemon the helpers
// of the in-process tests drive. It is stopped by SIGTERM at the end of
// the test.
func startProcess(t *testing.T, args []string) *daemon {
	t.Helper()
	args = append([]string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--access-log=false"}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LARDER_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	d.cancel = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	lines := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listen=(\S+) .*admin=(\S+)`)
	for d.addrs.listen == "" && lines.Scan() {
		d.stderr.Write([]byte(lines.Text() + "\n"))
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			d.addrs = addrs{listen: m[1], admin: m[2]}
		}
	}
	if d.addrs.listen == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the daemon never said where it listens; stderr:\n%s", d.stderr)
	}
	go func() {
		for lines.Scan() {
			d.stderr.Write([]byte(lines.Text() + "\n"))
		}
		_ = cmd.Wait()
		d.done <- cmd.ProcessState.ExitCode()
	}()
	tr := &http.Transport{}
	d.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if code := d.stop(); code != 0 {
			t.Errorf("the daemon exited with %d; stderr:\n%s", code, d.stderr)
		}
	})
	return d
}

// testCluster returns the addresses of the Redis Cluster of the tests.
func testCluster(t *testing.T) string {
	t.Helper()
	addrs := os.Getenv("LARDER_TEST_REDIS_CLUSTER")
	if addrs == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LARDER_TEST_REDIS_CLUSTER is not set, and LARDER_REQUIRE_SERVICES=1")
		}
		t.Skip("LARDER_TEST_REDIS_CLUSTER is not set: no Redis Cluster (start one with `. scripts/services.sh`)")
	}
	return addrs
}

// clusterPrefix returns a key prefix of the test's own on the cluster,
// whose keys are deleted at the end of the test.
func clusterPrefix(t *testing.T, addrs string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "larder-test:" + hex.EncodeToString(b[:]) + ":"
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
			iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				n.Del(ctx, iter.Val())
			}
			return iter.Err()
		})
		c.Close()
	})
	return prefix
}

func isHit(r response) bool { return strings.Contains(r.Header.Get("Cache-Status"), "; hit") }

// cachedOnly asks d for path from its cache only (only-if-cached: a 504
// when it has none, and the origin is not called).
func cachedOnly(d *daemon, path string) response {
	return d.do("GET", path, hdr("Cache-Control", "only-if-cached"), "")
}

// TestFleet: three larder processes sharing the 3-master Redis Cluster of
// the tests, with the Redis store and with the tiered store over it. A miss
// on one is a hit on the others; a purge, and an unsafe request, through
// any is honoured by all: with the Redis store, none serves the old
// response once the purge's (or the POST's) response is out; with the
// tiered store, after at most the window store/tiered documents (the
// delivery of one pub/sub message, bounded by its 1 s lease, which the test
// allows, and reports what it took). With --fleet-coalescing, a stampede
// of concurrent misses of one URL across the three makes one origin
// request.
func TestFleet(t *testing.T) {
	addrs := testCluster(t)
	for _, tc := range []struct {
		name   string
		store  func(prefix string) string
		window time.Duration
	}{
		{"redis", func(p string) string { return "redis+cluster://" + addrs + "?prefix=" + p }, 0},
		{"tiered", func(p string) string {
			return "tiered:memory?size=16MiB&max_ttl=1m+redis+cluster://" + addrs + "?prefix=" + p
		}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/stampede" {
					time.Sleep(300 * time.Millisecond) // the origin's latency, not an expiry
				}
				cacheable(w, r)
			})
			args := []string{"--upstream", o.URL, "--store", tc.store(clusterPrefix(t, addrs)), "--fleet-coalescing", "5s"}
			var nodes []*daemon
			for range 3 {
				nodes = append(nodes, startProcess(t, args))
			}
			waitHit := func(d *daemon, path string) {
				t.Helper()
				deadline := time.Now().Add(5 * time.Second)
				for !isHit(cachedOnly(d, path)) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: no hit after 5 s", path)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			// gone checks that no node serves path from its cache, at once
			// or, with a window, within it.
			gone := func(what, path string) {
				t.Helper()
				start := time.Now()
				for i, d := range nodes {
					for isHit(cachedOnly(d, path)) {
						if time.Since(start) >= tc.window {
							t.Fatalf("after %s, node %d still serves %s from its cache (%v later)", what, i, path, time.Since(start))
						}
						time.Sleep(500 * time.Microsecond)
					}
				}
				if tc.window > 0 {
					t.Logf("after %s, all nodes stopped serving %s within %v", what, path, time.Since(start))
				}
			}

			// A miss on one is a hit on the others.
			if r := nodes[0].get("/a"); isHit(r) || r.body != "body of /a" {
				t.Fatalf("first GET: %q, %q", r.body, r.Header.Get("Cache-Status"))
			}
			for _, d := range nodes {
				waitHit(d, "/a")
			}
			for _, d := range nodes { // twice: the tiered L1 serves the second
				for range 2 {
					if r := d.get("/a"); !isHit(r) || r.body != "body of /a" {
						t.Fatalf("GET: %q, %q", r.body, r.Header.Get("Cache-Status"))
					}
				}
			}
			if n := o.Calls(); n != 1 {
				t.Fatalf("origin calls = %d, want 1", n)
			}

			// A purge through any node.
			if r := nodes[1].doAdmin("PURGE", "/a", hdr("Host", "site.test")); r.StatusCode != 200 {
				t.Fatalf("PURGE: %d %q", r.StatusCode, r.body)
			}
			gone("a purge through node 1", "/a")

			// An unsafe request through any node (RFC 9111 §4.4).
			if r := nodes[2].get("/a"); isHit(r) {
				t.Fatalf("GET after the purge: a hit")
			}
			for _, d := range nodes {
				waitHit(d, "/a")
			}
			if r := nodes[0].do("POST", "/a", nil, "x"); r.StatusCode != 200 {
				t.Fatalf("POST: %d", r.StatusCode)
			}
			gone("a POST through node 0", "/a")
			if n := o.Calls(); n != 3 {
				t.Fatalf("origin calls = %d, want 3 (two fills and the POST)", n)
			}

			// A stampede across the fleet: one origin request.
			before := o.Calls()
			const perNode = 10
			var wg sync.WaitGroup
			results := make([]response, 3*perNode)
			for i := range results {
				wg.Go(func() { results[i] = nodes[i%3].get("/stampede") })
			}
			wg.Wait()
			statuses := map[string]int{}
			for _, r := range results {
				if r.StatusCode != 200 || r.body != "body of /stampede" {
					t.Fatalf("stampede: %d %q", r.StatusCode, r.body)
				}
				statuses[r.Header.Get("Cache-Status")]++
			}
			t.Logf("stampede of %d requests over 3 nodes: %v", len(results), statuses)
			if n := o.Calls() - before; n != 1 {
				t.Fatalf("a stampede over 3 nodes made %d origin requests, want 1", n)
			}

			for i, d := range nodes {
				if n := d.scrape()["larder_store_errors_total"]; n != 0 {
					t.Errorf("node %d: larder_store_errors_total = %v", i, n)
				}
			}
		})
	}
}
