package larder_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// What frameworks need of the core (README "Frameworks"): a handler that
// writes nothing produced no response, and the cache makes none up; the
// writer keeps http.CloseNotifier; Expiry leaves error statuses alone.

// A handler that writes nothing: the client gets what net/http sends
// without the cache (200, no body), and nothing is stored.
func TestEmptyHandler_NotStored(t *testing.T) {
	var events []larder.Event
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {},
		larder.WithObserver(func(e larder.Event) { events = append(events, e) })).
		route(larder.Expiry(10 * time.Second))
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 0 {
			t.Fatalf("got %d %q (Content-Length %d), want net/http's empty 200", resp.StatusCode, body, resp.ContentLength)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "" {
			t.Fatalf("Cache-Control %q on a response the handler did not produce", cc)
		}
		if cs := resp.Header.Get("Cache-Status"); cs != "Larder; fwd=uri-miss; detail=empty-handler" {
			t.Fatalf("Cache-Status %q", cs)
		}
	}
	expectCalls(t, f.orig, 2)
	if f.store.len() != 0 {
		t.Fatal("stored the cache's own 200")
	}
	if len(events) != 2 || events[0].NotStored != "empty-handler" || events[0].Stored || events[0].Status != 200 {
		t.Fatalf("events %+v", events)
	}
}

// Frameworks that render errors after their handlers return (echo's
// WrapMiddleware, gin's 404 page) write to the writer the cache gave them
// once the cache is done: that response reaches the client as written, and
// is not stored.
func TestEmptyHandler_LateWriteGoesThrough(t *testing.T) {
	var late http.ResponseWriter
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Handler", "set")
		late = w
	})
	f.route(larder.Expiry(10 * time.Second))
	cached := f.h
	// The framework: the cache as a middleware, the error rendered after.
	f.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cached.ServeHTTP(w, r)
		late.Header().Set("Content-Type", "application/json")
		late.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(late, `{"message":"Not Found"}`)
	})
	for i := 0; i < 2; i++ {
		w := f.do("GET", "/missing")
		if w.Code != 404 || w.Body.String() != `{"message":"Not Found"}` ||
			w.Header().Get("Content-Type") != "application/json" || w.Header().Get("X-Handler") != "set" {
			t.Fatalf("got %d %q %v", w.Code, w.Body, w.Header())
		}
	}
	expectCalls(t, f.orig, 2)
	if f.store.len() != 0 {
		t.Fatal("stored")
	}
}

// While revalidating, the handler writes to a header of the cache's own; a
// handler that writes nothing still has its fields reach the client, and
// the stale response stays for the next request.
func TestEmptyHandler_Revalidation(t *testing.T) {
	empty := false
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", r.Header.Get("If-None-Match"))
		if empty {
			return
		}
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		_, _ = io.WriteString(w, "v1")
	})
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	empty = true
	w := f.do("GET", "/x")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("X-Seen") != `"v1"` || w.Header().Get("ETag") != "" {
		t.Fatalf("got %d %q %v", w.Code, w.Body, w.Header())
	}
	if f.store.len() != 1 {
		t.Fatal("the stale response was dropped for a response the handler did not produce")
	}
	empty = false
	if w := f.do("GET", "/x"); w.Body.String() != "v1" {
		t.Fatalf("after: %q", w.Body)
	}
}

// An unsafe request whose handler writes nothing gets net/http's 200, a
// success: it invalidates.
func TestEmptyHandler_UnsafeInvalidates(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "v")
		}
	})
	f.do("GET", "/x")
	w := f.do("DELETE", "/x")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Cache-Status") != "Larder; fwd=method" {
		t.Fatalf("DELETE got %d %q %v", w.Code, w.Body, w.Header())
	}
	if f.store.len() != 0 {
		t.Fatal("not invalidated")
	}
}

// A handler that sets a status and writes no body produced a response.
func TestEmptyHandler_StatusOnlyIsAResponse(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.WriteHeader(http.StatusNoContent)
	})
	f.do("GET", "/x")
	if w := f.do("GET", "/x"); w.Code != 204 || !strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatalf("explicit 204 not stored: %d %v", w.Code, w.Header())
	}
	expectCalls(t, f.orig, 1)
}

// The writer is an http.CloseNotifier (gin's c.Stream calls it): the
// channel of the client's writer, found through Unwrap, or one fed by the
// request's context.
func TestWriterCloseNotifier(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		gone := make(chan bool, 1)
		started := make(chan struct{})
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			//lint:ignore SA1019 what gin calls
			cn, ok := w.(http.CloseNotifier)
			if !ok {
				gone <- false
				return
			}
			_, _ = io.WriteString(w, "streaming")
			http.NewResponseController(w).Flush()
			close(started)
			select {
			case v := <-cn.CloseNotify():
				gone <- v
			case <-time.After(5 * time.Second):
				gone <- false
			}
		})
		srv := httptest.NewServer(f.h)
		defer srv.Close()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(conn, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-started:
		case v := <-gone:
			t.Fatalf("no CloseNotifier (%v)", v)
		}
		_ = conn.Close()
		if !<-gone {
			t.Fatal("CloseNotify did not report the client gone")
		}
	})
	t.Run("unwrap_and_context", func(t *testing.T) {
		got := make(chan bool, 1)
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			//lint:ignore SA1019 what gin calls
			ch := w.(http.CloseNotifier).CloseNotify()
			select {
			case v := <-ch:
				got <- v
			default:
				got <- false
			}
		})
		// Through a wrapper that only unwraps, to a writer with CloseNotify.
		notifier := make(chan bool, 1)
		notifier <- true
		f.h.ServeHTTP(&unwrapper{&closeNotifyRecorder{httptest.NewRecorder(), notifier}}, httptest.NewRequest("GET", "/a", nil))
		if !<-got {
			t.Fatal("the client writer's CloseNotify was not reached through Unwrap")
		}
		// No CloseNotifier anywhere: the request's context stands in.
		ctx, cancel := context.WithCancel(context.Background())
		f.orig.fn = func(w http.ResponseWriter, r *http.Request) {
			//lint:ignore SA1019 what gin calls
			ch := w.(http.CloseNotifier).CloseNotify()
			cancel()
			select {
			case v := <-ch:
				got <- v
			case <-time.After(5 * time.Second):
				got <- false
			}
		}
		f.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/b", nil).WithContext(ctx))
		if !<-got {
			t.Fatal("CloseNotify did not follow the request's context")
		}
	})
}

type unwrapper struct{ w http.ResponseWriter }

func (u *unwrapper) Header() http.Header         { return u.w.Header() }
func (u *unwrapper) WriteHeader(code int)        { u.w.WriteHeader(code) }
func (u *unwrapper) Write(p []byte) (int, error) { return u.w.Write(p) }
func (u *unwrapper) Unwrap() http.ResponseWriter { return u.w }

type closeNotifyRecorder struct {
	*httptest.ResponseRecorder
	ch chan bool
}

func (r *closeNotifyRecorder) CloseNotify() <-chan bool { return r.ch }

// Expiry covers successes and permanent redirects; errors and other
// statuses get nothing from the route unless ExpiryFor names them.
func TestExpiry_Statuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		opts   []larder.RouteOption
		wantCC string
		hit    bool
	}{
		{200, nil, "max-age=10", true},
		{203, nil, "max-age=10", true},
		{204, nil, "max-age=10", true},
		{301, nil, "max-age=10", true},
		{308, nil, "max-age=10", true},
		{300, nil, "", false},
		{302, nil, "", false},
		{404, nil, "", false},
		{410, nil, "", false},
		{500, nil, "", false},
		{404, []larder.RouteOption{larder.ExpiryFor(time.Minute, 404, 410)}, "max-age=60", true},
		{410, []larder.RouteOption{larder.ExpiryFor(time.Minute, 404, 410)}, "max-age=60", true},
		{503, []larder.RouteOption{larder.ExpiryFor(5*time.Second, 503)}, "max-age=5", true},
		{200, []larder.RouteOption{larder.ExpiryFor(3*time.Second, 200)}, "max-age=3", true},
		{204, []larder.RouteOption{larder.ExpiryFor(3*time.Second, 200)}, "max-age=10", true},
		{404, []larder.RouteOption{larder.Public()}, "", false},
		{404, []larder.RouteOption{larder.Private()}, "private", false},
		{404, []larder.RouteOption{larder.Public(), larder.ExpiryFor(time.Minute, 404)}, "public, max-age=60", true},
		{404, []larder.RouteOption{larder.ExpiryFor(time.Minute, 100, 304, 600, 42)}, "", false},
	} {
		opts := append([]larder.RouteOption{larder.Expiry(10 * time.Second)}, tc.opts...)
		body := "body"
		if tc.status == http.StatusNoContent {
			body = ""
		}
		f := newFixture(t, respond(tc.status, body, "Location", "/elsewhere")).route(opts...)
		w := f.do("GET", "/x")
		if got := w.Header().Get("Cache-Control"); got != tc.wantCC || w.Code != tc.status {
			t.Errorf("%d %d: Cache-Control %q, want %q", tc.status, len(tc.opts), got, tc.wantCC)
		}
		w = f.do("GET", "/x")
		if hit := strings.Contains(w.Header().Get("Cache-Status"), "; hit"); hit != tc.hit || w.Code != tc.status {
			t.Errorf("%d %d: second request %d, hit %v, want %v", tc.status, len(tc.opts), w.Code, hit, tc.hit)
		}
	}
}

// ExpiryFor alone, without Expiry, leaves successes to the handler.
func TestExpiryFor_Alone(t *testing.T) {
	f := newFixture(t, respond(200, "ok")).route(larder.ExpiryFor(time.Minute, 404))
	if cc := f.do("GET", "/x").Header().Get("Cache-Control"); cc != "" {
		t.Fatalf("200 got Cache-Control %q", cc)
	}
	f.orig.fn = respond(404, "no")
	if cc := f.do("GET", "/y").Header().Get("Cache-Control"); cc != "max-age=60" {
		t.Fatalf("404 got Cache-Control %q", cc)
	}
}

// An error response nothing makes fresh is not stored: it would be stale
// from the start, never served, one entry per URL tried. With explicit or
// heuristic freshness it is, as RFC 9111 allows.
func TestErrorWithoutFreshnessNotStored(t *testing.T) {
	old := httpDate(newClock().Now().Add(-10 * time.Hour))
	for _, tc := range []struct {
		name   string
		h      http.HandlerFunc
		stored bool
	}{
		{"bare 404", respond(404, "no"), false},
		{"bare 500", respond(500, "no"), false},
		{"404 with ETag", respond(404, "no", "ETag", `"x"`), false},
		{"404 max-age", respond(404, "no", "Cache-Control", "max-age=30"), true},
		{"404 heuristic", respond(404, "no", "Last-Modified", old), true},
		{"410 public", respond(410, "no", "Cache-Control", "public"), true},
		{"bare 200", respond(200, "yes"), true}, // stale, kept to be revalidated
	} {
		var ev larder.Event
		f := newFixture(t, tc.h, larder.WithObserver(func(e larder.Event) { ev = e }))
		f.do("GET", "/x")
		if ev.Stored != tc.stored || (!tc.stored && ev.NotStored != "no-freshness") {
			t.Errorf("%s: stored %v (%q), want %v", tc.name, ev.Stored, ev.NotStored, tc.stored)
		}
	}
}

// boundHandler is a RequestBound handler, as the framework adapters' are.
type boundHandler struct{ http.HandlerFunc }

func (boundHandler) RequestBound() bool { return true }

// A request-bound handler is never called in the background: within the
// stale-while-revalidate window the request that finds the response stale
// revalidates it itself.
func TestRequestBoundNoBackgroundRevalidation(t *testing.T) {
	for _, bound := range []bool{false, true} {
		var calls atomic.Int64
		fn := func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
			fmt.Fprintf(w, "v%d", n)
		}
		f := newFixture(t, nil)
		var h http.Handler = http.HandlerFunc(fn)
		if bound {
			h = boundHandler{fn}
		}
		f.h = f.cache.Middleware(h)
		f.do("GET", "/x")
		f.clock.Advance(20 * time.Second)
		w := f.do("GET", "/x")
		_ = f.cache.Close() // the background revalidation, if any, is done
		want := "v1"        // stale, revalidated behind the response
		if bound {
			want = "v2" // revalidated on the request
		}
		if w.Body.String() != want || calls.Load() != 2 {
			t.Fatalf("bound %v: got %q, %d calls", bound, w.Body, calls.Load())
		}
	}
}
