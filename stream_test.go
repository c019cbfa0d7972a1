package larder_test

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// streamCache is a cache on a streamStore, with the default body buffer
// (1 MiB), a max object size of 256 MiB and a store timeout of 10 s (a
// disk store on a loaded machine, under the race detector, can take more
// than the default).
func streamCache(t *testing.T, s larder.Store, clk *clock, opts ...larder.Option) *larder.Cache {
	t.Helper()
	opts = append([]larder.Option{larder.WithMaxObjectSize(256 << 20), larder.WithStoreTimeout(10 * time.Second)}, opts...)
	if clk != nil {
		opts = append(opts, larder.WithClock(clk.Now))
	}
	c := larder.New(s, opts...)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func serveCheck(h http.Handler, method, target string, hdr ...string) *checkWriter {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := newCheckWriter()
	h.ServeHTTP(w, r)
	return w
}

func wantBody(t *testing.T, w *checkWriter, status int, n int64) {
	t.Helper()
	if w.status != status || w.n != n || w.bad != 0 {
		t.Fatalf("status %d, %d body bytes (%d wrong), want %d with %d (Cache-Status %q)",
			w.status, w.n, w.bad, status, n, w.h.Get("Cache-Status"))
	}
}

// TestStreamMetadataOnly: on a BodyStreamer store, a HEAD, a 304 to the
// client, and a revalidation answered 304 read no stored body; a hit reads
// it once. For a body stored apart (above the body buffer) and for one
// stored whole (read with GetStream).
func TestStreamMetadataOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int64
		apart bool
	}{{"apart", 3 << 20, true}, {"whole", 300 << 10, false}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := newStreamStore(t, clk)
			c := streamCache(t, s, clk)
			o := &bigOrigin{n: tc.n}
			h := c.Middleware(o)
			wantBody(t, serveCheck(h, "GET", "/big"), 200, tc.n)
			_ = c.Close() // the writes are done
			s.read.Store(0)

			w := serveCheck(h, "HEAD", "/big")
			if w.status != 200 || w.n != 0 || w.h.Get("Content-Length") != strconv.FormatInt(tc.n, 10) {
				t.Fatalf("HEAD: %d, %d bytes, Content-Length %q", w.status, w.n, w.h.Get("Content-Length"))
			}
			if w := serveCheck(h, "GET", "/big", "If-None-Match", `"big0"`); w.status != 304 || w.n != 0 {
				t.Fatalf("conditional GET: %d with %d bytes", w.status, w.n)
			}
			if got := s.read.Load(); got != 0 {
				t.Fatalf("HEAD and 304 read %d body bytes, want 0", got)
			}
			wantBody(t, serveCheck(h, "GET", "/big"), 200, tc.n)
			if got := s.read.Load(); got != tc.n {
				t.Fatalf("a hit read %d body bytes, want %d", got, tc.n)
			}
			expectOrigin(t, o, 1)

			// Stale: the revalidation is answered 304, and so is the client.
			clk.Advance(2 * time.Minute)
			s.read.Store(0)
			if w := serveCheck(h, "GET", "/big", "If-None-Match", `"big0"`); w.status != 304 || w.n != 0 {
				t.Fatalf("revalidated conditional GET: %d with %d bytes", w.status, w.n)
			}
			_ = c.Close()
			expectOrigin(t, o, 2)
			// A body stored apart is kept as it is; one stored whole is
			// read once, to be stored again with the new header.
			want := int64(0)
			if !tc.apart {
				want = tc.n
			}
			if got := s.read.Load(); got != want {
				t.Fatalf("the revalidation read %d body bytes, want %d", got, want)
			}
			w = serveCheck(h, "GET", "/big")
			wantBody(t, w, 200, tc.n)
			if !strings.Contains(w.h.Get("Cache-Status"), "hit") {
				t.Fatalf("after the revalidation: Cache-Status %q, want a hit", w.h.Get("Cache-Status"))
			}
			expectOrigin(t, o, 2)
		})
	}
}

func expectOrigin(t *testing.T, o *bigOrigin, want int64) {
	t.Helper()
	if got := o.calls.Load(); got != want {
		t.Fatalf("origin called %d times, want %d", got, want)
	}
}

// TestStreamBigBody: a 64 MiB body goes to the client and into a disk
// store without being held in memory, with or without Content-Length, and
// is served from it, whole or in ranges, the same way.
func TestStreamBigBody(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB through a disk store")
	}
	const n = 64 << 20
	const slack = 24 << 20 // far below n
	for _, noLength := range []bool{false, true} {
		t.Run("no-length="+strconv.FormatBool(noLength), func(t *testing.T) {
			s := newStreamStore(t, nil)
			c := streamCache(t, s, nil)
			heap := &heapPeak{}
			o := &bigOrigin{n: n, noLength: noLength, heap: heap}
			h := c.Middleware(o)
			base := heapNow()

			w := newCheckWriter()
			w.heap = heap
			h.ServeHTTP(w, httptest.NewRequest("GET", "/big", nil))
			wantBody(t, w, 200, n)
			_ = c.Close()
			if grew := int64(heap.max) - int64(base); grew > slack {
				t.Fatalf("the miss grew the heap by %d MiB", grew>>20)
			} else {
				t.Logf("the miss of %d MiB grew the heap by at most %.1f MiB", n>>20, float64(grew)/(1<<20))
			}

			heap.max = 0
			base = heapNow()
			w = newCheckWriter()
			w.heap = heap
			h.ServeHTTP(w, httptest.NewRequest("GET", "/big", nil))
			wantBody(t, w, 200, n)
			if grew := int64(heap.max) - int64(base); grew > slack {
				t.Fatalf("the hit grew the heap by %d MiB", grew>>20)
			} else {
				t.Logf("the hit of %d MiB grew the heap by at most %.1f MiB", n>>20, float64(grew)/(1<<20))
			}
			if !strings.Contains(w.h.Get("Cache-Status"), "hit") {
				t.Fatalf("Cache-Status %q, want a hit", w.h.Get("Cache-Status"))
			}
			w = newCheckWriter()
			w.off = n - 1000
			h.ServeHTTP(w, withHeader(httptest.NewRequest("GET", "/big", nil), "Range", "bytes=-1000"))
			wantBody(t, w, http.StatusPartialContent, 1000)
			expectOrigin(t, o, 1)
		})
	}
}

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func withHeader(r *http.Request, kv ...string) *http.Request {
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	return r
}

// TestStreamRanges: range requests answered from a body read as a stream,
// with its ReadAt and Seek or without them (read in order), for a body
// stored apart and one stored whole.
func TestStreamRanges(t *testing.T) {
	for _, plain := range []bool{false, true} {
		for _, n := range []int64{3 << 20, 300 << 10} {
			t.Run("plain="+strconv.FormatBool(plain)+"/"+strconv.FormatInt(n, 10), func(t *testing.T) {
				s := newStreamStore(t, nil)
				s.plain = plain
				c := streamCache(t, s, nil)
				h := c.Middleware(&bigOrigin{n: n})
				serveCheck(h, "GET", "/r")
				_ = c.Close()

				w := newCheckWriter()
				w.off = 100
				h.ServeHTTP(w, withHeader(httptest.NewRequest("GET", "/r", nil), "Range", "bytes=100-299"))
				wantBody(t, w, http.StatusPartialContent, 200)
				if got := w.h.Get("Content-Range"); got != "bytes 100-299/"+strconv.FormatInt(n, 10) {
					t.Fatalf("Content-Range %q", got)
				}

				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, withHeader(httptest.NewRequest("GET", "/r", nil), "Range", "bytes=10-19,200000-200099,-50"))
				if rec.Code != http.StatusPartialContent {
					t.Fatalf("multipart: %d", rec.Code)
				}
				_, params, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
				if err != nil {
					t.Fatal(err)
				}
				mr := multipart.NewReader(rec.Body, params["boundary"])
				for _, want := range [][2]int64{{10, 10}, {200000, 100}, {n - 50, 50}} {
					p, err := mr.NextPart()
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(p)
					if string(got) != string(pattern(want[0], want[1])) {
						t.Fatalf("part at %d: %d bytes, not the stored ones", want[0], len(got))
					}
				}
				if _, err := mr.NextPart(); err != io.EOF {
					t.Fatalf("after the parts: %v", err)
				}
			})
		}
	}
}

// TestStreamBodyFailsMidway: a stored body that fails while it is sent
// aborts the response: the client sees a failure, never a response that
// looks complete, and the body is closed.
func TestStreamBodyFailsMidway(t *testing.T) {
	for _, n := range []int64{3 << 20, 300 << 10} {
		for _, rng := range []string{"", "bytes=0-250000"} {
			t.Run(strconv.FormatInt(n, 10)+"/"+rng, func(t *testing.T) {
				s := newStreamStore(t, nil)
				served := make(chan struct{}, 8)
				c := streamCache(t, s, nil, larder.WithObserver(func(larder.Event) { served <- struct{}{} }))
				o := &bigOrigin{n: n}
				h := c.Middleware(o)
				srv := httptest.NewServer(h)
				defer srv.Close()
				resp, err := srv.Client().Get(srv.URL + "/f")
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				<-served // the handler returned: its writes are queued
				_ = c.Close()
				s.failAt.Store(100 << 10)
				req, _ := http.NewRequest("GET", srv.URL+"/f", nil)
				if rng != "" {
					req.Header.Set("Range", rng)
				}
				resp, err = srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err == nil {
					t.Fatalf("the client read %d bytes, and no error (Cache-Status %q)", len(got), resp.Header.Get("Cache-Status"))
				}
				if int64(len(got)) >= n {
					t.Fatalf("the client read %d bytes", len(got))
				}
				expectOrigin(t, o, 1)
				// Direct callers see http.ErrAbortHandler.
				serveCheck(h, "GET", "/f")
				_ = c.Close()
				func() {
					defer func() {
						if v := recover(); v != http.ErrAbortHandler {
							t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
						}
					}()
					serveCheck(h, "GET", "/f", "Range", rng)
				}()
			})
		}
	}
}
