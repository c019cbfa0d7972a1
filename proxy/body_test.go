package proxy_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
)

// bodyResult is what an origin read of a request body.
type bodyResult struct {
	n   int
	err error
}

// bodyOrigin reads every request's body and reports how much it got, and
// the error, on the returned channel; it answers "got N".
func bodyOrigin(t *testing.T) (*origin, chan bodyResult) {
	t.Helper()
	results := make(chan bodyResult, 16)
	o := &origin{}
	o.Server = newRawOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		results <- bodyResult{len(b), err}
		if err != nil {
			return
		}
		fmt.Fprintf(w, "got %d", len(b))
	})
	return o, results
}

// trickled is what a client sending a body slowly saw.
type trickled struct {
	status  int            // 0: no response, the connection was closed
	resp    *http.Response // nil when status is 0
	elapsed time.Duration  // from the request header to the response or the close
	sent    int            // body bytes written before the response or the close
}

// trickle sends a POST with a body of size bytes to addr over a raw
// connection, chunk bytes every interval (the first chunk at once), until
// the whole body is sent or the server answers or closes. It waits at most
// 3 s for the answer.
func trickle(t *testing.T, addr string, size, chunk int, interval time.Duration) trickled {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "POST /up HTTP/1.1\r\nHost: site.test\r\nContent-Length: %d\r\n\r\n", size); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			n := min(chunk, size-sent)
			if _, err := conn.Write([]byte(strings.Repeat("x", n))); err != nil {
				return
			}
			mu.Lock()
			sent += n
			done := sent == size
			mu.Unlock()
			if done {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	_ = conn.SetReadDeadline(start.Add(3 * time.Second))
	var got trickled
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	got.elapsed = time.Since(start)
	if err == nil {
		got.status, got.resp = resp.StatusCode, resp
		b, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("no answer nor close after %v", got.elapsed)
	}
	close(stop)
	conn.Close()
	wg.Wait()
	got.sent = sent
	return got
}

func TestBodyTimeout(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration
		rate     int64
		size     int // body bytes
		chunk    int // bytes per interval
		interval time.Duration
		pass     bool
	}{
		// 1 byte every 100 ms, for 2 s: each byte earns 1 ms at 1000 B/s.
		{"stalling body fails", 200 * time.Millisecond, 1000, 20, 1, 100 * time.Millisecond, false},
		// 400 B/s for 575 ms: past the 200 ms, but each 10 bytes earn 100 ms at 100 B/s.
		{"steady body past the timeout passes", 200 * time.Millisecond, 100, 240, 10, 25 * time.Millisecond, true},
		// The same body without the rate extension: all of it within 200 ms.
		{"no extension", 200 * time.Millisecond, -1, 240, 10, 25 * time.Millisecond, false},
		// No timeout at all: a body trickling for 300 ms passes.
		{"timeout off", -1, 0, 15, 1, 20 * time.Millisecond, true},
	}
	for _, tt := range tests {
		for _, cached := range []bool{false, true} {
			name := tt.name
			if cached {
				name += " behind the cache"
			}
			t.Run(name, func(t *testing.T) {
				o, results := bodyOrigin(t)
				var calls upstreamCalls
				var h http.Handler = newProxy(t, proxy.Config{
					Upstream: o.url(t, ""), BodyTimeout: tt.timeout, BodyMinRate: tt.rate, OnUpstream: calls.hook,
				})
				if cached {
					// The cache's writer must let the proxy reach the connection.
					h = larder.New(nil).Middleware(h)
				}
				srv, _ := serve(t, h)
				trickleTime := time.Duration((tt.size+tt.chunk-1)/tt.chunk-1) * tt.interval
				got := trickle(t, srv.Listener.Addr().String(), tt.size, tt.chunk, tt.interval)

				var res bodyResult
				select {
				case res = <-results:
				case <-time.After(2 * time.Second):
					t.Fatal("the upstream request was neither completed nor abandoned")
				}
				_, fails := calls.get()
				if tt.pass {
					if got.status != http.StatusOK || res.err != nil || res.n != tt.size {
						t.Fatalf("status %d after %v, upstream got %d bytes (%v): want 200 and the %d bytes",
							got.status, got.elapsed, res.n, res.err, tt.size)
					}
					if len(fails) != 1 || fails[0] != nil {
						t.Errorf("OnUpstream errors %v, want one nil", fails)
					}
					return
				}
				if got.status != 0 && got.status != http.StatusRequestTimeout {
					t.Fatalf("status %d, want 408 or a closed connection", got.status)
				}
				if got.elapsed >= trickleTime/2 || got.sent == tt.size {
					t.Errorf("failed after %v with %d of %d bytes sent: want well before the trickle ends (%v)",
						got.elapsed, got.sent, tt.size, trickleTime)
				}
				if got.elapsed < tt.timeout {
					t.Errorf("failed after %v, before the %v timeout", got.elapsed, tt.timeout)
				}
				if res.err == nil || res.n >= tt.size {
					t.Errorf("upstream got %d bytes (%v): want an incomplete body", res.n, res.err)
				}
				if len(fails) != 1 || !errors.Is(fails[0], proxy.ErrBodyTimeout) ||
					errors.Is(fails[0], proxy.ErrTimeout) || errors.Is(fails[0], proxy.ErrClientGone) {
					t.Errorf("OnUpstream errors %v, want one ErrBodyTimeout only", fails)
				}
				if got.resp != nil {
					b, _ := io.ReadAll(got.resp.Body)
					if !got.resp.Close || got.resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(string(b), "408 ") {
						t.Errorf("408 with Connection close %v, Cache-Control %q, body %q: want close, no-store, a 408 message",
							got.resp.Close, got.resp.Header.Get("Cache-Control"), b)
					}
					if cs := got.resp.Header.Get("Cache-Status"); strings.Contains(cs, "stale") {
						t.Errorf("Cache-Status %q: a body timeout is not an unreachable origin", cs)
					}
				}
			})
		}
	}
}

// TestBodyTimeoutNormalUpload sends bodies at loopback speed under a tiny
// timeout: they pass, whole, and the connection serves the next request.
func TestBodyTimeoutNormalUpload(t *testing.T) {
	o, results := bodyOrigin(t)
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, ""), BodyTimeout: 200 * time.Millisecond, BodyMinRate: 1}))
	tests := []struct {
		name   string
		size   int
		length bool // Content-Length, else chunked
	}{
		{"small", 10, true},
		{"1 MiB", 1 << 20, true},
		{"1 MiB chunked", 1 << 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(strings.Repeat("y", tt.size))
			if !tt.length {
				body = io.MultiReader(body) // unknown length: chunked
			}
			req, err := http.NewRequest(http.MethodPut, srv.URL+"/up", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("got %d", tt.size); resp.StatusCode != 200 || string(b) != want {
				t.Errorf("%d %q, want 200 %q", resp.StatusCode, b, want)
			}
			if res := <-results; res.err != nil || res.n != tt.size {
				t.Errorf("upstream got %d bytes (%v)", res.n, res.err)
			}
		})
	}
	// The deadline ends with the body: an upstream slower to answer than
	// the body timeout is not cut, on a new connection nor a reused one.
	slow := newRawOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(250 * time.Millisecond) // a real slow upstream: the deadline is a real one
		io.WriteString(w, "late")
	})
	u := o.url(t, "")
	u.Host = slow.Listener.Addr().String()
	srv2, c2 := serve(t, newProxy(t, proxy.Config{Upstream: u, BodyTimeout: 100 * time.Millisecond}))
	for range 2 {
		resp, err := c2.Post(srv2.URL+"/up", "text/plain", strings.NewReader("z"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "late" {
			t.Errorf("slow answer after the body: %d %q", resp.StatusCode, b)
		}
	}
}

// newRawOrigin is an httptest upstream running h, closed at the end of the
// test.
func newRawOrigin(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestBodyTimeoutHTTP2 trickles a body over HTTP/2, where the deadline is
// the stream's, not the connection's.
func TestBodyTimeoutHTTP2(t *testing.T) {
	o, results := bodyOrigin(t)
	srv := httptest.NewUnstartedServer(newProxy(t, proxy.Config{Upstream: o.url(t, ""), BodyTimeout: 200 * time.Millisecond}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := srv.Client()
	t.Cleanup(c.CloseIdleConnections)

	pr, pw := io.Pipe()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer pw.Close()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range 20 {
			if _, err := pw.Write([]byte("h")); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	defer func() {
		close(stop)
		pr.CloseWithError(errors.New("test over"))
		wg.Wait()
	}()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/up", pr)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	elapsed := time.Since(start)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
		}
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("status %d, want 408", resp.StatusCode)
		}
	}
	if elapsed > time.Second {
		t.Errorf("answered after %v: want soon after the 200ms timeout, well before the 2s trickle ends", elapsed)
	}
	select {
	case res := <-results:
		if res.err == nil {
			t.Errorf("upstream got a whole body of %d bytes", res.n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the upstream request was neither completed nor abandoned")
	}
}
