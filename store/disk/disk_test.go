package disk_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/store/disk"
	"github.com/larder-cache/larder/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newFakeClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
}

// openStore opens a store in dir, closed when the test ends.
func openStore(t testing.TB, dir string, opts disk.Options) *disk.Store {
	t.Helper()
	s, err := disk.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func newStore(t testing.TB, opts disk.Options) *disk.Store {
	t.Helper()
	return openStore(t, t.TempDir(), opts)
}

func entry(body []byte) *larder.Entry {
	return &larder.Entry{
		Kind:   larder.KindResponse,
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/octet-stream"}},
		Body:   body,
	}
}

var ctx = context.Background()

func TestConformance(t *testing.T) {
	var clock *fakeclock.Clock
	storetest.Run(t, func(t *testing.T) larder.Store {
		clock = newFakeClock()
		return newStore(t, disk.Options{MaxBytes: 256 << 20, Clock: clock.Now})
	}, storetest.WithAdvance(func(d time.Duration) { clock.Advance(d) }))
}

// TestConformanceFiles runs the suite with the default clock (real ttls),
// every body in a file, and no fsync (which TestConformance covers).
func TestConformanceFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real ttls")
	}
	storetest.Run(t, func(t *testing.T) larder.Store {
		return newStore(t, disk.Options{MaxBytes: 256 << 20, InlineMax: 1, NoSync: true})
	})
}

// mustEncode is e's encoding, by which two entries compare: every exported
// field, a nil body or map apart from an empty one.
func mustEncode(t testing.TB, e *larder.Entry) []byte {
	t.Helper()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSame(t testing.TB, what string, got, want *larder.Entry) {
	t.Helper()
	if !bytes.Equal(mustEncode(t, got), mustEncode(t, want)) {
		t.Fatalf("%s: got %+v (body %d bytes), want %+v (body %d bytes)", what, got, len(got.Body), want, len(want.Body))
	}
}

func mustGet(t testing.TB, s *disk.Store, key string) *larder.Entry {
	t.Helper()
	e, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

func mustMiss(t testing.TB, s *disk.Store, key string) {
	t.Helper()
	if e, err := s.Get(ctx, key); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", key, e, err)
	}
}

func mustSet(t testing.TB, s *disk.Store, key string, e *larder.Entry, ttl time.Duration) {
	t.Helper()
	if err := s.Set(ctx, key, e, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 3))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readStream reads the entry under key with GetStream, its body in Body.
func readStream(t testing.TB, s *disk.Store, key string) *larder.Entry {
	t.Helper()
	meta, body, size, err := s.GetStream(ctx, key)
	if err != nil {
		t.Fatalf("GetStream(%q): %v", key, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil || int64(len(b)) != size {
		t.Fatalf("GetStream(%q): %d bytes of %d, %v", key, len(b), size, err)
	}
	if len(b) > 0 { // a nil body streams as an empty one
		meta.Body = b
	}
	return meta
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	opts := disk.Options{MaxBytes: 64 << 20, Clock: clock.Now}
	s, err := disk.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	vary := &larder.Entry{Kind: larder.KindVary, VaryNames: []string{"accept"}, Nonce: "n1", Expires: clock.Now().Add(time.Hour)}
	want := map[string]*larder.Entry{
		"small":    entry([]byte("hello")),
		"nil body": entry(nil),
		"large":    entry(randomBytes(300<<10, 1)), // a body file
		"vary":     vary,
	}
	for k, e := range want {
		mustSet(t, s, k, e, time.Hour)
	}
	streamed := randomBytes(200<<10, 2)
	if err := s.SetStream(ctx, "streamed", entry(nil), bytes.NewReader(streamed), -1, time.Hour); err != nil {
		t.Fatal(err)
	}
	want["streamed"] = entry(streamed)
	mustSet(t, s, "short", entry([]byte("short")), time.Minute)
	before := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "small"); !errors.Is(err, disk.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}

	s = openStore(t, dir, opts)
	if got := s.Stats(); got != before {
		t.Fatalf("Stats after reopening = %+v, before closing %+v", got, before)
	}
	for k, e := range want {
		mustSame(t, "Get of "+k+" after reopening", mustGet(t, s, k), e)
		mustSame(t, "GetStream of "+k+" after reopening", readStream(t, s, k), e)
	}
	mustGet(t, s, "short")
	clock.Advance(2 * time.Minute) // ttls run on across restarts
	mustMiss(t, s, "short")
	mustGet(t, s, "small")
	// It takes writes, and serves them after another restart.
	mustSet(t, s, "after", entry([]byte("after")), time.Hour)
	if err := s.Delete(ctx, "large"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, opts)
	mustSame(t, "entry written after a restart", mustGet(t, s, "after"), entry([]byte("after")))
	mustMiss(t, s, "large")
	mustMiss(t, s, "short")
	if n := countFiles(t, filepath.Join(dir, "blobs")); n != 1 {
		t.Fatalf("%d body files, want 1 (streamed)", n)
	}
}

// countFiles counts the regular files under dir.
func countFiles(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, disk.Options{})
	start := time.Now()
	s, err := disk.Open(dir, disk.Options{})
	if err == nil {
		s.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
	if !strings.Contains(err.Error(), "in use") || time.Since(start) > 5*time.Second {
		t.Fatalf("second Open: %v after %v", err, time.Since(start))
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []disk.Options{
		{MaxBytes: -1},
		{MaxBytes: 1 << 20, MaxEntryBytes: 2 << 20},
		{MaxEntryBytes: -1},
		{InlineMax: -1},
		{InlineMax: 2 << 20},
	} {
		if s, err := disk.Open(t.TempDir(), o); err == nil {
			s.Close()
			t.Errorf("Open(%+v): no error", o)
		}
	}
	// The zero value works.
	s := newStore(t, disk.Options{})
	mustSet(t, s, "k", entry(make([]byte, 100<<10)), time.Minute)
	mustGet(t, s, "k")
}

func TestCloseTwiceAndAfter(t *testing.T) {
	s, err := disk.Open(t.TempDir(), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := randomBytes(200<<10, 7)
	mustSet(t, s, "k", entry(body), time.Hour)
	_, r, _, err := s.GetStream(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A body returned before Close stays readable.
	if b, err := io.ReadAll(r); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("reading a body after Close: %d bytes, %v", len(b), err)
	}
	for name, err := range map[string]error{
		"Set":       s.Set(ctx, "k", entry(nil), time.Hour),
		"Delete":    s.Delete(ctx, "k"),
		"SetStream": s.SetStream(ctx, "k", entry(nil), strings.NewReader("x"), -1, time.Hour),
	} {
		if !errors.Is(err, disk.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestSetNotKept(t *testing.T) {
	s := newStore(t, disk.Options{MaxBytes: 1 << 20, MaxEntryBytes: 64 << 10})
	mustSet(t, s, "k", entry([]byte("old")), time.Hour)
	// Too large: the key is removed, nothing stored.
	mustSet(t, s, "k", entry(make([]byte, 100<<10)), time.Hour)
	mustMiss(t, s, "k")
	mustSet(t, s, "k", entry([]byte("old")), time.Hour)
	mustSet(t, s, "k", entry([]byte("new")), 0)
	mustMiss(t, s, "k")
	if st := s.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("Stats = %+v, want empty", st)
	}
	if err := s.Set(ctx, "k", nil, time.Hour); err == nil {
		t.Fatal("Set of a nil entry: no error")
	}
	// SetStream: ErrBodyTooLarge, the previous entry kept, the body read
	// no further than one byte past the bound (or not at all, size known).
	mustSet(t, s, "k", entry([]byte("old")), time.Hour)
	for _, size := range []int64{-1, 100 << 10} {
		r := &countingReader{}
		err := s.SetStream(ctx, "k", entry(nil), r, size, time.Hour)
		if !errors.Is(err, larder.ErrBodyTooLarge) {
			t.Fatalf("SetStream of too large a body (size %d): %v", size, err)
		}
		if size >= 0 && r.n != 0 || r.n > 64<<10+1 {
			t.Fatalf("SetStream of too large a body (size %d) read %d bytes", size, r.n)
		}
		mustSame(t, "entry after a refused SetStream", mustGet(t, s, "k"), entry([]byte("old")))
	}
}

// countingReader is an endless body that counts what is read of it.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestRangeReads(t *testing.T) {
	s := newStore(t, disk.Options{})
	body := randomBytes(5*disk.ChunkSize/2+17, 9)
	mustSet(t, s, "k", entry(body), time.Hour)
	_, r, size, err := s.GetStream(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if size != int64(len(body)) {
		t.Fatalf("size %d, want %d", size, len(body))
	}
	ra, ok := r.(io.ReaderAt)
	if !ok {
		t.Fatal("the body of a file is not an io.ReaderAt")
	}
	for _, c := range []struct{ off, n int }{
		{0, 10}, {disk.ChunkSize - 5, 10}, {disk.ChunkSize, disk.ChunkSize}, {len(body) - 3, 3},
		{1, 2*disk.ChunkSize + 100}, {len(body) - 100, 100},
	} {
		p := make([]byte, c.n)
		if n, err := ra.ReadAt(p, int64(c.off)); n != c.n || err != nil || !bytes.Equal(p, body[c.off:c.off+c.n]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", c.n, c.off, n, err)
		}
	}
	p := make([]byte, 10)
	if n, err := ra.ReadAt(p, int64(len(body)-4)); n != 4 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v; want 4, io.EOF", n, err)
	}
	sk := r.(io.Seeker)
	if pos, err := sk.Seek(-1000, io.SeekEnd); err != nil || pos != int64(len(body)-1000) {
		t.Fatalf("Seek = %d, %v", pos, err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, body[len(body)-1000:]) {
		t.Fatalf("Read after Seek: %d bytes, %v", len(rest), err)
	}
	if _, err := sk.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, body) {
		t.Fatalf("Read after Seek to the start: %d bytes, %v", len(all), err)
	}
}

// iotestHalf reads b in small, uneven reads.
func iotestHalf(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }
