// Package ginlarder puts a Larder cache in a gin handler chain.
//
//	cache := larder.New(store)
//	r := gin.New()
//	users := r.Group("/users", ginlarder.Route(cache, larder.Expiry(10*time.Second)))
//	users.GET("/:id", getUser)
//	users.POST("/:id", updateUser) // through the same cache: it invalidates /users/:id
//
// or, for the whole engine with the handlers' own Cache-Control deciding,
// r.Use(ginlarder.Middleware(cache)).
//
// On a hit the rest of the chain does not run (the context is aborted)
// and the stored response is written to c.Writer, so gin's logger and any
// middleware before this one see its status and size. On a miss the rest
// of the chain runs inside the cache, writing to a gin.ResponseWriter that
// holds the status until the first write, a flush or the end of the chain,
// as gin's own does: c.JSON sets Content-Type after the status, and the
// stored response has it. Status, Size, Written, WriteHeaderNow, Flush,
// Hijack and CloseNotify (c.Stream) work as with gin's writer.
//
// A chain that writes nothing lets gin answer as it would without the
// cache, and nothing is stored: gin's 404 and 405 pages for unknown routes
// and methods, and its implicit 200. Errors recorded with c.Error are
// left to the middleware that renders them; only a written response goes
// through the cache, and an error status (4xx, 5xx) is stored only when the
// handler's Cache-Control or larder.ExpiryFor says so.
//
// A response within its stale-while-revalidate window is revalidated on
// the request that finds it stale, not in the background: gin recycles its
// context once the request is served (larder.RequestBound).
//
// Register unsafe methods (POST, PUT, PATCH, DELETE) behind the same cache
// as the GET routes they change, in a group as above: a POST the cache
// never sees never invalidates what it stored.
package ginlarder

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/larder-cache/larder"
)

// Middleware returns a gin.HandlerFunc that puts the rest of the chain
// behind cache with no route policy: the responses' own header fields
// (Cache-Control, Expires, ETag, Vary) decide what is stored, as with
// cache.Middleware.
func Middleware(cache *larder.Cache) gin.HandlerFunc {
	return wrap(cache.Middleware)
}

// Route returns a gin.HandlerFunc that caches the rest of the chain with
// the route policy opts (larder.Expiry, larder.Vary, ...), as cache.Route
// does.
func Route(cache *larder.Cache, opts ...larder.RouteOption) gin.HandlerFunc {
	return wrap(cache.Route(opts...))
}

func wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		ch := &chain{c: c}
		mw(ch).ServeHTTP(c.Writer, c.Request)
		if !ch.ran {
			// Answered from the cache: the handlers must not run.
			c.Abort()
		}
	}
}

// chain is the http.Handler the cache calls on a miss: the rest of the gin
// chain.
type chain struct {
	c   *gin.Context
	ran bool
}

// errRerun is the answer to a second call of the chain in one request,
// which gin cannot do: its handlers run once. The cache calls its handler
// twice only when a 304 to its validation request selects a representation
// that it does not hold (RFC 9111 §4.3.4): a handler answering 304 with an
// ETag that does not match the one asked about.
const errRerun = "larder/gin: the handler chain ran already (a 304 with an ETag the cache did not ask about)\n"

var _ larder.RequestBound = (*chain)(nil)

// RequestBound tells the cache not to call the chain in the background
// (stale-while-revalidate): gin recycles the context once the request is
// served.
func (ch *chain) RequestBound() bool { return true }

func (ch *chain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := ch.c
	if ch.ran {
		http.Error(w, errRerun, http.StatusBadGateway)
		return
	}
	ch.ran = true
	outer, req := c.Writer, c.Request
	rw := &responseWriter{ResponseWriter: w, status: outer.Status(), size: noWritten}
	c.Writer, c.Request = rw, r
	defer func() { c.Writer, c.Request = outer, req }()
	c.Next()
	if rw.set {
		// gin sends a status set without a body once the chain is done.
		rw.WriteHeaderNow()
	}
}

const noWritten = -1

// responseWriter is the gin.ResponseWriter the handlers write to on a
// miss: gin's semantics over the cache's writer.
type responseWriter struct {
	http.ResponseWriter
	status int
	size   int
	set    bool // WriteHeader was called: the status goes out even without a body
}

var _ gin.ResponseWriter = (*responseWriter)(nil)

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteHeader sets the status; it is sent with the first write, a flush or
// at the end of the chain.
func (w *responseWriter) WriteHeader(code int) {
	if code <= 0 || w.Written() {
		return
	}
	w.status, w.set = code, true
}

func (w *responseWriter) WriteHeaderNow() {
	if !w.Written() {
		w.size = 0
		w.ResponseWriter.WriteHeader(w.status)
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeaderNow()
	n, err := w.ResponseWriter.Write(p)
	w.size += n
	return n, err
}

func (w *responseWriter) WriteString(s string) (int, error) {
	w.WriteHeaderNow()
	n, err := io.WriteString(w.ResponseWriter, s)
	w.size += n
	return n, err
}

func (w *responseWriter) Status() int   { return w.status }
func (w *responseWriter) Size() int     { return w.size }
func (w *responseWriter) Written() bool { return w.size != noWritten }

var errHijackAfterBody = errors.New("larder/gin: response body already written")

// Hijack hands the connection over, as gin allows it: before any body byte.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.size > 0 {
		return nil, nil, errHijackAfterBody
	}
	if w.size < 0 {
		w.size = 0
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// CloseNotify is what c.Stream watches; the cache's writer provides it.
func (w *responseWriter) CloseNotify() <-chan bool {
	//lint:ignore SA1019 gin.ResponseWriter requires http.CloseNotifier
	if cn, ok := w.ResponseWriter.(http.CloseNotifier); ok {
		return cn.CloseNotify()
	}
	return make(chan bool) // never: not reached with a Larder cache
}

func (w *responseWriter) Flush() {
	w.WriteHeaderNow()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Pusher returns nil: HTTP/2 server push does not go through a cache.
func (w *responseWriter) Pusher() http.Pusher { return nil }
