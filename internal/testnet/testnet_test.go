//go:build unix

package testnet_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/larder-cache/larder/internal/testnet"
)

// TestRefusedAddr: a connection is refused, and no listener can take the
// port while the test runs.
func TestRefusedAddr(t *testing.T) {
	addr := testnet.RefusedAddr(t)
	if _, err := net.DialTimeout("tcp", addr, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("listen on %s: the port was free", addr)
	}
}
