package larder_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// TestTransportCoalescing: concurrent identical requests make one request
// to the origin, and every caller gets the body.
func TestTransportCoalescing(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("shared"))
	})
	var collapsed atomic.Int64
	f := newClientFixture(t, nil, larder.WithObserver(func(ev larder.Event) {
		if ev.Collapsed {
			collapsed.Add(1)
		}
	}))
	const n = 8
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, err := f.c.Get(o.srv.URL + "/hot")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies[i] = string(b)
		})
	}
	<-started
	// The others wait for the leader's flight while the origin holds its
	// answer.
	waitForWaiters(t, n-1)
	close(release)
	wg.Wait()
	for i, b := range bodies {
		if b != "shared" {
			t.Errorf("caller %d got %q", i, b)
		}
	}
	if o.n() != 1 {
		t.Errorf("origin called %d times, want 1", o.n())
	}
	if collapsed.Load() == 0 {
		t.Error("no request was collapsed onto the leader's")
	}
}

// TestTransportHTTP2: an HTTP/2 base transport; the origin's protocol is
// reported on responses that came from it.
func TestTransportHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	f := newClientFixture(t, srv.Client().Transport)
	req, _ := http.NewRequest("GET", srv.URL+"/h2", nil)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0" || resp.ProtoMajor != 2 || resp.TLS == nil {
		t.Fatalf("miss: body %q, proto %s, TLS %v", b, resp.Proto, resp.TLS != nil)
	}
	f.do("GET", srv.URL+"/h2").check(t, 200, "HTTP/2.0", "hit")
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

// TestTransportRequestContract: RoundTrip does not modify the caller's
// request, and closes its body also when the cache answers.
func TestTransportRequestContract(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"e"`)
		if r.Header.Get("If-None-Match") == `"e"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("x"))
	})
	f := newClientFixture(t, nil)
	for i, step := range []func(){func() {}, func() {}, func() { f.clock.Advance(time.Hour) }} {
		step()
		body := &closeCounter{Reader: strings.NewReader("")}
		req, _ := http.NewRequest("GET", o.srv.URL+"/a/../b?q=1", nil)
		req.Body = body
		req.Header.Set("Accept", "text/plain")
		before := req.Clone(context.Background())
		resp, err := f.tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_ = f.tr.Close()
		if !reflect.DeepEqual(req.Header, before.Header) || *req.URL != *before.URL || req.Host != before.Host {
			t.Errorf("step %d: the request was modified: %v %v", i, req.Header, req.URL)
		}
		if resp.Request != req {
			t.Errorf("step %d: Response.Request is not the caller's request", i)
		}
		if body.closed.Load() == 0 {
			t.Errorf("step %d: the request body was not closed", i)
		}
	}
	if o.n() != 2 {
		t.Errorf("origin called %d times, want 2", o.n())
	}
}

// TestTransportOddRequests: a request without a Header map, and an upgrade,
// which goes to the base transport untouched.
func TestTransportOddRequests(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "echo" {
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "echo")
			w.WriteHeader(http.StatusSwitchingProtocols)
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			line, _ := brw.ReadString('\n')
			_, _ = brw.WriteString("echo: " + line)
			_ = brw.Flush()
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"e"`)
		_, _ = w.Write([]byte("x"))
	})
	f := newClientFixture(t, nil)
	for range 2 {
		req, _ := http.NewRequest("GET", o.srv.URL+"/nil-header", nil)
		req.Header = nil
		resp, err := f.tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if req.Header != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, request header %v", resp.StatusCode, req.Header)
		}
	}
	if o.n() != 1 {
		t.Errorf("origin called %d times, want 1", o.n())
	}

	req, _ := http.NewRequest("GET", o.srv.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		t.Fatalf("status %d, body %T: not a connection", resp.StatusCode, resp.Body)
	}
	if _, err := rw.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len("echo: hi\n"))
	if _, err := io.ReadFull(rw, b); err != nil || string(b) != "echo: hi\n" {
		t.Errorf("read %q, %v", b, err)
	}
}

// waitForWaiters waits until n goroutines wait for a coalescing flight,
// as their stacks show, or fails the test after a while.
func waitForWaiters(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for range 500 {
		k := runtime.Stack(buf, true)
		waiting := 0 // goroutines, each counted once whatever its frames
		for _, g := range bytes.Split(buf[:k], []byte("\n\n")) {
			if bytes.Contains(g, []byte("larder.(*flight).wait")) {
				waiting++
			}
		}
		if waiting >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d requests wait for the flight", n)
}
