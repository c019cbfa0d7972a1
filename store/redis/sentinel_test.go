package redis_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/redis"
	"github.com/larder-cache/larder/store/storetest"
)

// TestSentinel runs the conformance suite through a Sentinel: the test
// starts a master (redis-server) and one sentinel (redis-server --sentinel)
// of its own, on free loopback ports, and the store's client finds the
// master through the sentinel. It is skipped when redis-server is not
// installed (scripts/services.sh installs it), unless
// LARDER_REQUIRE_SERVICES=1.
func TestSentinel(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("redis-server is not installed, and LARDER_REQUIRE_SERVICES=1")
		}
		t.Skip("redis-server is not installed: no Sentinel to test against")
	}
	dir := t.TempDir()
	master := startProcess(t, bin, "--bind", "127.0.0.1", "--port", "{port}", "--save", "", "--appendonly", "no",
		"--dir", dir)
	conf := filepath.Join(dir, "sentinel.conf")
	sentinelPort := freePort(t)
	// Sentinel rewrites its configuration file, which must be writable.
	if err := os.WriteFile(conf, fmt.Appendf(nil,
		"bind 127.0.0.1\nport %d\ndir %s\nsentinel monitor mymaster 127.0.0.1 %d 1\nsentinel down-after-milliseconds mymaster 5000\n",
		sentinelPort, dir, master), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcessOn(t, sentinelPort, bin, conf, "--sentinel")

	c := goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         []string{"127.0.0.1:" + strconv.Itoa(sentinelPort)},
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no master through the sentinel: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	storetest.Run(t, func(t *testing.T) larder.Store {
		return newStore(t, c, redis.Options{})
	})
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProcess starts a server on a free port, replacing "{port}" in its
// arguments, and returns the port once it accepts connections. The server
// is stopped at the end of the test.
func startProcess(t *testing.T, bin string, args ...string) int {
	t.Helper()
	port := freePort(t)
	for i, a := range args {
		if a == "{port}" {
			args[i] = strconv.Itoa(port)
		}
	}
	startProcessOn(t, port, bin, args...)
	return port
}

// startProcessOn starts a server that listens on port, and waits until it
// accepts connections. The server is stopped at the end of the test.
func startProcessOn(t *testing.T, port int, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			cn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %v: nothing listens on %s", bin, args, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
