package larder_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// Responses cut short are never stored.
func TestIncompleteResponsesAreNotStored(t *testing.T) {
	t.Run("handler_panic", func(t *testing.T) {
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("half"))
			panic("boom")
		})
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic swallowed: net/http must see it")
				}
			}()
			f.do("GET", "/x")
		}()
		if f.store.len() != 0 {
			t.Fatal("stored a panicking handler's response")
		}
	})
	t.Run("short_body", func(t *testing.T) {
		f := newFixture(t, respond(200, "short", "Cache-Control", "max-age=60", "Content-Length", "100"))
		f.do("GET", "/x")
		if f.store.len() != 0 {
			t.Fatal("stored a body shorter than its Content-Length")
		}
	})
	t.Run("client_gone", func(t *testing.T) {
		f := newFixture(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		f.orig.fn = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("part one"))
			cancel()
			_, _ = w.Write([]byte("part two"))
		}
		r := httptest.NewRequest("GET", "/x", nil).WithContext(ctx)
		f.h.ServeHTTP(httptest.NewRecorder(), r)
		if f.store.len() != 0 {
			t.Fatal("stored a response whose client went away")
		}
	})
	t.Run("client_write_error", func(t *testing.T) {
		f := newFixture(t, respond(200, "body", "Cache-Control", "max-age=60"))
		f.h.ServeHTTP(&failingWriter{header: http.Header{}}, httptest.NewRequest("GET", "/x", nil))
		if f.store.len() != 0 {
			t.Fatal("stored a response the client did not get")
		}
	})
}

type failingWriter struct{ header http.Header }

func (w *failingWriter) Header() http.Header       { return w.header }
func (w *failingWriter) WriteHeader(int)           {}
func (w *failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestMaxObjectSizeStreamsWithoutStoring(t *testing.T) {
	big := strings.Repeat("x", 1000)
	for _, withLength := range []bool{true, false} {
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			if withLength {
				w.Header().Set("Content-Length", "1000")
			}
			for i := 0; i < 10; i++ {
				_, _ = io.WriteString(w, big[:100])
			}
		}, larder.WithMaxObjectSize(500))
		w := f.do("GET", "/x")
		if w.Body.String() != big {
			t.Fatalf("client got %d bytes", w.Body.Len())
		}
		if f.store.len() != 0 {
			t.Fatal("stored an object over the size limit")
		}
	}
}

func TestGeneratedETag(t *testing.T) {
	f := newFixture(t, respond(200, "hello", "Cache-Control", "max-age=60"), larder.WithETags())
	w := f.do("GET", "/x")
	tag := w.Header().Get("ETag")
	if !strings.HasPrefix(tag, `"`) || len(tag) < 10 {
		t.Fatalf("ETag %q", tag)
	}
	if w.Body.String() != "hello" {
		t.Fatalf("body %q", w.Body)
	}
	if w := f.do("GET", "/x", "If-None-Match", tag); w.Code != 304 {
		t.Fatalf("304 expected, got %d", w.Code)
	}
	// Same body, same tag, across caches (a fleet).
	g := newFixture(t, respond(200, "hello", "Cache-Control", "max-age=60"), larder.WithETags())
	if g.do("GET", "/x").Header().Get("ETag") != tag {
		t.Fatal("ETag is not derived from the body alone")
	}
	// A stale hit with the client's tag gets its 304 after revalidation.
	f.clock.Advance(2 * time.Minute)
	if w := f.do("GET", "/x", "If-None-Match", tag); w.Code != 304 {
		t.Fatalf("stale: %d", w.Code)
	}
}

func TestGeneratedETag_OversizeStreams(t *testing.T) {
	f := newFixture(t, respond(200, strings.Repeat("y", 300), "Cache-Control", "max-age=60"),
		larder.WithETags(), larder.WithMaxObjectSize(100))
	w := f.do("GET", "/x")
	if w.Body.Len() != 300 || w.Header().Get("ETag") != "" {
		t.Fatalf("got %d bytes, ETag %q", w.Body.Len(), w.Header().Get("ETag"))
	}
}

func TestStoreFailureFailsOpen(t *testing.T) {
	var events []larder.Event
	f := newFixture(t, respond(200, "ok", "Cache-Control", "max-age=60"),
		larder.WithObserver(func(e larder.Event) { events = append(events, e) }))
	f.store.fail.Store(true)
	for i := 0; i < 2; i++ {
		if w := f.do("GET", "/x"); w.Code != 200 || w.Body.String() != "ok" {
			t.Fatalf("got %d %q", w.Code, w.Body)
		}
	}
	if w := f.do("POST", "/x"); w.Code != 200 {
		t.Fatalf("POST got %d", w.Code)
	}
	if len(events) != 3 || !errors.Is(events[0].StoreErr, errBroken) || events[0].Outcome != larder.OutcomeMiss {
		t.Fatalf("events %+v", events)
	}
	if !errors.Is(events[2].StoreErr, errBroken) {
		t.Fatalf("invalidation error not reported: %+v", events[2])
	}
}

// The writer keeps the optional interfaces of the client's writer.
func TestWriterKeepsInterfaces(t *testing.T) {
	var flushed, hijacked, readFrom bool
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flush":
			_, _ = w.Write([]byte("a"))
			flushed = http.NewResponseController(w).Flush() == nil
		case "/hijack":
			_, _, err := http.NewResponseController(w).Hijack()
			hijacked = err == nil
		case "/readfrom":
			rf, ok := w.(io.ReaderFrom)
			if ok {
				_, err := rf.ReadFrom(strings.NewReader("copied"))
				readFrom = err == nil
			}
		}
	})
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/flush", nil))
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/hijack", nil))
	rec2 := &recorder{ResponseRecorder: httptest.NewRecorder()}
	f.h.ServeHTTP(rec2, httptest.NewRequest("GET", "/readfrom", nil))
	if !flushed || !rec.flushed || !hijacked || !readFrom || rec2.Body.String() != "copied" {
		t.Fatalf("flushed=%v/%v hijacked=%v readFrom=%v body=%q", flushed, rec.flushed, hijacked, readFrom, rec2.Body)
	}
}

type recorder struct {
	*httptest.ResponseRecorder
	flushed bool
}

func (r *recorder) Flush() { r.flushed = true; r.ResponseRecorder.Flush() }
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c1, c2 := net.Pipe()
	_ = c2.Close()
	return c1, bufio.NewReadWriter(bufio.NewReader(c1), bufio.NewWriter(c1)), nil
}
