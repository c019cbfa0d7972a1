package larder_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// patternAt is byte i of the test bodies: any byte can be checked without
// keeping the body.
func patternAt(i int64) byte { return byte(uint64(i) * 0x9E3779B97F4A7C15 >> 56) }

func pattern(off, n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = patternAt(off + int64(i))
	}
	return b
}

// bigOrigin answers GET with n bytes of the pattern, written 32 KiB at a
// time, with an ETag (it answers a matching If-None-Match with 304) and
// max-age=60.
type bigOrigin struct {
	n        int64
	noLength bool         // no Content-Length
	length   int64        // a Content-Length to send other than n (0: n)
	panicAt  int64        // > 0: panic after writing this many bytes
	version  atomic.Int64 // in the ETag: an unsafe request bumps it
	calls    atomic.Int64
	// With hold set, the first GET waits after writing half its body,
	// after closing entered, until release is closed.
	hold             bool
	entered, release chan struct{}
	heap             *heapPeak
	cc               string       // Cache-Control, if not max-age=60
	noETag           bool         // no ETag
	fail             atomic.Bool  // answer 500
	full             atomic.Int64 // responses with a body
}

func (o *bigOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		o.version.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if o.fail.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	tag := `"big` + strconv.FormatInt(o.version.Load(), 10) + `"`
	cc := o.cc
	if cc == "" {
		cc = "max-age=60"
	}
	w.Header().Set("Cache-Control", cc)
	if !o.noETag {
		w.Header().Set("ETag", tag)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !o.noLength {
		n := o.n
		if o.length != 0 {
			n = o.length
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	o.full.Add(1)
	hold := o.hold
	o.hold = false
	buf := make([]byte, 32<<10)
	for off := int64(0); off < o.n; {
		if hold && off >= o.n/2 {
			close(o.entered)
			<-o.release
			hold = false
		}
		if o.panicAt > 0 && off >= o.panicAt {
			panic("origin failed")
		}
		p := buf[:min(int64(len(buf)), o.n-off)]
		for i := range p {
			p[i] = patternAt(off + int64(i))
		}
		if _, err := w.Write(p); err != nil {
			return
		}
		off += int64(len(p))
		o.heap.sample()
	}
}

// heapPeak is the largest HeapInuse seen, sampled every 64th call.
type heapPeak struct {
	mu    sync.Mutex
	calls int
	max   uint64
}

func (h *heapPeak) sample() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.calls++; h.calls%64 != 0 {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.max = max(h.max, ms.HeapInuse)
}

// checkWriter is a ResponseWriter that checks the body against the
// pattern from off, without keeping it.
type checkWriter struct {
	h      http.Header
	status int
	off    int64 // the pattern offset of the body's first byte
	n      int64
	bad    int64 // bytes that differ from the pattern
	failAt int64 // > 0: writes fail once this many bytes were written
	heap   *heapPeak
	// onWrite, if set, is called with the body bytes written so far.
	onWrite func(total int64)
}

func newCheckWriter() *checkWriter { return &checkWriter{h: make(http.Header)} }

func (w *checkWriter) Header() http.Header { return w.h }
func (w *checkWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

var errClientGone = errors.New("client gone")

func (w *checkWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.failAt > 0 && w.n+int64(len(p)) > w.failAt {
		return 0, errClientGone
	}
	for i, c := range p {
		if c != patternAt(w.off+w.n+int64(i)) {
			w.bad++
		}
	}
	w.n += int64(len(p))
	w.heap.sample()
	if w.onWrite != nil {
		w.onWrite(w.n)
	}
	return len(p), nil
}

// streamStore is a disk store that counts what is read of the bodies it
// gives as streams, and the bodies open, and can make them fail.
type streamStore struct {
	*disk.Store
	read    atomic.Int64 // body bytes read from GetStream's bodies
	streams atomic.Int64 // GetStream calls
	opened  atomic.Int64
	closed  atomic.Int64
	failAt  atomic.Int64 // > 0: a body fails after this many bytes
	plain   bool         // bodies without ReadAt and Seek

	// blockSet makes SetStream wait, reading nothing, until its context ends.
	blockSet bool
	// lateGet makes GetStream wait until its context ends, then answer
	// anyway, as a store that ignores its context does.
	lateGet atomic.Bool
}

func newStreamStore(t *testing.T, clk *clock) *streamStore {
	t.Helper()
	return newStreamStoreOpts(t, clk, disk.Options{MaxBytes: 1 << 30, MaxEntryBytes: 512 << 20, NoSync: true})
}

func newStreamStoreOpts(t *testing.T, clk *clock, opts disk.Options) *streamStore {
	t.Helper()
	if clk != nil {
		opts.Clock = clk.Now
	}
	d, err := disk.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &streamStore{Store: d}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if o, c := s.opened.Load(), s.closed.Load(); o != c {
			t.Errorf("%d bodies opened, %d closed", o, c)
		}
	})
	return s
}

var errInjected = errors.New("injected body failure")

func (s *streamStore) GetStream(ctx context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	s.streams.Add(1)
	if s.lateGet.Load() {
		<-ctx.Done()
		ctx = context.WithoutCancel(ctx)
	}
	e, rc, n, err := s.Store.GetStream(ctx, key)
	if err != nil {
		return e, rc, n, err
	}
	s.opened.Add(1)
	b := &countedBody{s: s, rc: rc}
	if s.plain {
		return e, plainBody{b}, n, nil
	}
	return e, b, n, nil
}

func (s *streamStore) SetStream(ctx context.Context, key string, meta *larder.Entry, body io.Reader, size int64, ttl time.Duration) error {
	if s.blockSet {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.SetStream(ctx, key, meta, body, size, ttl)
}

type countedBody struct {
	s      *streamStore
	rc     io.ReadCloser
	n      int64
	closed atomic.Bool
}

func (b *countedBody) limit(off int64, p []byte) ([]byte, error) {
	if at := b.s.failAt.Load(); at > 0 {
		if off >= at {
			return nil, errInjected
		}
		p = p[:min(int64(len(p)), at-off)]
	}
	return p, nil
}

func (b *countedBody) Read(p []byte) (int, error) {
	p, err := b.limit(b.n, p)
	if err != nil {
		return 0, err
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	b.s.read.Add(int64(n))
	return n, err
}

func (b *countedBody) ReadAt(p []byte, off int64) (int, error) {
	q, err := b.limit(off, p)
	if err != nil {
		return 0, err
	}
	n, err := b.rc.(io.ReaderAt).ReadAt(q, off)
	b.s.read.Add(int64(n))
	if err == nil && n < len(p) {
		err = errInjected
	}
	return n, err
}

func (b *countedBody) Seek(off int64, whence int) (int64, error) {
	pos, err := b.rc.(io.Seeker).Seek(off, whence)
	if err == nil {
		b.n = pos
	}
	return pos, err
}

func (b *countedBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.s.closed.Add(1)
	}
	return b.rc.Close()
}

// plainBody hides countedBody's ReadAt and Seek.
type plainBody struct{ b *countedBody }

func (p plainBody) Read(q []byte) (int, error) { return p.b.Read(q) }
func (p plainBody) Close() error               { return p.b.Close() }
