package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder/internal/faultproxy"
)

// server is a redis-server or memcached of a test's own, on a port of the
// test's range, which the test kills and starts again.
type server struct {
	t      *testing.T
	argv   []string
	addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// ownServer starts argv (a server listening on port) and stops it at the end
// of the test. It skips the test when the program is missing, unless
// LARDER_REQUIRE_SERVICES=1.
func ownServer(t *testing.T, port int, argv ...string) *server {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		requireOrSkip(t, argv[0]+" is not installed")
	}
	s := &server{t: t, argv: argv, addr: "127.0.0.1:" + strconv.Itoa(port)}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func requireOrSkip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func (s *server) start() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmd := exec.Command(s.argv[0], s.argv[1:]...)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			s.t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		s.cmd, s.exited = cmd, exited
		for {
			c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
			if err == nil {
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("%s does not answer on %s: %v; its output:\n%s", s.argv[0], s.addr, err, out)
			}
			select {
			case <-exited: // memcached cannot always bind at once after a kill: again
				s.cmd = nil
			case <-time.After(10 * time.Millisecond):
				continue
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL, as a crash would.
func (s *server) kill() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// loadResult is what a load of GET requests met.
type loadResult struct {
	requests, hits, wrong atomic.Int64
	maxDur                atomic.Int64 // nanoseconds
	mu                    sync.Mutex
	firstWrong            string
	done                  chan struct{}
}

// runLoad sends GETs of paths through d from workers goroutines until stop
// is closed, and checks every response against the origin's: status 200 and
// the body cacheable gives.
func runLoad(d *daemon, paths []string, workers int, stop <-chan struct{}) *loadResult {
	res := &loadResult{done: make(chan struct{})}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := paths[i%len(paths)]
				start := time.Now()
				r, err := d.tryGet(p)
				dur := time.Since(start)
				for {
					m := res.maxDur.Load()
					if int64(dur) <= m || res.maxDur.CompareAndSwap(m, int64(dur)) {
						break
					}
				}
				res.requests.Add(1)
				if err == nil && r.StatusCode == 200 && r.body == "body of "+p {
					if isHit(r) {
						res.hits.Add(1)
					}
					continue
				}
				res.wrong.Add(1)
				res.mu.Lock()
				if res.firstWrong == "" {
					if err != nil {
						res.firstWrong = fmt.Sprintf("GET %s: %v", p, err)
					} else {
						res.firstWrong = fmt.Sprintf("GET %s: %d %q", p, r.StatusCode, r.body)
					}
				}
				res.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(res.done) }()
	return res
}

func (r *loadResult) wait() { <-r.done }

// tryGet is get for other goroutines than the test's: it returns its
// failure instead of failing the test.
func (d *daemon) tryGet(path string) (response, error) {
	req, err := http.NewRequest("GET", "http://"+d.addrs.listen+path, nil)
	if err != nil {
		return response{}, err
	}
	req.Host = "site.test"
	resp, err := d.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp, string(b)}, err
}

// TestStoreFaults: a daemon under load whose store (a server of the test's
// own, behind a faultproxy) becomes slow, unreachable, and is killed and
// started again. Every response is the origin's (status and body), none is
// a 5xx, no request waits much past the store timeout, the errors are
// counted by kind, and hits resume by themselves once the store is back.
func TestStoreFaults(t *testing.T) {
	for i, tc := range []struct {
		name  string
		argv  func(port int) []string
		store func(addr string) string
	}{
		{"redis", redisArgv, func(a string) string { return "redis://" + a + "/0?dial_timeout=200ms" }},
		{"memcache", memcachedArgv, func(a string) string { return "memcache://" + a + "?timeout=200ms" }},
		{"tiered", redisArgv, func(a string) string {
			return "tiered:memory?size=8MiB&lease=400ms+redis://" + a + "/0?dial_timeout=200ms"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := 19100 + 10*i // below the ephemeral range (32768-60999), so no client socket holds it
			srv := ownServer(t, port, tc.argv(port)...)
			p, err := faultproxy.New(srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			o := newOrigin(t, cacheable)
			d := startDaemon(t, []string{"--upstream", o.URL, "--store", tc.store(p.Addr()), "--admin", "127.0.0.1:0", "--access-log=false"}, nil)
			paths := make([]string, 20)
			for j := range paths {
				paths[j] = "/p" + strconv.Itoa(j)
			}

			phase := func(name string, dur time.Duration, fault, heal func()) *loadResult {
				t.Helper()
				if fault != nil {
					fault()
				}
				stop := make(chan struct{})
				res := runLoad(d, paths, 4, stop)
				time.Sleep(dur)
				close(stop)
				res.wait()
				if heal != nil {
					heal()
				}
				t.Logf("%s: %d requests, %d hits, %d wrong, slowest %v", name, res.requests.Load(), res.hits.Load(),
					res.wrong.Load(), time.Duration(res.maxDur.Load()))
				if n := res.wrong.Load(); n > 0 {
					t.Errorf("%s: %d responses not the origin's; the first: %s", name, n, res.firstWrong)
				}
				// The store timeout is 250 ms: a request waits for it at
				// most twice (a read, and a Vary read); the rest is the
				// origin, on loopback. A loaded VM gets slack.
				if m := time.Duration(res.maxDur.Load()); m > 2*time.Second {
					t.Errorf("%s: a request took %v", name, m)
				}
				return res
			}

			if res := phase("healthy", 500*time.Millisecond, nil, nil); res.hits.Load() == 0 {
				t.Fatal("healthy: no hits")
			}
			phase("slow (400 ms per chunk)", time.Second, func() { p.SetLatency(400 * time.Millisecond) }, func() { p.SetLatency(0) })
			phase("unreachable", time.Second, func() { p.Refuse(true); p.Break() }, func() { p.Refuse(false) })
			phase("killed", time.Second, srv.kill, srv.start)

			// Hits resume by themselves.
			deadline := time.Now().Add(10 * time.Second)
			for {
				res := phase("after the restart", 300*time.Millisecond, nil, nil)
				if res.hits.Load() > res.requests.Load()/2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("hits did not resume within 10 s of the store's restart")
				}
			}
			m := d.scrape()
			for _, kind := range []string{"timeout", "unreachable"} {
				var n float64
				for name, v := range m {
					if strings.HasPrefix(name, "larder_store_call_errors_total{") && strings.Contains(name, `kind="`+kind+`"`) {
						n += v
					}
				}
				if n == 0 {
					t.Errorf("no store errors of kind %s counted", kind)
				}
				t.Logf("store errors of kind %s: %v", kind, n)
			}
			if o.Calls() == 0 {
				t.Error("the origin was never called")
			}
			if s := d.stderr.String(); strings.Count(s, "store failed") > 40 {
				t.Errorf("%d log lines of store failures: not rate-limited", strings.Count(s, "store failed"))
			}
		})
	}
}

func redisArgv(port int) []string {
	return []string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"}
}

func memcachedArgv(port int) []string {
	return []string{"memcached", "-p", strconv.Itoa(port), "-l", "127.0.0.1", "-U", "0", "-m", "64", "-u", "root"}
}
