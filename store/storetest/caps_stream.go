package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/larder-cache/larder"
)

func mustSetStream(t testing.TB, s larder.BodyStreamer, key string, meta *larder.Entry, body []byte, size int64, ttl time.Duration) {
	t.Helper()
	if err := s.SetStream(context.Background(), key, meta, bytes.NewReader(body), size, ttl); err != nil {
		t.Fatalf("SetStream(%q): %v", key, err)
	}
}

// mustGetStream reads the entry under key with GetStream and returns it with
// the body read whole into Body, checking that the metadata had none and that
// the size was right.
func mustGetStream(t testing.TB, s larder.BodyStreamer, key string) *larder.Entry {
	t.Helper()
	meta, body, size, err := s.GetStream(context.Background(), key)
	if err != nil {
		t.Fatalf("GetStream(%q): %v", key, err)
	}
	if meta == nil || body == nil {
		t.Fatalf("GetStream(%q) returned a nil entry or body and no error", key)
	}
	if meta.Body != nil {
		t.Fatalf("GetStream(%q) returned an entry with a Body", key)
	}
	b, err := io.ReadAll(iotest.HalfReader(body))
	if err != nil {
		t.Fatalf("GetStream(%q): reading the body: %v", key, err)
	}
	if err := body.Close(); err != nil {
		t.Fatalf("GetStream(%q): closing the body: %v", key, err)
	}
	if int64(len(b)) != size {
		t.Fatalf("GetStream(%q): size %d, body of %d bytes", key, size, len(b))
	}
	e := cloneEntry(meta)
	e.Body = b
	return e
}

// withoutBody returns a copy of e with a nil Body.
func withoutBody(e *larder.Entry) *larder.Entry {
	c := cloneEntry(e)
	c.Body = nil
	return c
}

func testStreamRoundTrip(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	i := 0
	for name, e := range sampleEntries() {
		want := cloneEntry(e)
		// SetStream ignores meta.Body: the body is the stream.
		meta := cloneEntry(e)
		meta.Body = []byte("meta.Body, which SetStream ignores")
		metaWant := cloneEntry(meta)
		size := int64(-1)
		if i%2 == 1 {
			size = int64(len(e.Body))
		}
		i++
		key := "stream/" + name
		mustSetStream(t, bs, key, meta, e.Body, size, longTTL)
		mustEqual(t, "entry passed to SetStream (SetStream must not modify it)", meta, metaWant)
		mustEqual(t, "GetStream of "+name, mustGetStream(t, bs, key), want)
		mustEqual(t, "Get of "+name+" stored by SetStream", mustGet(t, s, key), want)
	}
}

func testStreamFromSet(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	for name, e := range sampleEntries() {
		mustSet(t, s, "set/"+name, e, longTTL)
	}
	for name, e := range sampleEntries() {
		mustEqual(t, "GetStream of "+name+" stored by Set", mustGetStream(t, bs, "set/"+name), e)
	}
	meta, body, _, err := bs.GetStream(context.Background(), "missing")
	if !errors.Is(err, larder.ErrNotFound) || meta != nil || body != nil {
		t.Fatalf("GetStream of a missing key = %v, %v, %v; want nil, nil, ErrNotFound", meta, body, err)
	}
}

func randomBody(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testStreamLarge(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	body := randomBody(4<<20, 1)
	e := newEntry(200, "large")
	for _, size := range []int64{-1, int64(len(body))} {
		// The body comes in small, uneven reads.
		err := bs.SetStream(context.Background(), "large", e, iotest.HalfReader(bytes.NewReader(body)), size, longTTL)
		if err != nil {
			t.Fatalf("SetStream of 4 MiB (size %d): %v", size, err)
		}
		want := cloneEntry(e)
		want.Body = body
		mustEqual(t, "GetStream of 4 MiB", mustGetStream(t, bs, "large"), want)
		mustEqual(t, "Get of 4 MiB stored by SetStream", mustGet(t, s, "large"), want)
	}
}

func testStreamEmptyBody(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	e := sampleEntries()["minimal"]
	for _, size := range []int64{-1, 0} {
		key := fmt.Sprint("empty/", size)
		mustSetStream(t, bs, key, e, nil, size, longTTL)
		got := mustGetStream(t, bs, key)
		if len(got.Body) != 0 {
			t.Fatalf("GetStream of an empty body: %d bytes", len(got.Body))
		}
		mustEqual(t, "GetStream of an empty body", got, e)
		mustEqual(t, "Get of an empty body", mustGet(t, s, key), e)
	}
}

// errBody is what the failing readers of testStreamFailedBody fail with.
var errBody = errors.New("storetest: the body failed")

func testStreamFailedBody(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	ctx := context.Background()
	body := randomBody(64<<10, 2)
	old := newEntry(200, "old")
	mustSet(t, s, "k", old, longTTL)

	failing := func() io.Reader {
		return io.MultiReader(bytes.NewReader(body[:40<<10]), iotest.ErrReader(errBody))
	}
	cases := []struct {
		name string
		body func() io.Reader
		size int64
		want error // what the error must wrap, if anything in particular
	}{
		{"reader error", failing, -1, errBody},
		{"reader error with size", failing, int64(len(body)), errBody},
		{"reader error at once", func() io.Reader { return iotest.ErrReader(errBody) }, -1, errBody},
		{"timeout", func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(body)) }, -1, iotest.ErrTimeout},
		{"short", func() io.Reader { return bytes.NewReader(body[:1000]) }, int64(len(body)), io.ErrUnexpectedEOF},
		{"empty but sized", func() io.Reader { return bytes.NewReader(nil) }, 10, io.ErrUnexpectedEOF},
		{"long", func() io.Reader { return bytes.NewReader(body) }, 1000, nil},
		{"one byte long", func() io.Reader { return bytes.NewReader(body[:1001]) }, 1000, nil},
	}
	for _, tc := range cases {
		for _, key := range []string{"k", "absent"} {
			meta := newEntry(201, "new")
			err := bs.SetStream(ctx, key, meta, tc.body(), tc.size, longTTL)
			if err == nil {
				t.Fatalf("%s: SetStream(%q) returned nil", tc.name, key)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%s: SetStream(%q) error %v does not wrap %v", tc.name, key, err, tc.want)
			}
			// Nothing stored: the previous entry stays, the absent key stays absent.
			if key == "k" {
				mustEqual(t, tc.name+": Get of the previous entry after a failed SetStream", mustGet(t, s, "k"), old)
				mustEqual(t, tc.name+": GetStream of the previous entry after a failed SetStream", mustGetStream(t, bs, "k"), old)
			} else {
				mustMiss(t, s, key)
			}
		}
	}
	// The store works after the failures.
	mustSetStream(t, bs, "k", newEntry(202, "after"), []byte("after"), -1, longTTL)
	mustEqual(t, "entry stored after failed SetStreams", mustGetStream(t, bs, "k"), newEntry(202, "after"))
}

func testStreamBodyIndependent(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	ctx := context.Background()
	body := randomBody(256<<10, 3)
	mustSetStream(t, bs, "k", newEntry(200, "first"), body, -1, longTTL)

	_, r1, size, err := bs.GetStream(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	_, r2, _, err := bs.GetStream(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	// Read a little of one, then replace and delete the entry.
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r1, head); err != nil {
		t.Fatal(err)
	}
	mustSetStream(t, bs, "k", newEntry(200, "second"), randomBody(300<<10, 4), -1, longTTL)
	mustSet(t, s, "k", newEntry(200, "third"), longTTL)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r1)
	if err != nil {
		t.Fatalf("reading a body after its entry was replaced and deleted: %v", err)
	}
	if got := append(head, rest...); !bytes.Equal(got, body) || size != int64(len(body)) {
		t.Fatalf("body read after its entry was replaced: %d bytes (size %d), want the %d first stored", len(got), size, len(body))
	}
	b2, err := io.ReadAll(r2)
	if err != nil || !bytes.Equal(b2, body) {
		t.Fatalf("second reader of the body: %d bytes, %v; want the %d first stored", len(b2), err, len(body))
	}
}

func testStreamCloseUnread(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	mustSetStream(t, bs, "k", newEntry(200, "k"), randomBody(64<<10, 5), -1, longTTL)
	for i := range 200 {
		meta, body, size, err := bs.GetStream(context.Background(), "k")
		if err != nil {
			t.Fatalf("GetStream %d: %v", i, err)
		}
		mustEqual(t, "metadata", meta, withoutBody(newEntry(200, "k")))
		if size != 64<<10 {
			t.Fatalf("size %d, want %d", size, 64<<10)
		}
		if err := body.Close(); err != nil {
			t.Fatalf("Close of an unread body: %v", err)
		}
	}
	want := newEntry(200, "k")
	want.Body = randomBody(64<<10, 5)
	mustEqual(t, "entry after closing unread bodies", mustGetStream(t, bs, "k"), want)
}

func testStreamExpiry(t *testing.T, s larder.Store, c *config) {
	bs := s.(larder.BodyStreamer)
	mustSetStream(t, bs, "short", newEntry(200, "short"), []byte("short"), -1, shortTTL(c))
	mustSetStream(t, bs, "long", newEntry(200, "long"), []byte("long"), -1, longTTL)
	mustEqual(t, "entry before its ttl", mustGetStream(t, bs, "short"), newEntry(200, "short"))
	expire(t, s, c, "short")
	if _, body, _, err := bs.GetStream(context.Background(), "short"); !errors.Is(err, larder.ErrNotFound) {
		if body != nil {
			body.Close()
		}
		t.Fatalf("GetStream of an expired entry: err = %v, want ErrNotFound", err)
	}
	mustEqual(t, "long-lived entry", mustGetStream(t, bs, "long"), newEntry(200, "long"))
}

func testStreamConcurrent(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	const (
		workers = 8
		rounds  = 100
		shared  = 3
	)
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("shared/%d", i%shared)
				if (i+w)%2 == 0 {
					// A body of a few KiB whose start names it, in the header too.
					name := fmt.Sprintf("w%d-%d", w, i)
					body := []byte(name + strings.Repeat(".", 1000*(1+i%5)))
					meta := newEntry(200, string(body))
					meta.Body = nil
					if err := bs.SetStream(ctx, key, meta, iotest.HalfReader(bytes.NewReader(body)), -1, longTTL); err != nil {
						errc <- fmt.Errorf("SetStream(%q): %w", key, err)
						return
					}
					continue
				}
				meta, body, size, err := bs.GetStream(ctx, key)
				if errors.Is(err, larder.ErrNotFound) {
					continue
				}
				if err != nil {
					errc <- fmt.Errorf("GetStream(%q): %w", key, err)
					return
				}
				b, err := io.ReadAll(body)
				body.Close()
				if err != nil {
					errc <- fmt.Errorf("GetStream(%q): reading the body: %w", key, err)
					return
				}
				if got := meta.Header.Get("X-Body"); got != string(b) || int64(len(b)) != size {
					errc <- fmt.Errorf("GetStream(%q): header %.20q… does not match the body %.20q… of %d bytes (size %d)", key, got, b, len(b), size)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func testStreamCancelledContext(t *testing.T, s larder.Store, _ *config) {
	bs := s.(larder.BodyStreamer)
	const limit = 5 * time.Second
	old := newEntry(200, "old")
	mustSet(t, s, "k", old, longTTL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	done := make(chan error, 1)
	go func() {
		done <- bs.SetStream(ctx, "k", newEntry(201, "new"), strings.NewReader("new"), -1, longTTL)
	}()
	select {
	case err := <-done:
		got := mustGet(t, s, "k")
		switch {
		case err == nil:
			mustEqual(t, "Get after SetStream with a cancelled context", got, newEntry(201, "new"))
		case errors.Is(err, context.Canceled):
			mustEqual(t, "Get after SetStream failed for a cancelled context", got, old)
		default:
			t.Fatalf("SetStream with a cancelled context: err = %v; want it to complete or to wrap context.Canceled", err)
		}
	case <-time.After(limit):
		t.Fatalf("SetStream with a cancelled context did not return within %v", limit)
	}

	go func() {
		_, body, _, err := bs.GetStream(ctx, "k")
		if err == nil {
			_, err = io.ReadAll(body)
			body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("GetStream with a cancelled context: err = %v; want it to complete or to wrap context.Canceled", err)
		}
	case <-time.After(limit):
		t.Fatalf("GetStream with a cancelled context did not return within %v", limit)
	}
	mustSetStream(t, bs, "after", newEntry(200, "after"), []byte("after"), -1, longTTL)
	mustEqual(t, "SetStream after cancelled calls", mustGetStream(t, bs, "after"), newEntry(200, "after"))
}

// ---- ConditionalStore ----
