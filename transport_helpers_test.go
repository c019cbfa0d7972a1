package larder_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/larder-cache/larder"
)

// netOrigin is an httptest server that counts the requests it gets and
// keeps their header fields; fn answers them.
type netOrigin struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	seen  []*http.Request // clones of the requests received, without bodies
	fn    http.HandlerFunc
}

func newNetOrigin(t *testing.T, fn http.HandlerFunc) *netOrigin {
	t.Helper()
	o := &netOrigin{fn: fn}
	o.srv = httptest.NewServer(o)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *netOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	o.mu.Lock()
	o.seen = append(o.seen, r.Clone(r.Context()))
	o.mu.Unlock()
	o.fn(w, r)
}

func (o *netOrigin) n() int64 { return o.calls.Load() }

// last returns the last request the origin received.
func (o *netOrigin) last() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) == 0 {
		return nil
	}
	return o.seen[len(o.seen)-1]
}

// clientFixture is an http.Client whose transport is a larder.Transport
// with a fake clock and a map store.
type clientFixture struct {
	t     *testing.T
	clock *clock
	store *mapStore
	tr    *larder.Transport
	c     *http.Client
}

func newClientFixture(t *testing.T, base http.RoundTripper, opts ...larder.Option) *clientFixture {
	t.Helper()
	c := newClock()
	s := newMapStore(c)
	if base == nil {
		base = &http.Transport{}
	}
	tr := larder.NewTransport(base, s, append([]larder.Option{larder.WithClock(c.Now)}, opts...)...)
	f := &clientFixture{t: t, clock: c, store: s, tr: tr, c: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		f.c.CloseIdleConnections()
		_ = tr.Close()
	})
	return f
}

// got is a response read whole.
type got struct {
	status int
	header http.Header
	body   string
}

// get sends a request; hdr is name, value pairs.
func (f *clientFixture) do(method, url string, hdr ...string) got {
	f.t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return got{resp.StatusCode, resp.Header, string(b)}
}

// wantStatus checks a response's status, body and Cache-Status (a
// substring; "" checks nothing).
func (g got) check(t *testing.T, status int, body, cacheStatus string) {
	t.Helper()
	if g.status != status || g.body != body {
		t.Errorf("got %d %q, want %d %q", g.status, g.body, status, body)
	}
	if cs := g.header.Get("Cache-Status"); !strings.Contains(cs, cacheStatus) {
		t.Errorf("Cache-Status %q, want it to contain %q", cs, cacheStatus)
	}
}
