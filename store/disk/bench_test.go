package disk_test

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder/store/disk"
)

const benchKeys = 10_000

func benchStore(b *testing.B, opts disk.Options) (*disk.Store, []string) {
	opts.MaxBytes = 1 << 30
	opts.MaxEntryBytes = 256 << 20
	s := newStore(b, opts)
	keys := make([]string, benchKeys)
	body := bytes.Repeat([]byte("x"), 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://example.com/item/%d", i)
	}
	// Filled in parallel, so that group commit makes it quick.
	var next atomic.Int64
	errc := make(chan error, 16)
	for range 16 {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= benchKeys {
					errc <- nil
					return
				}
				if err := s.Set(ctx, keys[i], entry(body), time.Hour); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for range 16 {
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	return s, keys
}

func BenchmarkGet1KiB(b *testing.B) {
	s, keys := benchStore(b, disk.Options{})
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, keys[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % benchKeys
	}
}

func BenchmarkGet1KiBParallel(b *testing.B) {
	s, keys := benchStore(b, disk.Options{})
	var seed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(7919)) % benchKeys
		for pb.Next() {
			if _, err := s.Get(ctx, keys[i]); err != nil {
				b.Error(err)
				return
			}
			i = (i + 1) % benchKeys
		}
	})
}

func benchSet(b *testing.B, opts disk.Options, parallel bool) {
	s, keys := benchStore(b, opts)
	e := entry(bytes.Repeat([]byte("y"), 1024))
	b.ReportAllocs()
	if !parallel {
		i := 0
		for b.Loop() {
			if err := s.Set(ctx, keys[i], e, time.Hour); err != nil {
				b.Fatal(err)
			}
			i = (i + 1) % benchKeys
		}
		return
	}
	var seed atomic.Int64
	b.SetParallelism(4) // 8 goroutines on 2 CPUs: the cache's write-behind writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(7919)) % benchKeys
		for pb.Next() {
			if err := s.Set(ctx, keys[i], e, time.Hour); err != nil {
				b.Error(err)
				return
			}
			i = (i + 1) % benchKeys
		}
	})
}

func BenchmarkSet1KiB(b *testing.B)               { benchSet(b, disk.Options{}, false) }
func BenchmarkSet1KiBParallel(b *testing.B)       { benchSet(b, disk.Options{}, true) }
func BenchmarkSet1KiBNoSync(b *testing.B)         { benchSet(b, disk.Options{NoSync: true}, false) }
func BenchmarkSet1KiBNoSyncParallel(b *testing.B) { benchSet(b, disk.Options{NoSync: true}, true) }

// zeroReader is an endless body of zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func BenchmarkSetStream64MiB(b *testing.B) {
	const size = 64 << 20
	s := newStore(b, disk.Options{MaxBytes: 1 << 30, MaxEntryBytes: 128 << 20})
	b.SetBytes(size)
	for b.Loop() {
		if err := s.SetStream(ctx, "big", entry(nil), io.LimitReader(zeroReader{}, size), size, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetStream64MiB(b *testing.B) {
	const size = 64 << 20
	s := newStore(b, disk.Options{MaxBytes: 1 << 30, MaxEntryBytes: 128 << 20})
	if err := s.SetStream(ctx, "big", entry(nil), io.LimitReader(zeroReader{}, size), size, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		_, body, _, err := s.GetStream(ctx, "big")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, body); err != nil || n != size {
			b.Fatal(n, err)
		}
		body.Close()
	}
}
