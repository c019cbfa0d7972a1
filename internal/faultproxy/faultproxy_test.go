package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/larder-cache/larder/internal/faultproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer echoes each line back until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// roundTrip sends a line through c and reads it back, within d.
func roundTrip(c net.Conn, r *bufio.Reader, d time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.SetDeadline(start.Add(d))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return 0, err
	}
	line, err := r.ReadString('\n')
	if err == nil && line != "ping\n" {
		err = io.ErrUnexpectedEOF
	}
	return time.Since(start), err
}

// TestFaults: the proxy forwards, delays, holds, breaks and refuses.
func TestFaults(t *testing.T) {
	p, err := faultproxy.New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	c, r := dial()
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatalf("forwarding: %v", err)
	}

	p.SetLatency(50 * time.Millisecond)
	if d, err := roundTrip(c, r, time.Second); err != nil || d < 100*time.Millisecond {
		t.Fatalf("with 50 ms each way: %v, %v; want at least 100 ms", d, err)
	}
	p.SetLatency(0)

	p.Pause()
	if _, err := roundTrip(c, r, 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("paused: %v, want a timeout", err)
	}
	p.Resume()
	// The held line arrives, then the next one.
	if line, err := r.ReadString('\n'); err != nil && line != "ping\n" {
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if line, err = r.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("after Resume: %q, %v", line, err)
		}
	}

	p.Refuse(true)
	p.Break()
	if _, err := roundTrip(c, r, time.Second); err == nil {
		t.Fatal("a broken connection still forwards")
	}
	c2, r2 := dial() // accepted, then closed
	if _, err := roundTrip(c2, r2, time.Second); err == nil {
		t.Fatal("a refused connection forwards")
	}
	p.Refuse(false)
	c3, r3 := dial()
	if _, err := roundTrip(c3, r3, time.Second); err != nil {
		t.Fatalf("after Refuse(false): %v", err)
	}
}
