package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregjones/httpcache"
	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/bench/internal/object"
	"github.com/larder-cache/larder/store/memory"
)

// Sizes of the bodies the origin serves.
var sizes = []struct {
	name string
	n    int
}{{"1K", 1 << 10}, {"64K", 64 << 10}}

// storeBudget bounds every peer's store, so that the miss benchmarks (one new
// URL per iteration) evict instead of growing without limit.
const storeBudget = 64 << 20

// origin is the handler every peer fronts: the same object (bench/internal/
// object) for every request, and a count of its calls.
type origin struct {
	*object.Object
	calls atomic.Int64
}

func newOrigin(size int) *origin { return &origin{Object: object.New(size, false)} }

// callCounter is implemented by benchWriter: when the origin writes straight
// to the benchmark's writer (Bare, or a cache that passes the writer through)
// the call is counted there, by one goroutine, so that Bare's parallel runs do
// not contend on a shared counter that a cache's hits never touch.
type callCounter interface{ countOriginCall() }

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, ok := w.(callCounter); ok {
		c.countOriginCall()
	} else {
		o.calls.Add(1)
	}
	o.Serve(w, r)
}

// benchWriter is a minimal reusable http.ResponseWriter, as a server's is: its
// header map is cleared between requests and it only counts the body, keeping
// its first and last bytes for the checks.
type benchWriter struct {
	h           http.Header
	status      int
	n           int
	first, last byte
	calls       int64 // origin calls made with this writer
}

func (w *benchWriter) countOriginCall() { w.calls++ }

func newBenchWriter() *benchWriter { return &benchWriter{h: make(http.Header, 8)} }

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if len(p) > 0 {
		if w.n == 0 {
			w.first = p[0]
		}
		w.last = p[len(p)-1]
	}
	w.n += len(p)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n, w.first, w.last = 0, 0, 0, 0
}

// check returns an error unless the writer got the whole body with a 200, or
// nothing with a 304.
func (w *benchWriter) check(o *origin, want int) error {
	if w.status != want {
		return fmt.Errorf("status %d, want %d", w.status, want)
	}
	if want == http.StatusNotModified {
		if w.n != 0 {
			return fmt.Errorf("304 with %d body bytes", w.n)
		}
		return nil
	}
	if b := o.Body; w.n != len(b) || w.first != b[0] || w.last != b[len(b)-1] {
		return fmt.Errorf("body of %d bytes (first %q, last %q), want %d bytes (%q, %q)",
			w.n, w.first, w.last, len(b), b[0], b[len(b)-1])
	}
	return nil
}

// A peer is one way of serving the origin: the origin alone (the floor) or a
// cache in front of it.
type peer struct {
	name   string
	caches bool // false for Bare: every request reaches the origin
	// wrap returns origin behind the peer and a function that releases it.
	wrap func(tb testing.TB, origin http.Handler) (http.Handler, func())
}

var peers = []peer{
	{name: "Bare", wrap: func(_ testing.TB, o http.Handler) (http.Handler, func()) { return o, func() {} }},
	{name: "Larder", caches: true, wrap: wrapLarder},
	{name: "Gregjones", caches: true, wrap: wrapGregjones},
	{name: "Souin", caches: true, wrap: wrapSouin},
	// github.com/victorspringer/http-cache is not here: the Go module proxy
	// reachable from this project answers 403 ("This module version is not
	// available") for it. See BENCHMARKS.md. Souin is served for exact
	// versions only (@latest is refused): see souin_test.go and go.mod.
}

func peerByName(name string) peer {
	for _, p := range peers {
		if p.name == name {
			return p
		}
	}
	panic("no peer " + name)
}

// wrapLarder puts the origin behind Larder's Middleware with the memory store,
// default options.
func wrapLarder(tb testing.TB, o http.Handler) (http.Handler, func()) {
	s, err := memory.New(memory.Options{MaxBytes: storeBudget})
	if err != nil {
		tb.Fatal(err)
	}
	return larder.New(s).Middleware(o), s.Close
}

// wrapGregjones serves the origin through github.com/gregjones/httpcache, a
// client-side cache, made into an http.Handler: its Transport (with its
// MemoryCache, bounded as below) over a RoundTripper that calls the origin
// handler in process.
func wrapGregjones(_ testing.TB, o http.Handler) (http.Handler, func()) {
	t := httpcache.NewTransport(newBoundedCache(4096))
	t.Transport = handlerTransport{o}
	return &gregHandler{t: t}, func() {}
}

// handlerTransport is an http.RoundTripper that answers with a handler, as a
// server on the other end of a connection would: the body is copied into a
// new buffer and a Date field is added when the handler sets none (net/http's
// server adds one; httpcache needs it to compute freshness).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := &recorder{h: make(http.Header, 8)}
	t.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.h["Date"] == nil {
		rec.h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	}
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.h,
		Body:          io.NopCloser(bytes.NewReader(rec.body)),
		ContentLength: int64(len(rec.body)),
		Request:       req,
	}, nil
}

type recorder struct {
	h      http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, p...)
	return len(p), nil
}

// gregHandler serves the responses of an httpcache.Transport. httpcache is a
// client cache and does not answer the client's own conditional requests, so
// the handler answers a matching If-None-Match with a 304 itself, as any
// server in front of it would have to. The body is copied with a pooled
// buffer, as net/http's response writer does.
type gregHandler struct{ t *httpcache.Transport }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (g *gregHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := g.t.RoundTrip(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if inm := r.Header["If-None-Match"]; len(inm) == 1 && resp.StatusCode == http.StatusOK &&
		inm[0] == resp.Header.Get("Etag") {
		delete(h, "Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(resp.StatusCode)
	buf := copyBufs.Get().(*[]byte)
	_, _ = io.CopyBuffer(w, resp.Body, *buf)
	copyBufs.Put(buf)
}

// boundedCache is httpcache.MemoryCache holding at most max entries (the
// oldest written is dropped first), so that the miss benchmarks do not grow
// the heap without bound. Hits never reach Set, so they pay nothing for it.
type boundedCache struct {
	*httpcache.MemoryCache
	mu   sync.Mutex
	ring []string
	next int
}

func newBoundedCache(max int) *boundedCache {
	return &boundedCache{MemoryCache: httpcache.NewMemoryCache(), ring: make([]string, max)}
}

func (c *boundedCache) Set(key string, resp []byte) {
	c.mu.Lock()
	old := c.ring[c.next]
	c.ring[c.next] = key
	c.next = (c.next + 1) % len(c.ring)
	c.mu.Unlock()
	if old != "" && old != key {
		c.MemoryCache.Delete(old)
	}
	c.MemoryCache.Set(key, resp)
}

// A fixture is one peer in front of one origin.
type fixture struct {
	peer   peer
	origin *origin
	h      http.Handler

	mu      sync.Mutex
	runners []*runner
}

// calls returns how many times the origin was called. It must not run
// concurrently with requests.
func (f *fixture) calls() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.origin.calls.Load()
	for _, rn := range f.runners {
		n += rn.w.calls
	}
	return n
}

func newFixture(tb testing.TB, p peer, size int) *fixture {
	o := newOrigin(size)
	h, release := p.wrap(tb, o)
	tb.Cleanup(release)
	return &fixture{peer: p, origin: o, h: h}
}

// The three paths measured.
const (
	pathHit  = "Hit"  // a fresh stored response, served in full
	path304  = "304"  // a fresh stored response, If-None-Match matches: 304
	pathMiss = "Miss" // a URL never seen before: the origin is called, the response stored
)

const hitURL = "http://example.com/obj"

// newRequest returns a request as a server hands it to its handler.
func newRequest(target string, inm string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		panic(err)
	}
	r.RequestURI = r.URL.RequestURI()
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header["User-Agent"] = []string{"bench"}
	r.Header["Accept"] = []string{"*/*"}
	if inm != "" {
		r.Header["If-None-Match"] = []string{inm}
	}
	return r
}

// missSeq numbers the miss URLs of the whole process, so that no URL repeats
// across benchmarks, rounds or goroutines.
var missSeq atomic.Uint64

// A runner serves one path of one fixture, one request per call, doing per
// request what net/http does: a cancellable context and a shallow copy of the
// request. It is used by one goroutine.
type runner struct {
	f    *fixture
	path string
	base *http.Request
	w    *benchWriter
	want int
	num  []byte
}

func (f *fixture) runner(path string) *runner {
	rn := &runner{f: f, path: path, w: newBenchWriter(), want: http.StatusOK, num: make([]byte, 0, 32)}
	switch path {
	case pathHit:
		rn.base = newRequest(hitURL, "")
	case path304:
		rn.base = newRequest(hitURL, f.origin.ETag)
		rn.want = http.StatusNotModified
	case pathMiss:
		rn.base = newRequest("http://example.com/miss/0", "")
	default:
		panic(path)
	}
	f.mu.Lock()
	f.runners = append(f.runners, rn)
	f.mu.Unlock()
	return rn
}

// serve makes one request and checks the response.
func (rn *runner) serve() error {
	ctx, cancel := context.WithCancel(rn.base.Context())
	r := rn.base.WithContext(ctx)
	if rn.path == pathMiss {
		// A distinct URL per request: one *url.URL and one path string more
		// per iteration, for every peer alike (Bare included).
		u := *r.URL
		rn.num = strconv.AppendUint(append(rn.num[:0], "/miss/"...), missSeq.Add(1), 10)
		u.Path = string(rn.num)
		r.URL = &u
	}
	rn.w.reset()
	rn.f.h.ServeHTTP(rn.w, r)
	cancel()
	return rn.w.check(rn.f.origin, rn.want)
}

// warm stores the response the hit and 304 paths serve: one full request.
// It returns the origin's call count afterwards.
func (f *fixture) warm(tb testing.TB) int64 {
	rn := f.runner(pathHit)
	if err := rn.serve(); err != nil {
		tb.Fatalf("%s warm-up: %v", f.peer.name, err)
	}
	return f.calls()
}

// checkCalls verifies the origin's call count after n served requests: a
// cache must not have called it for hits and 304s, and must have called it
// once per miss; Bare calls it every time.
func (f *fixture) checkCalls(path string, warm, n int64) error {
	got := f.calls()
	want := warm
	if !f.peer.caches || path == pathMiss {
		want += n
	}
	if got != want {
		return fmt.Errorf("%s %s: origin called %d times after %d requests (warm-up %d), want %d",
			f.peer.name, path, got, n, warm, want)
	}
	return nil
}

// prepare warms a fixture for a path and returns the warm-up call count.
func (f *fixture) prepare(tb testing.TB, path string) int64 {
	if path == pathMiss {
		return f.calls()
	}
	return f.warm(tb)
}
