package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
	memcachestore "github.com/larder-cache/larder/store/memcache"
	"github.com/larder-cache/larder/store/memory"
	redisstore "github.com/larder-cache/larder/store/redis"
	"github.com/larder-cache/larder/store/tiered"
)

// Per-store tables (BENCHMARKS.md, "6. Stores"): the cache in process,
// larder.New(store).Middleware(origin), one ServeHTTP per request with an
// httptest.ResponseRecorder, for each store. The servers are the test's
// own (a redis-server and a memcached on loopback ports 19301 and 19302,
// so that no other client's commands enter the counts), but for the Redis
// Cluster, which is the one of LARDER_TEST_REDIS_CLUSTER.

const (
	ownRedisPort    = 19301
	ownMemcachePort = 19302
)

// ownServer starts argv, a server listening on addr, until the test ends.
// Without the program, the test is skipped (failed with
// LARDER_REQUIRE_SERVICES=1).
func ownServer(t testing.TB, addr string, argv ...string) {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not installed", argv[0])
		}
		t.Skipf("%s is not installed", argv[0])
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s: %v", argv[0], addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ownRedis(t testing.TB) *goredis.Client {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(ownRedisPort)
	ownServer(t, addr, "redis-server", "--port", strconv.Itoa(ownRedisPort), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, PoolSize: 64})
	t.Cleanup(func() { c.Close() })
	return c
}

// commandCalls returns the calls Redis counted, by command (INFO
// commandstats), without INFO's own, nor the PINGs by which a tiered
// store's subscription checks its connection (on its own connection, never
// on a request's path).
func commandCalls(t testing.TB, c *goredis.Client) map[string]int {
	t.Helper()
	s, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text() // cmdstat_get:calls=2,usec=...
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") || name == "info" || name == "ping" {
			continue
		}
		v, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, _ := strconv.Atoi(v)
		calls[name] = n
	}
	return calls
}

func callsDelta(before, after map[string]int) (total int, by string) {
	var parts []string
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			total += d
			parts = append(parts, fmt.Sprintf("%s %d", k, d))
		}
	}
	slices.Sort(parts)
	return total, strings.Join(parts, ", ")
}

// storeOrigin answers every GET with a body of n bytes, cacheable for an
// hour; under /vary/ it varies on Accept-Language.
func storeOrigin(n int) http.Handler {
	body := []byte(strings.Repeat("x", n))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "text/plain")
		if strings.HasPrefix(r.URL.Path, "/vary/") {
			w.Header().Set("Vary", "Accept-Language")
		}
		_, _ = w.Write(body)
	})
}

// serveOne sends GET path (with Accept-Language: en) through h and returns
// the response's Cache-Status.
func serveOne(h http.Handler, path string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	req.Header.Set("Accept-Language", "en")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Cache-Status")
}

// TestRedisRoundTripsPerHit checks, with Redis's own count (INFO
// commandstats deltas), that a hit through the Redis store costs one
// command (one round trip), a Vary hit too once the cache knows the URL's
// index, and a hit from a tiered store's L1 none.
func TestRedisRoundTripsPerHit(t *testing.T) {
	c := ownRedis(t)
	rs, err := redisstore.New(c, redisstore.Options{Prefix: "rt:"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tiered.New(rs, tiered.Options{Bus: c, Channel: "rt:tiered"})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for _, tc := range []struct {
		name  string
		store larder.Store
		path  string
		want  int // commands per hit
	}{
		{"redis hit", rs, "/hit", 1},
		{"redis Vary hit", rs, "/vary/hit", 1},
		{"tiered L1 hit", ts, "/tiered/hit", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := larder.New(tc.store)
			h := cache.Middleware(storeOrigin(1024))
			for range 3 { // fill, then hits until the Vary hint and the L1 hold
				serveOne(h, tc.path)
				_ = cache.Close()
			}
			before := commandCalls(t, c)
			for i := range n {
				if code, cs := serveOne(h, tc.path); code != 200 || !strings.Contains(cs, "hit") {
					t.Fatalf("request %d: %d, Cache-Status %q", i, code, cs)
				}
			}
			_ = cache.Close()
			total, by := callsDelta(before, commandCalls(t, c))
			t.Logf("%s: %d commands for %d hits (%s)", tc.name, total, n, by)
			if total != tc.want*n {
				t.Errorf("%d commands for %d hits (%s), want %d per hit", total, n, by, tc.want)
			}
		})
	}
}

// storeSetup is one store of the tables.
type storeSetup struct {
	name string
	open func(t *testing.T) larder.Store
}

func uniquePrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "bench-" + hex.EncodeToString(b[:]) + ":"
}

func storeSetups() []storeSetup {
	return []storeSetup{
		{"memory", func(t *testing.T) larder.Store {
			s, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}},
		{"tiered (L1 memory, L2 redis)", func(t *testing.T) larder.Store {
			return ownTiered(t, 0)
		}},
		{"redis", func(t *testing.T) larder.Store {
			rs, _ := redisstore.New(ownRedis(t), redisstore.Options{Prefix: uniquePrefix()})
			return rs
		}},
		{"redis cluster (3 masters)", func(t *testing.T) larder.Store {
			v := os.Getenv("LARDER_TEST_REDIS_CLUSTER")
			if v == "" {
				t.Skip("LARDER_TEST_REDIS_CLUSTER is not set")
			}
			c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(v, ","), ContextTimeoutEnabled: true, PoolSize: 64})
			t.Cleanup(func() { c.Close() })
			rs, _ := redisstore.New(c, redisstore.Options{Prefix: uniquePrefix()})
			return rs
		}},
		{"memcache", func(t *testing.T) larder.Store {
			addr := "127.0.0.1:" + strconv.Itoa(ownMemcachePort)
			ownServer(t, addr, "memcached", "-p", strconv.Itoa(ownMemcachePort), "-l", "127.0.0.1", "-U", "0", "-m", "256", "-u", "root")
			s, err := memcachestore.NewFromServers([]string{addr}, memcachestore.Options{Prefix: uniquePrefix()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}},
		{"disk", func(t *testing.T) larder.Store {
			s, err := disk.Open(t.TempDir(), disk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}},
	}
}

// storeRow is one line of the table.
type storeRow struct {
	store                             string
	hitP50, hitP99, missP50, hit64P50 time.Duration
	parRate                           float64 // hits per second, 8 goroutines
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// measure times n sequential requests of path through h (after one to
// fill, unless miss: then each path is new).
func measure(t *testing.T, cache *larder.Cache, h http.Handler, path string, n int, miss bool) (p50, p99 time.Duration) {
	t.Helper()
	if !miss {
		serveOne(h, path)
		_ = cache.Close()
		serveOne(h, path)
	}
	ds := make([]time.Duration, 0, n)
	for i := range n {
		p := path
		if miss {
			p = path + "/" + strconv.Itoa(i)
		}
		start := time.Now()
		code, cs := serveOne(h, p)
		ds = append(ds, time.Since(start))
		if code != 200 || miss == strings.Contains(cs, "hit") {
			t.Fatalf("%s: %d, Cache-Status %q", p, code, cs)
		}
		if miss {
			_ = cache.Close() // the write behind it, not timed
		}
	}
	return percentile(ds, 0.5), percentile(ds, 0.99)
}

// TestStoreSpeeds prints the per-store table of BENCHMARKS.md ("6.
// Stores"). It is skipped unless BENCH_STORES=1.
func TestStoreSpeeds(t *testing.T) {
	if os.Getenv("BENCH_STORES") != "1" {
		t.Skip("set BENCH_STORES=1 to print the per-store table")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("BENCH_STORES_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	const n = 2000
	setups := storeSetups()
	results := map[string][]storeRow{}
	for r := range rounds {
		for i := range setups {
			s := setups[(i+r)%len(setups)] // a rotating order
			t.Run(fmt.Sprintf("%d/%s", r, s.name), func(t *testing.T) {
				st := s.open(t)
				row := storeRow{store: s.name}
				cache := larder.New(st)
				h1 := cache.Middleware(storeOrigin(1024))
				row.hitP50, row.hitP99 = measure(t, cache, h1, "/hit1k", n, false)
				row.missP50, _ = measure(t, cache, h1, "/miss1k", n/10, true)
				h64 := cache.Middleware(storeOrigin(64 << 10))
				row.hit64P50, _ = measure(t, cache, h64, "/hit64k", n/4, false)

				// Throughput: 8 goroutines for 1 s on 64 hot URLs.
				for j := range 64 {
					serveOne(h1, "/par/"+strconv.Itoa(j))
				}
				_ = cache.Close()
				var count atomic.Int64
				var wg sync.WaitGroup
				deadline := time.Now().Add(time.Second)
				start := time.Now()
				for g := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for k := g; time.Now().Before(deadline); k++ {
							serveOne(h1, "/par/"+strconv.Itoa(k%64))
							count.Add(1)
						}
					}()
				}
				wg.Wait()
				row.parRate = float64(count.Load()) / time.Since(start).Seconds()
				_ = cache.Close()
				results[s.name] = append(results[s.name], row)
			})
		}
	}
	med := func(rows []storeRow, f func(storeRow) float64) float64 {
		v := make([]float64, len(rows))
		for i, r := range rows {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	var b strings.Builder
	fmt.Fprintf(&b, "| store | hit 1 KiB p50 µs | hit 1 KiB p99 µs | miss 1 KiB p50 µs | hit 64 KiB p50 µs | hits/s, 8 goroutines | throughput / memory's |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	memRate := med(results["memory"], func(r storeRow) float64 { return r.parRate })
	for _, s := range setups {
		rows := results[s.name]
		if len(rows) == 0 {
			continue
		}
		rate := med(rows, func(r storeRow) float64 { return r.parRate })
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.1f | %.1f | %.0f | %.2f |\n", s.name,
			med(rows, func(r storeRow) float64 { return us(r.hitP50) }),
			med(rows, func(r storeRow) float64 { return us(r.hitP99) }),
			med(rows, func(r storeRow) float64 { return us(r.missP50) }),
			med(rows, func(r storeRow) float64 { return us(r.hit64P50) }),
			rate, rate/memRate)
	}
	t.Logf("per-store table, medians of %d rounds:\n%s", rounds, b.String())
}

// BenchmarkStoreHit1K is a hit of 1 KiB through the cache in process
// (httptest request and recorder included) with the memory store and with
// a tiered store whose L1 holds the entry (the L2 on the test's own
// redis-server): "a tiered L1 hit within 10% of the memory store". Run
// the binary several times, each running both (alternated), and compare
// the medians; cpu-ns/op is the process's CPU time per hit (GC and the
// store's own goroutines included), which other work on the machine
// inflates less than wall time.
func BenchmarkStoreHit1K(b *testing.B) {
	for _, name := range []string{"memory", "tiered"} {
		b.Run(name, func(b *testing.B) {
			var st larder.Store
			if name == "memory" {
				m, err := memory.New(memory.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				st = m
			} else {
				st = ownTiered(b, time.Hour)
			}
			cache := larder.New(st)
			h := cache.Middleware(storeOrigin(1024))
			serveOne(h, "/x")
			_ = cache.Close()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if code, cs := serveOne(h, "/x"); code != 200 || !strings.Contains(cs, "hit") {
					b.Fatalf("%d, Cache-Status %q", code, cs)
				}
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// ownTiered returns a tiered store, its L2 and its bus on the test's own
// redis-server, connected to the bus, closed at the end of the test; its
// L1 keeps entries up to maxL1TTL (0: the store's default).
func ownTiered(t testing.TB, maxL1TTL time.Duration) *tiered.Store {
	t.Helper()
	c := ownRedis(t)
	rs, _ := redisstore.New(c, redisstore.Options{Prefix: uniquePrefix()})
	ts, err := tiered.New(rs, tiered.Options{Bus: c, Channel: uniquePrefix(), MaxL1TTL: maxL1TTL})
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
