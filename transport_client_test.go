package larder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"go.uber.org/goleak"
)

// chunkedOrigin writes "part1", flushes, then waits for release (or the
// request's end) before writing "part2". Its responses are fresh for a
// minute.
func chunkedOrigin(t *testing.T, release <-chan struct{}) *netOrigin {
	return newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("part1"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte("part2"))
	})
}

// TestTransportBodyCutShort: a body the caller does not read whole is not
// stored: its context cancelled mid-body, the body closed early, or the
// client's timeout. No goroutine outlives the exchange.
func TestTransportBodyCutShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(t *testing.T, f *clientFixture, url string)
	}{
		{"context cancelled mid-body", func(t *testing.T, f *clientFixture, url string) {
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			resp, err := f.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, 5)
			if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "part1" {
				t.Fatalf("first part: %q, %v", buf, err)
			}
			cancel()
			if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
				t.Errorf("read after cancel: %v, want context.Canceled", err)
			}
		}},
		{"body closed early", func(t *testing.T, f *clientFixture, url string) {
			resp, err := f.c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 3)
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if _, err := resp.Body.Read(buf); err == nil {
				t.Error("read after close succeeded")
			}
		}},
		{"client timeout", func(t *testing.T, f *clientFixture, url string) {
			c := &http.Client{Transport: f.tr, Timeout: 200 * time.Millisecond}
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); err == nil {
				t.Error("read past the client timeout succeeded")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			release := make(chan struct{})
			o := chunkedOrigin(t, release)
			base := &http.Transport{}
			c := newClock()
			s := newMapStore(c)
			tr := larder.NewTransport(base, s, larder.WithClock(c.Now))
			f := &clientFixture{t: t, clock: c, store: s, tr: tr, c: &http.Client{Transport: tr}}
			tc.cut(t, f, o.srv.URL+"/c")
			if err := tr.Close(); err != nil { // every exchange over
				t.Fatal(err)
			}
			if n := s.len(); n != 0 {
				t.Errorf("%d entries stored from a body cut short", n)
			}
			close(release)
			f.do("GET", o.srv.URL+"/c").check(t, 200, "part1part2", "fwd=uri-miss; stored")
			f.do("GET", o.srv.URL+"/c").check(t, 200, "part1part2", "hit")
			_ = tr.Close()
			base.CloseIdleConnections()
			o.srv.Close()
		})
	}
}

// TestTransportJSONDecode: a caller that decodes a JSON body and closes it
// without reading to EOF read every byte the origin announced: the
// response is stored.
func TestTransportJSONDecode(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"login":"octocat"}`))
	})
	f := newClientFixture(t, nil)
	for i := range 2 {
		resp, err := f.c.Get(o.srv.URL + "/user")
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Login string }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Login != "octocat" {
			t.Fatalf("decode: %v %+v", err, v)
		}
		resp.Body.Close()
		if i == 0 {
			_ = f.tr.Close()
		}
	}
	if o.n() != 1 {
		t.Errorf("origin called %d times, want 1", o.n())
	}
}

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
	// The others find the leader's flight while the origin holds its
	// answer (or, arriving later, the stored response).
	time.Sleep(100 * time.Millisecond)
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

// TestTransportLargeBody: a body larger than the max object size streams
// through unstored, as the pipe delivers it.
func TestTransportLargeBody(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(big)
	})
	f := newClientFixture(t, nil, larder.WithMaxObjectSize(64<<10))
	for range 2 {
		g := f.do("GET", o.srv.URL+"/big")
		if g.body != string(big) {
			t.Fatalf("body of %d bytes, want %d", len(g.body), len(big))
		}
	}
	if o.n() != 2 {
		t.Errorf("origin called %d times, want 2", o.n())
	}
}

// TestTransportFromStorage: ranges, HEAD and the caller's preconditions
// answered from a stored response, with X-From-Cache when asked for.
func TestTransportFromStorage(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"e"`)
		_, _ = w.Write([]byte("0123456789"))
	})
	f := newClientFixture(t, nil, larder.WithFromCacheHeader())
	f.do("GET", o.srv.URL+"/r").check(t, 200, "0123456789", "stored")
	for _, tc := range []struct {
		name   string
		method string
		hdr    []string
		status int
		body   string
		length string
	}{
		{"hit", "GET", nil, 200, "0123456789", "10"},
		{"range", "GET", []string{"Range", "bytes=2-4"}, 206, "234", "3"},
		{"head", "HEAD", nil, 200, "", "10"},
		{"if-none-match", "GET", []string{"If-None-Match", `"e"`}, 304, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := f.do(tc.method, o.srv.URL+"/r", tc.hdr...)
			g.check(t, tc.status, tc.body, "hit")
			if g.header.Get("X-From-Cache") != "1" || g.header.Get("Content-Length") != tc.length {
				t.Errorf("X-From-Cache %q, Content-Length %q, want 1 and %q",
					g.header.Get("X-From-Cache"), g.header.Get("Content-Length"), tc.length)
			}
		})
	}
	if o.n() != 1 {
		t.Errorf("origin called %d times, want 1", o.n())
	}
}

// TestTransportOriginCutShort: an origin that closes the connection before
// the end of its body: the caller gets an error reading it, and nothing is
// stored.
func TestTransportOriginCutShort(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("only part"))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	f := newClientFixture(t, nil)
	for range 2 {
		resp, err := f.c.Get(o.srv.URL + "/short")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("read %q without an error", b)
		}
		_ = f.tr.Close()
	}
	if o.n() != 2 || f.store.len() != 0 {
		t.Errorf("origin called %d times, %d entries stored; want 2 and 0", o.n(), f.store.len())
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

// blockingStore is a store over the "network" (not a NonBlockingStore)
// whose writes wait until released.
type blockingStore struct {
	*mapStore
	release chan struct{}
}

func (s *blockingStore) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	<-s.release
	return s.mapStore.Set(ctx, key, e, ttl)
}

// NonBlocking reports false: the cache calls it with a deadline and writes
// behind the response.
func (s *blockingStore) NonBlocking() bool { return false }

// TestTransportStoreNeverBlocks: the caller reads its whole response while
// the store's write is still waiting.
func TestTransportStoreNeverBlocks(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("body"))
	})
	clk := newClock()
	s := &blockingStore{mapStore: newMapStore(clk), release: make(chan struct{})}
	tr := larder.NewTransport(nil, s, larder.WithClock(clk.Now), larder.WithStoreTimeout(time.Minute))
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	f := &clientFixture{t: t, clock: clk, tr: tr, c: &http.Client{Transport: tr}}
	done := make(chan got, 1)
	go func() { done <- f.do("GET", o.srv.URL+"/slow-store") }()
	select {
	case g := <-done:
		g.check(t, 200, "body", "stored")
	case <-time.After(10 * time.Second):
		t.Fatal("the caller waited for the store's write")
	}
	close(s.release)
	_ = tr.Close()
	if n := s.len(); n != 1 {
		t.Errorf("%d entries stored, want 1", n)
	}
	f.do("GET", o.srv.URL+"/slow-store").check(t, 200, "body", "hit")
}

// TestTransportHitBodiesIndependent: a hit's body reads the stored bytes in
// place; a later hit of another URL must not change a body not yet read
// (the guard of hitResponse's zero-copy Write, should the engine ever write
// a hit from a reused buffer).
func TestTransportHitBodiesIndependent(t *testing.T) {
	o := newNetOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(bytes.Repeat([]byte(r.URL.Path[1:]), 1000))
	})
	f := newClientFixture(t, nil)
	f.do("GET", o.srv.URL+"/a")
	f.do("GET", o.srv.URL+"/b")
	ra, err := f.c.Get(o.srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Body.Close()
	rb, err := f.c.Get(o.srv.URL + "/b")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rb.Body)
	rb.Body.Close()
	b, _ := io.ReadAll(ra.Body)
	if want := strings.Repeat("a", 1000); string(b) != want || !strings.Contains(ra.Header.Get("Cache-Status"), "hit") {
		t.Errorf("body of /a changed: %.20q...", b)
	}
}
