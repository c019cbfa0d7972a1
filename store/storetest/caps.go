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

// capTest is a conformance test of an optional capability.
type capTest struct {
	name string
	fn   func(t *testing.T, s larder.Store, c *config)
}

// capGroup is the tests of one optional capability, which run only against a
// store that has it.
type capGroup struct {
	name  string // the interface's name in package larder
	has   func(s larder.Store) bool
	tests []capTest
}

func capGroups() []capGroup {
	return []capGroup{
		{"BodyStreamer", has[larder.BodyStreamer], []capTest{
			{"RoundTrip", testStreamRoundTrip},
			{"SetThenGetStream", testStreamFromSet},
			{"Large", testStreamLarge},
			{"EmptyBody", testStreamEmptyBody},
			{"FailedBody", testStreamFailedBody},
			{"BodyIndependent", testStreamBodyIndependent},
			{"CloseUnread", testStreamCloseUnread},
			{"Expiry", testStreamExpiry},
			{"Concurrent", testStreamConcurrent},
			{"CancelledContext", testStreamCancelledContext},
		}},
		{"ConditionalStore", has[larder.ConditionalStore], []capTest{
			{"Absent", testSetIfAbsent},
			{"Generation", testSetIfGeneration},
			{"NoNonce", testSetIfNoNonce},
			{"AfterDelete", testSetIfAfterDelete},
			{"Expired", testSetIfExpired},
			{"Concurrent", testSetIfConcurrent},
		}},
		{"MultiGetter", has[larder.MultiGetter], []capTest{
			{"Mixed", testGetMultiMixed},
			{"Empty", testGetMultiEmpty},
			{"OddKeys", testGetMultiOddKeys},
			{"Expired", testGetMultiExpired},
		}},
		{"LocalGetter", has[larder.LocalGetter], []capTest{
			{"FollowsWrites", testLocalFollowsWrites},
			{"Expired", testLocalExpired},
		}},
		{"TagStore", has[larder.TagStore], []capTest{
			{"Index", testTagsIndex},
			{"PurgeRecord", testTagsPurgeRecord},
			{"Expiry", testTagsExpiry},
			{"OddTags", testTagsOdd},
			{"Concurrent", testTagsConcurrent},
		}},
		{"MultiSetter", has[larder.MultiSetter], []capTest{
			{"SetMulti", testSetMulti},
			{"Expiry", testSetMultiExpiry},
		}},
		{"NonBlockingStore", has[larder.NonBlockingStore], []capTest{
			{"CancelledContext", testNonBlocking},
		}},
		{"EntryKeeper", has[larder.EntryKeeper], []capTest{
			{"SameEntry", testKeepsEntries},
			{"CachedResponses", testKeptResponses},
		}},
	}
}

func has[T any](s larder.Store) bool {
	_, ok := s.(T)
	return ok
}

// runCapGroups runs the tests of each capability group. The first test of a
// group finds whether the store has the capability; if not, the group is
// skipped.
func runCapGroups(t *testing.T, newStore func(t *testing.T) larder.Store, c *config) {
	for _, g := range capGroups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				missing := false
				t.Run(tt.name, func(t *testing.T) {
					s := newStore(t)
					if s == nil {
						t.Fatal("newStore returned nil")
					}
					if !g.has(s) {
						missing = true
						t.Skipf("the store does not implement larder.%s", g.name)
					}
					tt.fn(t, s, c)
				})
				if missing {
					t.Skipf("the store does not implement larder.%s", g.name)
				}
			}
		})
	}
}

// expire waits until the entries stored with shortTTL (see below) have
// expired: with WithAdvance it moves the clock past shortTTL; without it, it
// polls Get of key until it misses, for at most 2.5 s.
func expire(t *testing.T, s larder.Store, c *config, key string) {
	t.Helper()
	if c.advance != nil {
		c.advance(shortTTL(c) + time.Millisecond)
		mustMiss(t, s, key)
		return
	}
	deadline := time.Now().Add(2500 * time.Millisecond)
	for {
		_, err := s.Get(context.Background(), key)
		if errors.Is(err, larder.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("Get of an expiring entry: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry with ttl %v still returned after 2.5 s", shortTTL(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shortTTL is the ttl of entries that a test lets expire: a minute of fake
// time with WithAdvance, else a second of real time.
func shortTTL(c *config) time.Duration {
	if c.advance != nil {
		return time.Minute
	}
	return time.Second
}

// ---- BodyStreamer ----

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

// genEntry returns an entry of generation gen.
func genEntry(body, gen string) *larder.Entry {
	e := newEntry(200, body)
	e.Nonce = gen
	return e
}

func mustSetIf(t testing.TB, s larder.ConditionalStore, key string, e *larder.Entry, ttl time.Duration, gen string, want bool) {
	t.Helper()
	got, err := s.SetIf(context.Background(), key, e, ttl, gen)
	if err != nil {
		t.Fatalf("SetIf(%q, gen %q): %v", key, gen, err)
	}
	if got != want {
		t.Fatalf("SetIf(%q, gen %q) = %v, want %v", key, gen, got, want)
	}
}

func testSetIfAbsent(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	e := genEntry("a", "gen-a")
	want := cloneEntry(e)
	mustSetIf(t, cs, "k", e, longTTL, "", true)
	mustEqual(t, "entry passed to SetIf (SetIf must not modify it)", e, want)
	mustEqual(t, "Get after SetIf on an absent key", mustGet(t, s, "k"), want)
	// The key is no longer absent.
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "", false)
	mustEqual(t, "Get after a second SetIf with gen \"\"", mustGet(t, s, "k"), want)
	// A generation on an absent key does not match.
	mustSetIf(t, cs, "absent", genEntry("c", "gen-c"), longTTL, "gen-a", false)
	mustMiss(t, s, "absent")
}

func testSetIfGeneration(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	mustSet(t, s, "k", genEntry("a", "gen-a"), longTTL)
	mustSet(t, s, "other", genEntry("o", "gen-a"), longTTL)
	for _, gen := range []string{"gen-b", "", "gen-", "gen-a ", "GEN-A"} {
		mustSetIf(t, cs, "k", genEntry("wrong", "gen-x"), longTTL, gen, false)
		mustEqual(t, fmt.Sprintf("Get after SetIf with the wrong gen %q", gen), mustGet(t, s, "k"), genEntry("a", "gen-a"))
	}
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", true)
	mustEqual(t, "Get after SetIf with the right gen", mustGet(t, s, "k"), genEntry("b", "gen-b"))
	// The old generation no longer matches; the new one does.
	mustSetIf(t, cs, "k", genEntry("stale", "gen-s"), longTTL, "gen-a", false)
	mustSetIf(t, cs, "k", genEntry("c", "gen-c"), longTTL, "gen-b", true)
	mustEqual(t, "Get after a second SetIf", mustGet(t, s, "k"), genEntry("c", "gen-c"))
	// A Vary index and a tombstone are entries like any other.
	tomb := &larder.Entry{Kind: larder.KindTombstone, Nonce: "gen-t", Expires: epoch}
	mustSetIf(t, cs, "k", tomb, longTTL, "gen-c", true)
	mustSetIf(t, cs, "k", genEntry("fill", "gen-f"), longTTL, "gen-c", false)
	mustEqual(t, "tombstone after a stale fill", mustGet(t, s, "k"), tomb)
	mustEqual(t, "untouched key of the same generation", mustGet(t, s, "other"), genEntry("o", "gen-a"))
}

func testSetIfNoNonce(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	mustSet(t, s, "k", genEntry("a", ""), longTTL)
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", false)
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "", true)
	mustEqual(t, "Get after SetIf over an entry without a Nonce", mustGet(t, s, "k"), genEntry("b", "gen-b"))
}

func testSetIfAfterDelete(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	mustSet(t, s, "k", genEntry("a", "gen-a"), longTTL)
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", false)
	mustMiss(t, s, "k")
	mustSetIf(t, cs, "k", genEntry("c", "gen-c"), longTTL, "", true)
	mustEqual(t, "Get after SetIf on a deleted key", mustGet(t, s, "k"), genEntry("c", "gen-c"))
}

func testSetIfExpired(t *testing.T, s larder.Store, c *config) {
	cs := s.(larder.ConditionalStore)
	mustSetIf(t, cs, "k", genEntry("a", "gen-a"), shortTTL(c), "", true)
	mustSetIf(t, cs, "long", genEntry("l", "gen-l"), longTTL, "", true)
	expire(t, s, c, "k")
	// An expired entry counts as absent.
	mustSetIf(t, cs, "k", genEntry("b", "gen-b"), longTTL, "gen-a", false)
	mustMiss(t, s, "k")
	mustSetIf(t, cs, "k", genEntry("c", "gen-c"), longTTL, "", true)
	mustEqual(t, "Get after SetIf over an expired entry", mustGet(t, s, "k"), genEntry("c", "gen-c"))
	mustEqual(t, "entry stored by SetIf with a long ttl", mustGet(t, s, "long"), genEntry("l", "gen-l"))
}

func testSetIfConcurrent(t *testing.T, s larder.Store, _ *config) {
	cs := s.(larder.ConditionalStore)
	const (
		workers = 8
		rounds  = 50
	)
	ctx := context.Background()
	gen := "" // the key is absent at first
	for r := range rounds {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			won   = make([]bool, workers)
			errs  = make([]error, workers)
		)
		for w := range workers {
			wg.Go(func() {
				<-start
				won[w], errs[w] = cs.SetIf(ctx, "k", genEntry(fmt.Sprintf("w%d-r%d", w, r), fmt.Sprintf("gen-w%d-r%d", w, r)), longTTL, gen)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("round %d: SetIf of worker %d: %v", r, w, errs[w])
			}
			if won[w] {
				if winner >= 0 {
					t.Fatalf("round %d: SetIf with gen %q stored for workers %d and %d", r, gen, winner, w)
				}
				winner = w
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no SetIf with gen %q stored", r, gen)
		}
		gen = fmt.Sprintf("gen-w%d-r%d", winner, r)
		mustEqual(t, fmt.Sprintf("round %d: Get of the winner's entry", r), mustGet(t, s, "k"),
			genEntry(fmt.Sprintf("w%d-r%d", winner, r), gen))
	}
}

// ---- MultiGetter ----

func mustGetMulti(t testing.TB, s larder.MultiGetter, keys []string) []*larder.Entry {
	t.Helper()
	got, err := s.GetMulti(context.Background(), keys)
	if err != nil {
		t.Fatalf("GetMulti(%d keys): %v", len(keys), err)
	}
	if len(got) != len(keys) {
		t.Fatalf("GetMulti(%d keys) returned %d entries", len(keys), len(got))
	}
	return got
}

func testGetMultiMixed(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiGetter)
	entries := sampleEntries()
	for name, e := range entries {
		mustSet(t, s, "k/"+name, e, longTTL)
	}
	keys := []string{"k/response", "missing", "k/vary index", "k/response", "k/minimal", "k/", "missing 2", "k/not found with body"}
	want := []*larder.Entry{entries["response"], nil, entries["vary index"], entries["response"], entries["minimal"], nil, nil, entries["not found with body"]}
	got := mustGetMulti(t, ms, keys)
	for i := range keys {
		if want[i] == nil {
			if got[i] != nil {
				t.Fatalf("GetMulti: entry %d (%q) = %+v, want nil (a miss)", i, keys[i], got[i])
			}
			continue
		}
		if got[i] == nil {
			t.Fatalf("GetMulti: entry %d (%q) is nil", i, keys[i])
		}
		mustEqual(t, fmt.Sprintf("GetMulti entry %d (%q)", i, keys[i]), got[i], want[i])
	}
	// All misses.
	for i, e := range mustGetMulti(t, ms, []string{"x", "y"}) {
		if e != nil {
			t.Fatalf("GetMulti of missing keys: entry %d = %+v", i, e)
		}
	}
}

func testGetMultiEmpty(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiGetter)
	mustSet(t, s, "k", newEntry(200, "k"), longTTL)
	mustGetMulti(t, ms, nil)
	mustGetMulti(t, ms, []string{})
}

func testGetMultiOddKeys(t *testing.T, s larder.Store, _ *config) {
	ms := s.(larder.MultiGetter)
	keys := oddKeys()
	for i, k := range keys {
		if i%3 != 0 {
			mustSet(t, s, k, newEntry(200, fmt.Sprint("v", i)), longTTL)
		}
	}
	// Many keys in one call, more than a networked store may send in one batch.
	var all []string
	for range 20 {
		all = append(all, keys...)
	}
	got := mustGetMulti(t, ms, all)
	for j, e := range got {
		i := j % len(keys)
		if i%3 == 0 {
			if e != nil {
				t.Fatalf("GetMulti: odd key %d %q was never set, got %+v", i, keys[i], e)
			}
			continue
		}
		mustEqual(t, fmt.Sprintf("GetMulti of odd key %d %q", i, keys[i]), e, newEntry(200, fmt.Sprint("v", i)))
	}
}

func testGetMultiExpired(t *testing.T, s larder.Store, c *config) {
	ms := s.(larder.MultiGetter)
	mustSet(t, s, "short", newEntry(200, "short"), shortTTL(c))
	mustSet(t, s, "long", newEntry(200, "long"), longTTL)
	expire(t, s, c, "short")
	got := mustGetMulti(t, ms, []string{"short", "long"})
	if got[0] != nil {
		t.Fatalf("GetMulti returned an expired entry: %+v", got[0])
	}
	mustEqual(t, "GetMulti of a long-lived entry", got[1], newEntry(200, "long"))
}

// ---- NonBlockingStore ----

// testNonBlocking checks that NonBlocking gives one answer, and that a store
// that says it never blocks completes every call normally, and at once, with a
// cancelled context: the cache calls it without a deadline.
func testNonBlocking(t *testing.T, s larder.Store, _ *config) {
	nb := s.(larder.NonBlockingStore)
	v := nb.NonBlocking()
	for range 10 {
		if nb.NonBlocking() != v {
			t.Fatal("NonBlocking changed its answer")
		}
	}
	if !v {
		t.Skip("NonBlocking reports false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	type call struct {
		name string
		call func() error
	}
	calls := []call{
		{"Set", func() error { return s.Set(ctx, "k", newEntry(200, "k"), longTTL) }},
		{"Get", func() error {
			e, err := s.Get(ctx, "k")
			if err == nil && e == nil {
				err = errors.New("nil entry and no error")
			}
			return err
		}},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
	}
	if ms, ok := s.(larder.MultiGetter); ok {
		calls = append(calls, call{"GetMulti", func() error {
			_, err := ms.GetMulti(ctx, []string{"k", "x"})
			return err
		}})
	}
	if cs, ok := s.(larder.ConditionalStore); ok {
		calls = append(calls, call{"SetIf", func() error {
			_, err := cs.SetIf(ctx, "c", genEntry("c", "g"), longTTL, "")
			return err
		}})
	}
	if ts, ok := s.(larder.TagStore); ok {
		calls = append(calls, call{"AddTags", func() error {
			_, err := ts.AddTags(ctx, "t", []string{"a"}, epoch, epoch.Add(longTTL))
			return err
		}}, call{"PurgeTags", func() error {
			_, err := ts.PurgeTags(ctx, []string{"a"}, epoch, keep)
			return err
		}})
	}
	if bs, ok := s.(larder.BodyStreamer); ok {
		calls = append(calls, call{"SetStream", func() error {
			return bs.SetStream(ctx, "s", newEntry(200, "s"), strings.NewReader("s"), 1, longTTL)
		}}, call{"GetStream", func() error {
			_, body, _, err := bs.GetStream(ctx, "s")
			if err == nil {
				_, err = io.ReadAll(body)
				body.Close()
			}
			return err
		}})
	}
	for _, call := range calls {
		start := time.Now()
		if err := call.call(); err != nil {
			t.Errorf("%s with a cancelled context on a store that never blocks: %v", call.name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s on a store that never blocks took %v", call.name, d)
		}
	}
}
