package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// countingReader is an endless body that counts what is read of it.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestSetStreamBounded(t *testing.T) {
	const maxBytes = 64 << 10
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	ctx := context.Background()
	old := entry([]byte("old"))
	if err := s.Set(ctx, "k", old, time.Hour); err != nil {
		t.Fatal(err)
	}
	// An endless body: SetStream stops one byte past what fits.
	r := &countingReader{}
	err := s.SetStream(ctx, "k", entry(nil), r, -1, time.Hour)
	if !errors.Is(err, larder.ErrBodyTooLarge) {
		t.Fatalf("SetStream of an endless body: err = %v, want ErrBodyTooLarge", err)
	}
	if r.n > maxBytes+1 {
		t.Fatalf("SetStream read %d bytes of an endless body, MaxBytes is %d", r.n, maxBytes)
	}
	// A size known to be too large: nothing is read.
	r = &countingReader{}
	err = s.SetStream(ctx, "k", entry(nil), r, maxBytes, time.Hour)
	if !errors.Is(err, larder.ErrBodyTooLarge) || r.n != 0 {
		t.Fatalf("SetStream of a body of MaxBytes: err = %v after reading %d bytes; want ErrBodyTooLarge, nothing read", err, r.n)
	}
	// Neither replaced the previous entry.
	if got, err := s.Get(ctx, "k"); err != nil || got != old {
		t.Fatalf("Get after refused SetStreams = %v, %v; want the previous entry", got, err)
	}
	// A body that just fits is stored, whether its size is known or not.
	_ = s.Delete(ctx, "k")
	room := maxBytes - int(memory.Weight(entry(nil)))
	for _, size := range []int64{-1, int64(room)} {
		body := bytes.Repeat([]byte("y"), room)
		if err := s.SetStream(ctx, "fits", entry(nil), bytes.NewReader(body), size, time.Hour); err != nil {
			t.Fatalf("SetStream of a body that just fits (size %d): %v", size, err)
		}
		if st := s.Stats(); st.Bytes != maxBytes || st.Entries != 1 {
			t.Fatalf("Stats() = %+v, want one entry of exactly MaxBytes", st)
		}
		// One byte more: too large if the size says so or is unknown, too
		// long for its size otherwise.
		for _, size := range []int64{-1, int64(room) + 1} {
			err := s.SetStream(ctx, "fits", entry(nil), bytes.NewReader(append(body, 'y')), size, time.Hour)
			if !errors.Is(err, larder.ErrBodyTooLarge) {
				t.Fatalf("SetStream of one byte more (size %d): err = %v, want ErrBodyTooLarge", size, err)
			}
		}
		if err := s.SetStream(ctx, "fits", entry(nil), bytes.NewReader(append(body, 'y')), int64(room), time.Hour); err == nil || errors.Is(err, larder.ErrBodyTooLarge) {
			t.Fatalf("SetStream of a body longer than its size: err = %v, want a body error", err)
		}
	}
}

func TestSetStreamFalseSizeDoesNotAllocate(t *testing.T) {
	// A body that claims 200 MiB and sends 10 bytes must not make the store
	// allocate 200 MiB.
	s := newStore(t, memory.Options{MaxBytes: 1 << 30})
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		err := s.SetStream(ctx, "k", entry(nil), strings.NewReader("0123456789"), 200<<20, time.Hour)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("SetStream of a short body: err = %v, want io.ErrUnexpectedEOF", err)
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 32<<20 {
		t.Fatalf("10 short SetStreams claiming 200 MiB allocated %d MiB", d>>20)
	}
}

func TestSetStreamTrimsCapacity(t *testing.T) {
	// The stored body weighs its length: it must not keep much more capacity.
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	body := bytes.Repeat([]byte("z"), 600<<10)
	for _, size := range []int64{-1, int64(len(body))} {
		if err := s.SetStream(ctx, "k", entry(nil), io.MultiReader(bytes.NewReader(body)), size, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, body) {
			t.Fatal("body differs")
		}
		if c := cap(got.Body); c > len(body)+len(body)/8+4096 {
			t.Fatalf("size %d: stored body has capacity %d for %d bytes", size, c, len(body))
		}
	}
}

func TestSetStreamNonPositiveTTL(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	if err := s.Set(ctx, "k", entry([]byte("old")), time.Hour); err != nil {
		t.Fatal(err)
	}
	r := &countingReader{}
	if err := s.SetStream(ctx, "k", entry(nil), r, -1, 0); err != nil || r.n != 0 {
		t.Fatalf("SetStream with ttl 0 = %v after reading %d bytes; want nil, nothing read", err, r.n)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get after SetStream with ttl 0: err = %v, want ErrNotFound (as Set)", err)
	}
	if err := s.SetStream(ctx, "k", nil, r, -1, time.Hour); err == nil {
		t.Fatal("SetStream of a nil entry: no error")
	}
}

func TestGetStreamBody(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	e := entry([]byte("0123456789"))
	if err := s.Set(ctx, "k", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	meta, body, size, err := s.GetStream(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if meta == e || meta.Body != nil || meta.Status != e.Status || size != 10 {
		t.Fatalf("GetStream = %+v, size %d", meta, size)
	}
	if e.Body == nil || string(e.Body) != "0123456789" {
		t.Fatal("GetStream changed the stored entry")
	}
	// For range requests: ReaderAt and Seeker.
	ra, ok := body.(io.ReaderAt)
	if !ok {
		t.Fatal("body is not an io.ReaderAt")
	}
	p := make([]byte, 3)
	if _, err := ra.ReadAt(p, 4); err != nil || string(p) != "456" {
		t.Fatalf("ReadAt = %q, %v", p, err)
	}
	if _, ok := body.(io.Seeker); !ok {
		t.Fatal("body is not an io.Seeker")
	}
}

func TestSetIfSizeRules(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 4096})
	ctx := context.Background()
	cur := entry([]byte("cur"))
	cur.Nonce = "g1"
	if err := s.Set(ctx, "k", cur, time.Hour); err != nil {
		t.Fatal(err)
	}
	big := entry(make([]byte, 5000))
	big.Nonce = "g2"
	// Wrong gen: nothing changes, even for an entry that would not be kept.
	if ok, err := s.SetIf(ctx, "k", big, time.Hour, "other"); ok || err != nil {
		t.Fatalf("SetIf with a wrong gen = %v, %v", ok, err)
	}
	if got, _ := s.Get(ctx, "k"); got != cur {
		t.Fatal("SetIf with a wrong gen changed the entry")
	}
	// Right gen, too large: the entry is removed, as Set would, and false.
	if ok, err := s.SetIf(ctx, "k", big, time.Hour, "g1"); ok || err != nil {
		t.Fatalf("SetIf of an oversize entry = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get after an oversize SetIf: err = %v, want ErrNotFound", err)
	}
	// Right gen, ttl 0: likewise.
	if ok, _ := s.SetIf(ctx, "k", cur, time.Hour, ""); !ok {
		t.Fatal("SetIf on an absent key did not store")
	}
	if ok, _ := s.SetIf(ctx, "k", entry(nil), 0, "g1"); ok {
		t.Fatal("SetIf with ttl 0 reported storing")
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get after SetIf with ttl 0: err = %v, want ErrNotFound", err)
	}
	if _, err := s.SetIf(ctx, "k", nil, time.Hour, ""); err == nil {
		t.Fatal("SetIf of a nil entry: no error")
	}
	// Entries stored by SetIf weigh what Set's do.
	if ok, _ := s.SetIf(ctx, "k", cur, time.Hour, ""); !ok {
		t.Fatal("SetIf did not store")
	}
	if st, want := s.Stats(), memory.Weight(cur); st.Bytes != want {
		t.Fatalf("Stats().Bytes = %d after SetIf, want %d", st.Bytes, want)
	}
}

func TestSetIfTTL(t *testing.T) {
	clock := newFakeClock()
	s := newStore(t, memory.Options{Clock: clock.Now})
	ctx := context.Background()
	e := entry([]byte("v"))
	e.Nonce = "g"
	if ok, _ := s.SetIf(ctx, "k", e, time.Minute, ""); !ok {
		t.Fatal("SetIf did not store")
	}
	clock.Advance(time.Minute - time.Millisecond)
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatalf("Get 1 ms before the ttl: %v", err)
	}
	// Replacing restarts the ttl, with the new entry's.
	e2 := entry([]byte("v2"))
	e2.Nonce = "g2"
	if ok, _ := s.SetIf(ctx, "k", e2, time.Hour, "g"); !ok {
		t.Fatal("SetIf with the right gen did not store")
	}
	clock.Advance(time.Hour - time.Millisecond)
	if got, err := s.Get(ctx, "k"); err != nil || got != e2 {
		t.Fatalf("Get 1 ms before the new ttl = %v, %v", got, err)
	}
	clock.Advance(2 * time.Millisecond)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get after the ttl: err = %v, want ErrNotFound", err)
	}
}

// TestSetIfAgainstSetAndDelete: SetIf is atomic with Set and Delete of the
// same key: a SetIf that reads the generation a Set wrote never stores over
// a later Set.
func TestSetIfAgainstSetAndDelete(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				cur, err := s.Get(ctx, "k")
				gen := ""
				if err == nil {
					gen = cur.Nonce
				}
				e := entry([]byte("x"))
				e.Nonce = fmt.Sprint(w, "-", i)
				switch i % 5 {
				case 0:
					_ = s.Set(ctx, "k", e, time.Hour)
				case 1:
					_ = s.Delete(ctx, "k")
				default:
					if ok, err := s.SetIf(ctx, "k", e, time.Hour, gen); err != nil {
						t.Error(err)
					} else if ok {
						// Right after a win, the key holds e or something newer.
						if got, err := s.Get(ctx, "k"); err == nil && got.Nonce == gen && gen != "" {
							t.Errorf("after SetIf over %q won, the key still holds %q", gen, got.Nonce)
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestGetMultiSamePointers(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	a, b := entry([]byte("a")), entry([]byte("b"))
	_ = s.Set(ctx, "a", a, time.Hour)
	_ = s.Set(ctx, "b", b, time.Hour)
	got, err := s.GetMulti(ctx, []string{"b", "missing", "a"})
	if err != nil || len(got) != 3 || got[0] != b || got[1] != nil || got[2] != a {
		t.Fatalf("GetMulti = %v, %v", got, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = s.GetMulti(ctx, []string{"a", "b"}) }); n > 1 {
		t.Fatalf("GetMulti: %v allocs, want 1 (the result)", n)
	}
}

func TestNonBlocking(t *testing.T) {
	var st larder.Store = newStore(t, memory.Options{})
	nb, ok := st.(larder.NonBlockingStore)
	if !ok || !nb.NonBlocking() {
		t.Fatal("the memory store does not report NonBlocking")
	}
}
