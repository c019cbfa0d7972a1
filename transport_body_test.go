// Transport tests on response bodies: cut short, closed early, decoded,
// larger than the max object size, and the store never waited for.

package larder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
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
			c := &http.Client{Transport: f.tr, Timeout: time.Second}
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
	// With WithETags the cache holds the header until the body is
	// complete: the caller gets the error instead of a 200.
	for _, opts := range [][]larder.Option{nil, {larder.WithETags()}} {
		f := newClientFixture(t, nil, opts...)
		calls := o.n()
		for range 2 {
			resp, err := f.c.Get(o.srv.URL + "/short")
			if err != nil {
				if len(opts) == 0 {
					t.Fatal(err)
				}
				continue
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Errorf("read %d %q without an error", resp.StatusCode, b)
			}
			_ = f.tr.Close()
		}
		if o.n()-calls != 2 || f.store.len() != 0 {
			t.Errorf("origin called %d times, %d entries stored; want 2 and 0", o.n()-calls, f.store.len())
		}
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
