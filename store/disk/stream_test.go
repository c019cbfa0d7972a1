package disk_test

import (
	"crypto/sha256"
	"hash"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/larder-cache/larder/store/disk"
)

// patternByte is byte i of the bodies of patternReader: any byte can be
// checked without keeping the body.
func patternByte(i int64) byte { return byte(uint64(i) * 0x9E3779B97F4A7C15 >> 56) }

// patternReader produces n bytes of the pattern, hashing them, and samples
// the heap every few MiB.
type patternReader struct {
	n, off int64
	h      hash.Hash
	heap   *heapPeak
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = patternByte(r.off + int64(i))
	}
	r.h.Write(p)
	r.heap.sample(r.off, r.off+int64(len(p)))
	r.off += int64(len(p))
	return len(p), nil
}

// heapPeak is the largest HeapInuse seen, sampled every 4 MiB of data.
type heapPeak struct{ max uint64 }

func (h *heapPeak) sample(from, to int64) {
	if from/(4<<20) == to/(4<<20) {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.max = max(h.max, ms.HeapInuse)
}

// hashWriter hashes what it is given and samples the heap.
type hashWriter struct {
	n    int64
	h    hash.Hash
	heap *heapPeak
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.heap.sample(w.n, w.n+int64(len(p)))
	w.n += int64(len(p))
	return len(p), nil
}

// TestStream64MiB streams a 64 MiB body in and out: the heap grows by far
// less than the body.
func TestStream64MiB(t *testing.T) {
	const size = 64 << 20
	s := newStore(t, disk.Options{MaxBytes: 512 << 20, MaxEntryBytes: 128 << 20})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := &heapPeak{max: base}

	for _, known := range []bool{false, true} {
		src := &patternReader{n: size, h: sha256.New(), heap: peak}
		n := int64(-1)
		if known {
			n = size
		}
		start := time.Now()
		if err := s.SetStream(ctx, "big", entry(nil), src, n, time.Hour); err != nil {
			t.Fatal(err)
		}
		in := time.Since(start)

		start = time.Now()
		meta, body, got, err := s.GetStream(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		dst := &hashWriter{h: sha256.New(), heap: peak}
		copied, err := io.Copy(dst, body)
		out := time.Since(start)
		if err != nil || copied != size || got != size || meta.Status != 200 {
			t.Fatalf("GetStream: %d of %d bytes (size %d), %v", copied, size, got, err)
		}
		if string(dst.h.Sum(nil)) != string(src.h.Sum(nil)) {
			t.Fatal("the body read differs from the body written")
		}
		// Range reads anywhere in it.
		ra := body.(io.ReaderAt)
		for _, off := range []int64{0, 1 << 20, size/2 - 7, size - 100} {
			p := make([]byte, 100)
			if _, err := ra.ReadAt(p, off); err != nil {
				t.Fatal(err)
			}
			for i := range p {
				if p[i] != patternByte(off+int64(i)) {
					t.Fatalf("ReadAt at %d: byte %d differs", off, i)
				}
			}
		}
		body.Close()
		t.Logf("size known %v: SetStream %v (%.0f MiB/s), GetStream %v (%.0f MiB/s), the pattern and hashing included",
			known, in.Round(time.Millisecond), size/in.Seconds()/(1<<20), out.Round(time.Millisecond), size/out.Seconds()/(1<<20))
	}
	growth := int64(peak.max) - int64(base)
	t.Logf("HeapInuse grew by at most %d KiB while streaming 64 MiB in and out", growth>>10)
	if growth > 8<<20 {
		t.Fatalf("HeapInuse grew by %d MiB while streaming a 64 MiB body: the body is held in memory", growth>>20)
	}
}
