package larder_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// sinkWriter is a ResponseWriter that reuses its header map and, like
// net/http's, reads a body given to ReadFrom into a buffer of its own.
type sinkWriter struct {
	h   http.Header
	buf []byte
}

func (w *sinkWriter) Header() http.Header         { return w.h }
func (w *sinkWriter) WriteHeader(int)             {}
func (w *sinkWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *sinkWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	for {
		m, err := r.Read(w.buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// BenchmarkDiskHit: hits (GET and HEAD) on a disk store, for bodies stored
// in the index (1 KiB), in a file (64 KiB, 1 MiB) and, with 8 MiB, above
// the body buffer (stored apart, streamed).
func BenchmarkDiskHit(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20, 8 << 20} {
		for _, method := range []string{"GET", "HEAD"} {
			b.Run(method+"/"+strconv.Itoa(size>>10)+"K", func(b *testing.B) {
				d, err := disk.Open(b.TempDir(), disk.Options{NoSync: true, MaxBytes: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
				c := larder.New(d, larder.WithMaxObjectSize(64<<20), larder.WithStoreTimeout(10*time.Second))
				defer c.Close()
				h := c.Middleware(respond(200, string(pattern(0, int64(size))), "Cache-Control", "max-age=3600"))
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
				_ = c.Close()
				r := httptest.NewRequest(method, "/x", nil)
				w := &sinkWriter{h: make(http.Header, 16), buf: make([]byte, 32<<10)}
				h.ServeHTTP(w, r)
				if cs := w.h.Get("Cache-Status"); !strings.Contains(cs, "; hit") {
					b.Fatalf("not a hit: %q", cs)
				}
				if method == "GET" {
					b.SetBytes(int64(size))
				}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.ServeHTTP(w, r)
				}
			})
		}
	}
}
