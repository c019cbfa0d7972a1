// Package fiberlarder puts a Larder cache in a fiber (v2) handler chain.
//
//	cache := larder.New(store)
//	app := fiber.New()
//	users := app.Group("/users", fiberlarder.Route(cache, larder.Expiry(10*time.Second)))
//	users.Get("/:id", getUser)
//	users.Post("/:id", updateUser) // through the same cache: it invalidates /users/:id
//
// or, for the whole application with the handlers' own Cache-Control
// deciding, app.Use(fiberlarder.Middleware(cache)).
//
// Fiber runs on fasthttp, not net/http, and the cache is a net/http
// handler; adaptor.HTTPMiddleware does not fit it (it calls the middleware
// with a stub handler and runs the fiber handlers afterwards, so the cache
// stores the stub's empty response). This package runs the rest of the
// fiber chain (c.Next) inside the cache instead: the request the cache
// passes on is copied back to fasthttp (its key options may change the
// query, its validation requests If-None-Match and If-Modified-Since), a
// returned error goes through the app's error handler there, as fiber
// would send it, and the response fiber built is replayed to the cache,
// which then writes what the client gets (the same response, a stored one,
// a 304) into c.Response(). So fiber's logger and the middleware before
// this one see hits with their status and size; fiber's 404 for an unknown
// route and the handlers' errors are stored only when their Cache-Control
// or larder.ExpiryFor says so.
//
// What does not carry over from net/http, and why:
//
//   - Streaming is buffered. fasthttp writes a response after the handler
//     returned; a body stream (c.SendStream, SetBodyStreamWriter) is read
//     whole before the cache sees it, so the client gets nothing until the
//     stream ends. Keep endless streams (server-sent events) off routes
//     behind this middleware.
//   - No informational responses (103 Early Hints), Hijack or Flush:
//     fasthttp has none of them in a handler.
//   - The chain runs at most once per request. The cache calls its handler
//     a second time only when a 304 to its validation request selects a
//     representation it does not hold (RFC 9111 §4.3.4, a handler
//     answering 304 with another strong ETag than the one asked about);
//     this package then answers 502.
//   - The request's context is c.UserContext(): fasthttp does not report a
//     client that went away while the handler runs.
//   - stale-while-revalidate revalidates on the request that finds the
//     response stale, not in the background (as with gin and echo: fiber
//     recycles the context once the request is served; larder.RequestBound).
//
// For all of net/http's semantics, streaming included, run the larder
// reverse proxy (cmd/larder) in front of the fiber app instead.
//
// Register unsafe methods (POST, PUT, PATCH, DELETE) behind the same cache
// as the GET routes they change, in a group as above: a POST the cache
// never sees never invalidates what it stored.
package fiberlarder

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/larder-cache/larder"
	"github.com/valyala/fasthttp"
)

// Middleware returns a fiber.Handler that puts the rest of the chain behind
// cache with no route policy: the responses' own header fields
// (Cache-Control, Expires, ETag, Vary) decide what is stored, as with
// cache.Middleware.
func Middleware(cache *larder.Cache) fiber.Handler {
	return wrap(cache.Middleware)
}

// Route returns a fiber.Handler that caches the rest of the chain with the
// route policy opts (larder.Expiry, larder.Vary, ...), as cache.Route does.
func Route(cache *larder.Cache, opts ...larder.RouteOption) fiber.Handler {
	return wrap(cache.Route(opts...))
}

func wrap(mw func(http.Handler) http.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := request(c)
		if err != nil {
			// A target net/http cannot parse: no cache for it.
			return c.Next()
		}
		n := &chain{c: c, r: r}
		mw(n).ServeHTTP(newWriter(c.Response()), r)
		return nil
	}
}

// chain is the http.Handler the cache calls on a miss: the rest of the
// fiber chain, its response replayed to the cache.
type chain struct {
	c   *fiber.Ctx
	r   *http.Request // the request as converted, to tell what the cache changed
	ran bool
}

const errRerun = "larder/fiber: the handler chain ran already (a 304 with an ETag the cache did not ask about)\n"

var _ larder.RequestBound = (*chain)(nil)

// RequestBound tells the cache not to call the chain in the background
// (stale-while-revalidate): fiber recycles the context once the request is
// served.
func (ch *chain) RequestBound() bool { return true }

func (ch *chain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := ch.c
	if ch.ran {
		http.Error(w, errRerun, http.StatusBadGateway)
		return
	}
	ch.ran = true
	syncRequest(c.Request(), ch.r, r)
	if err := c.Next(); err != nil {
		// As fiber's own handler does with an error the chain returned.
		if err := c.App().ErrorHandler(c, err); err != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	replay(c.Response(), w, r.Method == http.MethodHead)
}

// request converts the fasthttp request to a net/http one, with copies of
// its strings (fasthttp reuses its buffers).
func request(c *fiber.Ctx) (*http.Request, error) {
	fr := c.Request()
	uri := string(fr.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, err
	}
	body := fr.Body()
	r := &http.Request{
		Method:        string(fr.Header.Method()),
		URL:           u,
		RequestURI:    uri,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header),
		Host:          string(fr.Host()),
		RemoteAddr:    c.Context().RemoteAddr().String(),
		TLS:           c.Context().TLSConnectionState(),
		ContentLength: int64(len(body)),
		Body:          http.NoBody,
	}
	if len(body) > 0 {
		r.Body = readCloser{bytes.NewReader(body)}
	}
	fr.Header.VisitAll(func(k, v []byte) {
		r.Header.Add(string(k), string(v))
	})
	delete(r.Header, "Host") // it is r.Host, as net/http has it
	return r.WithContext(c.UserContext()), nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// syncRequest makes the fasthttp request what the cache passes on (to)
// where it differs from the request converted (from): the target (key
// options drop or sort query parameters) and the header fields (the
// cache's own validators in place of the client's).
func syncRequest(fr *fasthttp.Request, from, to *http.Request) {
	if uri := to.URL.RequestURI(); uri != from.URL.RequestURI() {
		fr.SetRequestURI(uri)
	}
	if to.Host != from.Host {
		fr.SetHost(to.Host)
		fr.Header.SetHost(to.Host)
	}
	for k := range from.Header {
		if _, ok := to.Header[k]; !ok {
			fr.Header.Del(k)
		}
	}
	for k, vs := range to.Header {
		if slices.Equal(vs, from.Header[k]) {
			continue
		}
		fr.Header.Del(k)
		for _, v := range vs {
			fr.Header.Add(k, v)
		}
	}
}

// replay writes the response fiber built to the cache's writer w, and
// empties it: what the client gets, the cache writes back (writer).
func replay(resp *fasthttp.Response, w http.ResponseWriter, head bool) {
	status := resp.StatusCode()
	body := bytes.Clone(resp.Body()) // reads a body stream to its end
	if status == http.StatusNoContent || status == http.StatusNotModified {
		body = nil // fasthttp drops it (fiber's SendStatus writes the status text)
	}
	h := w.Header()
	clear(h)
	resp.Header.VisitAll(func(k, v []byte) {
		switch string(k) {
		case "Content-Length", "Transfer-Encoding":
			// The body is complete: the cache computes its length.
		default:
			h.Add(string(k), string(v))
		}
	})
	if len(body) == 0 && h.Get("Content-Type") == defaultContentType {
		// fasthttp's default, which it sends only with a body.
		delete(h, "Content-Type")
	}
	if head {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	resp.Reset()
	w.WriteHeader(status)
	if !head && len(body) > 0 {
		_, _ = w.Write(body)
	}
}

const defaultContentType = "text/plain; charset=utf-8"

// writer is the http.ResponseWriter the cache writes to: it builds the
// fasthttp response. Its header starts with the fields the middleware
// before this one set, as a net/http middleware's would.
type writer struct {
	resp  *fasthttp.Response
	h     http.Header
	wrote bool
}

func newWriter(resp *fasthttp.Response) *writer {
	w := &writer{resp: resp, h: make(http.Header)}
	resp.Header.VisitAll(func(k, v []byte) {
		switch string(k) {
		case "Content-Type", "Content-Length", "Transfer-Encoding":
			// fasthttp's default type, and a length: not a middleware's.
		default:
			w.h.Add(string(k), string(v))
		}
	})
	return w
}

func (w *writer) Header() http.Header { return w.h }

func (w *writer) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return // fasthttp sends no informational responses
	}
	w.wrote = true
	resp := w.resp
	resp.ResetBody()
	resp.Header.Reset()
	resp.SetStatusCode(code)
	for k, vs := range w.h {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	if _, ok := w.h["Content-Type"]; !ok {
		resp.Header.SetNoDefaultContentType(true)
	}
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.resp.AppendBody(p)
	return len(p), nil
}

// Flush does nothing: fasthttp sends the response once the handler returned.
func (w *writer) Flush() {}
