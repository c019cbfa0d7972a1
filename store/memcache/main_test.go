package memcache_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/larder-cache/larder/store/memcache"
)

// gomemcache's GetMulti, the caches' write-behind writers and store calls
// start goroutines; none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// servers returns the memcached servers of LARDER_TEST_MEMCACHE. Without
// them the test is skipped, or fails when LARDER_REQUIRE_SERVICES=1.
func servers(t testing.TB) []string {
	t.Helper()
	v := os.Getenv("LARDER_TEST_MEMCACHE")
	if v == "" {
		if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
			t.Fatal("LARDER_TEST_MEMCACHE is not set, and LARDER_REQUIRE_SERVICES=1 requires the memcached servers: run the tests under `. scripts/services.sh`")
		}
		t.Skip("LARDER_TEST_MEMCACHE is not set: run `. scripts/services.sh` (two memcached on loopback) to test the memcache store")
	}
	return strings.Split(v, ",")
}

// prefix returns a key prefix no other test, nor an earlier run, uses.
func prefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

// newStore returns a store on addrs with a fresh prefix unless opts has one;
// the store is closed when the test ends.
func newStore(t testing.TB, addrs []string, opts memcache.Options) *memcache.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = prefix(t)
	}
	s, err := memcache.NewFromServers(addrs, opts)
	if err != nil {
		t.Fatalf("NewFromServers: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// itemSizeMax returns the smallest item size limit (-I) of the servers, from
// "stats settings".
func itemSizeMax(t testing.TB, addrs []string) int {
	t.Helper()
	least := 0
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			t.Fatalf("memcached %s: %v", a, err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := fmt.Fprint(c, "stats settings\r\n"); err != nil {
			t.Fatal(err)
		}
		n := 0
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			line := sc.Text()
			if line == "END" {
				break
			}
			if v, ok := strings.CutPrefix(line, "STAT item_size_max "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		c.Close()
		if n == 0 {
			t.Fatalf("memcached %s: no item_size_max in stats settings (%v)", a, sc.Err())
		}
		if least == 0 || n < least {
			least = n
		}
	}
	return least
}

// startMemcached starts a memcached of the test's own on a free loopback
// port with the given extra arguments, and stops it when the test ends. The
// test is skipped if there is no memcached binary.
func startMemcached(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		t.Skip("no memcached binary on PATH (scripts/services.sh installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	args = append([]string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "64"}, args...)
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting memcached: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		if i == 100 {
			t.Fatalf("memcached on %s does not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
