package larder_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// TestStreamFillNotStored: a streaming fill that is cut short stores
// nothing, neither the response nor its body.
func TestStreamFillNotStored(t *testing.T) {
	const n = 4 << 20
	for _, tc := range []struct {
		name   string
		origin *bigOrigin
		client func(*checkWriter, *http.Request) *http.Request
		opts   []larder.Option
	}{
		{name: "client gone", origin: &bigOrigin{n: n}, client: func(w *checkWriter, r *http.Request) *http.Request {
			w.failAt = 2 << 20
			return r
		}},
		{name: "no-length client gone", origin: &bigOrigin{n: n, noLength: true}, client: func(w *checkWriter, r *http.Request) *http.Request {
			w.failAt = 2 << 20
			return r
		}},
		{name: "request cancelled", origin: &bigOrigin{n: n}, client: func(w *checkWriter, r *http.Request) *http.Request {
			ctx, cancel := context.WithCancel(r.Context())
			w.onWrite = func(total int64) {
				if total > 2<<20 {
					cancel()
				}
			}
			return r.WithContext(ctx)
		}},
		{name: "handler panics", origin: &bigOrigin{n: n, panicAt: 2 << 20}},
		{name: "no-length handler panics", origin: &bigOrigin{n: n, noLength: true, panicAt: 2 << 20}},
		{name: "short body", origin: &bigOrigin{n: n, length: n + 1}},
		{name: "over the max object size", origin: &bigOrigin{n: n}, opts: []larder.Option{larder.WithMaxObjectSize(3 << 20)}},
		{name: "no-length over the max object size", origin: &bigOrigin{n: n, noLength: true}, opts: []larder.Option{larder.WithMaxObjectSize(3 << 20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreamStore(t, nil)
			c := streamCache(t, s, nil, tc.opts...)
			h := c.Middleware(tc.origin)
			w := newCheckWriter()
			r := httptest.NewRequest("GET", "/cut", nil)
			if tc.client != nil {
				r = tc.client(w, r)
			}
			func() {
				defer func() { _ = recover() }()
				h.ServeHTTP(w, r)
			}()
			_ = c.Close()
			if st := s.Stats(); st.Entries != 0 {
				t.Fatalf("%d entries stored, want none", st.Entries)
			}
			tc.origin.panicAt = 0
			serveCheck(h, "GET", "/cut")
			expectOrigin(t, tc.origin, 2)
		})
	}
}

// TestStreamFillInvalidationRace: a streaming fill whose lookup came before
// an invalidation (or a purge) of its URL is not stored after it, though
// its body is: the new version is fetched next.
func TestStreamFillInvalidationRace(t *testing.T) {
	for _, purge := range []bool{false, true} {
		t.Run("purge="+strconv.FormatBool(purge), func(t *testing.T) {
			s := newStreamStore(t, nil)
			c := streamCache(t, s, nil)
			o := &bigOrigin{n: 3 << 20, hold: true, entered: make(chan struct{}), release: make(chan struct{})}
			h := c.Middleware(o)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				wantBody(t, serveCheck(h, "GET", "/race"), 200, o.n)
			}()
			<-o.entered
			if purge {
				if err := c.Purge(t.Context(), "http://example.com/race"); err != nil {
					t.Error(err)
				}
			} else if w := serveCheck(h, "PUT", "/race"); w.status != http.StatusNoContent {
				t.Errorf("PUT: %d", w.status)
			}
			close(o.release)
			wg.Wait()
			_ = c.Close()
			// Only the tombstones are left (a purge leaves one for http and
			// one for https): the fill's body was deleted.
			want := 1
			if purge {
				want = 2
			}
			if st := s.Stats(); st.Entries != want {
				t.Fatalf("%d entries stored, want %d (the tombstones)", st.Entries, want)
			}
			calls := o.calls.Load()
			w := serveCheck(h, "GET", "/race")
			wantBody(t, w, 200, o.n)
			if got := o.calls.Load(); got != calls+1 {
				t.Fatalf("the GET after the invalidation was answered from the cache (Cache-Status %q)", w.h.Get("Cache-Status"))
			}
		})
	}
}

// TestStreamSlowStore: a store that does not read a streamed body never
// holds up the client beyond the store timeout; the response is not stored.
func TestStreamSlowStore(t *testing.T) {
	s := newStreamStore(t, nil)
	s.blockSet = true
	var ev larder.Event
	c := streamCache(t, s, nil, larder.WithStoreTimeout(20*time.Millisecond), larder.WithObserver(func(e larder.Event) { ev = e }))
	h := c.Middleware(&bigOrigin{n: 4 << 20})
	wantBody(t, serveCheck(h, "GET", "/slow"), 200, 4<<20)
	if ev.Stored || ev.NotStored != "queue-full" {
		t.Fatalf("Stored %v, NotStored %q; want false, queue-full", ev.Stored, ev.NotStored)
	}
	_ = c.Close()
	if st := s.Stats(); st.Entries != 0 {
		t.Fatalf("%d entries stored, want none", st.Entries)
	}
}

// TestStreamLateGetStream: a body that the store gives after the cache gave
// up on the call (the store timeout) is closed: no file stays open.
func TestStreamLateGetStream(t *testing.T) {
	s := newStreamStore(t, nil)
	var ev larder.Event
	c := streamCache(t, s, nil, larder.WithObserver(func(e larder.Event) { ev = e }))
	o := &bigOrigin{n: 300 << 10}
	h := c.Middleware(o)
	serveCheck(h, "GET", "/late")
	_ = c.Close()
	s.lateGet.Store(true)
	c2 := streamCache(t, s, nil, larder.WithStoreTimeout(10*time.Millisecond), larder.WithObserver(func(e larder.Event) { ev = e }))
	wantBody(t, serveCheck(c2.Middleware(o), "GET", "/late"), 200, o.n)
	if !errors.Is(ev.StoreErr, larder.ErrStoreTimeout) {
		t.Fatalf("StoreErr %v, want ErrStoreTimeout", ev.StoreErr)
	}
	s.lateGet.Store(false)
	_ = c2.Close()
	// The late bodies are closed by the goroutines that got them; the
	// store's cleanup checks that every body opened was closed.
	for range 100 {
		if s.opened.Load() == s.closed.Load() && s.opened.Load() > 0 {
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d bodies opened, %d closed", s.opened.Load(), s.closed.Load())
}

// TestStreamVary: bodies stored apart for the variants of a URL.
func TestStreamVary(t *testing.T) {
	s := newStreamStore(t, nil)
	c := streamCache(t, s, nil, larder.WithVary("Accept-Language"))
	o := &bigOrigin{n: 2 << 20}
	h := c.Middleware(o)
	for _, lang := range []string{"en", "de", "en", "de"} {
		wantBody(t, serveCheck(h, "GET", "/v", "Accept-Language", lang), 200, o.n)
		_ = c.Close()
	}
	expectOrigin(t, o, 2)
}

// TestStreamGeneratedETag: with WithETags, a body held to generate its
// ETag that outgrows the body buffer is released (sent without the ETag,
// as on a flush) and streamed into the store.
func TestStreamGeneratedETag(t *testing.T) {
	for _, noLength := range []bool{false, true} {
		t.Run("no-length="+strconv.FormatBool(noLength), func(t *testing.T) {
			s := newStreamStore(t, nil)
			c := streamCache(t, s, nil, larder.WithETags())
			o := &bigOrigin{n: 3 << 20, noETag: true, noLength: noLength}
			h := c.Middleware(o)
			wantBody(t, serveCheck(h, "GET", "/e"), 200, o.n)
			_ = c.Close()
			w := serveCheck(h, "GET", "/e")
			wantBody(t, w, 200, o.n)
			if !strings.Contains(w.h.Get("Cache-Status"), "; hit") || w.h.Get("Etag") != "" {
				t.Fatalf("Cache-Status %q, ETag %q: want a hit without a generated ETag", w.h.Get("Cache-Status"), w.h.Get("Etag"))
			}
			expectOrigin(t, o, 1)
		})
	}
}

// TestStreamStaleIfError: a stale response whose body is stored apart
// replaces an error, whole.
func TestStreamStaleIfError(t *testing.T) {
	clk := newClock()
	s := newStreamStore(t, clk)
	c := streamCache(t, s, clk)
	o := &bigOrigin{n: 3 << 20, cc: "max-age=60, stale-if-error=600"}
	h := c.Middleware(o)
	wantBody(t, serveCheck(h, "GET", "/sie"), 200, o.n)
	_ = c.Close()
	clk.Advance(2 * time.Minute)
	o.fail.Store(true)
	w := serveCheck(h, "GET", "/sie")
	wantBody(t, w, 200, o.n)
	if !strings.Contains(w.h.Get("Cache-Status"), "stale-if-error") {
		t.Fatalf("Cache-Status %q", w.h.Get("Cache-Status"))
	}
	s.read.Store(0)
	if w := serveCheck(h, "HEAD", "/sie"); w.status != 200 || s.read.Load() != 0 {
		t.Fatalf("HEAD with stale-if-error: %d, %d body bytes read", w.status, s.read.Load())
	}
	expectOrigin(t, o, 3)
}

// TestStreamCoalescing: concurrent requests for a cold URL whose body is
// streamed into the store make one origin request; the waiters are served
// the body from the store once it is stored.
func TestStreamCoalescing(t *testing.T) {
	s := newStreamStore(t, nil)
	c := streamCache(t, s, nil)
	o := &bigOrigin{n: 3 << 20, hold: true, entered: make(chan struct{}), release: make(chan struct{})}
	h := c.Middleware(o)
	const n = 20
	var wg sync.WaitGroup
	ws := make([]*checkWriter, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws[i] = serveCheck(h, "GET", "/co")
		}()
	}
	<-o.entered
	// Let the others join the flight before the leader's response is
	// complete (on a loaded machine a fixed pause may not be enough).
	waitForWaiters(t, n-1)
	close(o.release)
	wg.Wait()
	collapsed := 0
	for _, w := range ws {
		wantBody(t, w, 200, o.n)
		if strings.Contains(w.h.Get("Cache-Status"), "collapsed") {
			collapsed++
		}
	}
	if got := o.calls.Load(); got != 1 || collapsed == 0 {
		for i, w := range ws {
			t.Logf("response %d: %s", i, w.h.Get("Cache-Status"))
		}
		t.Fatalf("%d origin requests, %d collapsed responses; want 1 and some", got, collapsed)
	}
}

// TestStreamStoreRefuses: a body the store finds too large is not stored,
// the store's error is reported, and the client gets the whole response.
func TestStreamStoreRefuses(t *testing.T) {
	s := newStreamStoreOpts(t, nil, disk.Options{MaxBytes: 64 << 20, MaxEntryBytes: 2 << 20, NoSync: true})
	var ev larder.Event
	c := streamCache(t, s, nil, larder.WithObserver(func(e larder.Event) { ev = e }))
	for _, noLength := range []bool{false, true} {
		o := &bigOrigin{n: 4 << 20, noLength: noLength}
		h := c.Middleware(o)
		wantBody(t, serveCheck(h, "GET", "/refused"), 200, o.n)
		if ev.Stored || !errors.Is(ev.StoreErr, larder.ErrBodyTooLarge) {
			t.Fatalf("no-length=%v: Stored %v, StoreErr %v; want ErrBodyTooLarge", noLength, ev.Stored, ev.StoreErr)
		}
		_ = c.Close()
		if st := s.Stats(); st.Entries != 0 {
			t.Fatalf("%d entries stored, want none", st.Entries)
		}
	}
}

// TestStreamRenewBody: a response whose body is stored apart, refreshed
// when its body has less than half of the refreshed response's time left,
// gets a copy of the body (from the store to the store), so that it
// outlives the first body; before that, a refresh keeps the body.
func TestStreamRenewBody(t *testing.T) {
	clk := newClock()
	s := newStreamStore(t, clk)
	c := streamCache(t, s, clk)
	o := &bigOrigin{n: 3 << 20}
	h := c.Middleware(o)
	wantBody(t, serveCheck(h, "GET", "/renew"), 200, o.n)
	_ = c.Close()
	// Stored for 61 minutes (max-age=60 and an hour of stale retention).
	for _, step := range []struct {
		advance time.Duration
		read    int64 // body bytes read by the revalidation
	}{
		{2 * time.Minute, 0},    // 59 of 61 minutes left: kept
		{40 * time.Minute, o.n}, // 19 left: copied
		{30 * time.Minute, 0},   // the first body expired; the copy lives on
	} {
		clk.Advance(step.advance)
		s.read.Store(0)
		if w := serveCheck(h, "HEAD", "/renew"); w.status != 200 {
			t.Fatalf("HEAD after %v: %d", step.advance, w.status)
		}
		_ = c.Close()
		if got := s.read.Load(); got != step.read {
			t.Fatalf("after %v: the revalidation read %d body bytes, want %d", step.advance, got, step.read)
		}
		wantBody(t, serveCheck(h, "GET", "/renew"), 200, o.n)
	}
	if got := o.full.Load(); got != 1 {
		t.Fatalf("%d full responses from the origin, want 1 (then 304s)", got)
	}
}

// TestStreamBackgroundRevalidation: a stale response served while it is
// revalidated in the background (stale-while-revalidate), its body read as
// a stream by the client's request; the background revalidation reads it
// again, on its own, to store it with the 304's header.
func TestStreamBackgroundRevalidation(t *testing.T) {
	for _, n := range []int64{300 << 10, 3 << 20} {
		t.Run(strconv.FormatInt(n, 10), func(t *testing.T) {
			clk := newClock()
			s := newStreamStore(t, clk)
			c := streamCache(t, s, clk)
			o := &bigOrigin{n: n, cc: "max-age=60, stale-while-revalidate=600"}
			h := c.Middleware(o)
			wantBody(t, serveCheck(h, "GET", "/swr"), 200, n)
			_ = c.Close()
			clk.Advance(2 * time.Minute)
			w := serveCheck(h, "GET", "/swr")
			wantBody(t, w, 200, n)
			if !strings.Contains(w.h.Get("Cache-Status"), "stale-while-revalidate") {
				t.Fatalf("Cache-Status %q", w.h.Get("Cache-Status"))
			}
			_ = c.Close() // the background revalidation is done
			expectOrigin(t, o, 2)
			w = serveCheck(h, "GET", "/swr")
			wantBody(t, w, 200, n)
			if cs := w.h.Get("Cache-Status"); !strings.Contains(cs, "; hit") || strings.Contains(cs, "stale") {
				t.Fatalf("after the revalidation: Cache-Status %q, want a fresh hit", cs)
			}
			expectOrigin(t, o, 2)
			if o.full.Load() != 1 {
				t.Fatalf("%d full responses, want 1", o.full.Load())
			}
		})
	}
}
