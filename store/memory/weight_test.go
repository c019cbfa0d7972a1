package memory_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// TestWeightMatchesHeap checks that the byte budget bounds real memory
// (issue 16): what the store counts for the responses a cache stores in it
// (Entry.Size, the key and the store's overhead per key, summed in
// Stats().Bytes) is within 10% of the heap they hold, measured with
// runtime.MemStats after two GCs, for small and large bodies, with and
// without Vary (a Vary index and a variant per URL), with the header
// values a handler sets as literals or builds per response (as a proxy's
// upstream fields all are).
func TestWeightMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("stores tens of thousands of responses")
	}
	for _, tc := range []struct {
		name      string
		body, n   int
		vary      bool
		heapOnly  bool // every header value built per response
		moreField bool // Last-Modified, Date and an X- field besides
	}{
		{name: "small", body: 100, n: 10_000},
		{name: "small/vary", body: 100, n: 10_000, vary: true},
		{name: "small/heap-values", body: 100, n: 10_000, heapOnly: true, moreField: true},
		{name: "empty/vary/heap-values", body: 0, n: 10_000, vary: true, heapOnly: true},
		{name: "1KiB", body: 1 << 10, n: 10_000},
		{name: "1KiB/vary/more-fields", body: 1 << 10, n: 10_000, vary: true, moreField: true},
		{name: "large", body: 64 << 10, n: 400},
		{name: "large/vary", body: 64 << 10, n: 400, vary: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &weightOrigin{body: strings.Repeat("b", tc.body), vary: tc.vary, heapOnly: tc.heapOnly, more: tc.moreField}
			s := newStore(t, memory.Options{MaxBytes: 1 << 40})
			h := larder.New(s).Middleware(o)
			w := &weightWriter{h: make(http.Header)}
			serve := func(i int) {
				w.reset()
				r := httptest.NewRequest(http.MethodGet, "http://example.com/some/path/obj?id="+strconv.Itoa(i), nil)
				r.Header.Set("Accept-Encoding", "gzip")
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK || w.n != tc.body {
					t.Fatalf("request %d: status %d, %d body bytes", i, w.status, w.n)
				}
			}
			serve(-1) // what is set up on a first store and hit
			serve(-1)
			bytes0, heap0 := s.Stats().Bytes, liveHeap()
			for i := range tc.n {
				serve(i) // stored
			}
			for i := range tc.n {
				serve(i)
				if cs := w.h.Get("Cache-Status"); !strings.Contains(cs, "; hit") {
					t.Fatalf("request %d: Cache-Status %q, want a hit", i, cs)
				}
			}
			counted := float64(s.Stats().Bytes-bytes0) / float64(tc.n)
			held := float64(int64(liveHeap())-int64(heap0)) / float64(tc.n)
			runtime.KeepAlive(h)
			d := counted/held - 1
			t.Logf("per URL: heap %.0f bytes, counted %.0f (%+.1f%%)", held, counted, 100*d)
			if d > 0.10 || d < -0.10 {
				t.Errorf("per URL the store counts %.0f bytes and the heap holds %.0f: %+.1f%%, more than 10%% apart",
					counted, held, 100*d)
			}
		})
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// weightOrigin serves a cacheable response per URL, with its own ETag.
type weightOrigin struct {
	body           string
	vary, heapOnly bool
	more           bool
}

func (o *weightOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	h := w.Header()
	lit := func(s string) string { return s }
	if o.heapOnly {
		lit = strings.Clone
	}
	h["Cache-Control"] = []string{lit("public, max-age=3600")}
	h["Etag"] = []string{fmt.Sprintf(`"%016x"`, uint64(id)*0x9e3779b97f4a7c15)}
	h["Content-Type"] = []string{lit("text/html; charset=utf-8")}
	if o.vary {
		h["Vary"] = []string{lit("Accept-Encoding")}
		h["Content-Encoding"] = []string{lit("gzip")}
	}
	if o.more {
		h["Last-Modified"] = []string{lit("Mon, 02 Jan 2006 15:04:05 GMT")}
		h["Date"] = []string{lit(weightDate)}
		h["X-Request-Id"] = []string{strconv.Itoa(id * 7919)}
	}
	_, _ = w.Write([]byte(o.body))
}

// weightDate is the Date of the weight test's responses: now, formatted
// once, so that they are fresh (a fixed date would make them stale once the
// clock passes it by max-age) and the string is shared like a literal.
var weightDate = time.Now().UTC().Format(http.TimeFormat)

type weightWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *weightWriter) Header() http.Header { return w.h }
func (w *weightWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *weightWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
func (w *weightWriter) reset() { clear(w.h); w.status, w.n = 0, 0 }
