package larder

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// Transport is an HTTP cache on the client side: an http.RoundTripper that
// answers requests from its store when RFC 9111 allows and passes the
// others to a base RoundTripper, on the same engine, rules and stores as
// the middleware. Everything the cache does applies: freshness (§4.2),
// Vary (§4.1), validation of stale responses with their stored validators
// (§4.3: when the origin answers 304, the caller gets the stored response
// with status 200), stale-while-revalidate and stale-if-error (RFC 5861),
// request directives (§5.2.1), invalidation by unsafe requests (§4.4) and
// the coalescing of concurrent identical requests.
//
// A Transport is a private cache by default (RFC 9111 §1, §3.5): it stores
// responses marked private and responses to requests with Authorization,
// and ignores s-maxage and CDN-Cache-Control. Use one Transport per user;
// SharedCache makes it a shared cache, for a process that fetches for many
// users.
//
//	client := &http.Client{Transport: larder.NewTransport(nil, store)}
//
// Every response carries a Cache-Status field (RFC 9211) saying what the
// cache did; WithFromCacheHeader adds gregjones/httpcache's X-From-Cache.
//
// A response that comes from the origin streams to the caller as it
// arrives, and is stored only when the caller read it whole: a body closed
// early, cut short or cancelled with the request's context is not stored.
// A response the cache answers itself carries the stored bytes. The caller
// must close every response body, as with any RoundTripper. Requests that
// take the connection over (Upgrade, CONNECT) go to the base transport as
// they are.
//
// A Transport is safe for concurrent use. Make one with NewTransport.
type Transport struct {
	base http.RoundTripper
	c    *Cache
	wg   sync.WaitGroup // exchanges running on goroutines of their own
	bufs sync.Pool      // *[]byte: the buffers of the body copies from the origin
}

// NewTransport returns a Transport that keeps its entries in store and
// sends the requests it does not answer itself with base (nil means
// http.DefaultTransport). It is a private cache unless the options include
// SharedCache; the other options are the Cache's (WithClock, WithObserver,
// WithMaxObjectSize, WithCoalescing, ...). A nil store stores nothing.
func NewTransport(base http.RoundTripper, store Store, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	all := make([]Option, 0, len(opts)+2)
	all = append(all, PrivateCache(), func(c *config) { c.client = true })
	all = append(all, opts...)
	return &Transport{base: base, c: New(store, all...)}
}

// Cache returns the cache behind the Transport, for Purge and
// DroppedWrites.
func (t *Transport) Cache() *Cache { return t.c }

// Close waits for the exchanges under way (whose callers must read or close
// their response bodies for them to end), then for the background
// revalidations and the queued store writes. The Transport stays usable;
// Close is for shutdown and tests.
func (t *Transport) Close() error {
	t.wg.Wait()
	return t.c.Close()
}

// CloseIdleConnections closes the idle connections of the base transport
// when it has that method, as http.Client.CloseIdleConnections expects.
func (t *Transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// errBadTransport is returned by RoundTrip for a Transport not made by
// NewTransport, or a request without a URL.
var errBadTransport = errors.New("larder: Transport not made by NewTransport, or request without a URL")

// errNoResponse is returned by RoundTrip when the exchange produced no
// response and the base transport no error (which a RoundTripper must not
// do).
var errNoResponse = errors.New("larder: no response from the base transport")

// RoundTrip answers req from the cache, or sends it with the base
// transport, as the http.RoundTripper contract says: it does not modify
// req, and it closes req's body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.c == nil || req.URL == nil {
		closeBody(req)
		return nil, errBadTransport
	}
	// The exchange stays on the stack while the cache answers by itself;
	// it moves to the heap only when the origin is called. It is set
	// field by field, as a composite literal would be built in a
	// temporary and then copied (608 bytes).
	var x exchange
	// The fields the cache reads, gathered in one pass, the engine's
	// included (gatherFields).
	x.rf, x.rfSet = gatherFields(req.Header), true
	if x.rf.upgrade || req.Method == http.MethodConnect {
		// A connection taken over (WebSocket, a tunnel): the response
		// body is the connection itself, never stored, nor copied.
		return t.base.RoundTrip(req)
	}
	r := req
	if r.Header == nil {
		// http.Transport takes a nil Header as an empty one; so does the
		// cache, on a copy: the caller's request is not modified.
		r = new(http.Request)
		*r = *req
		r.Header = make(http.Header)
	}
	c := t.c
	hr := &hitResponse{}
	x.c, x.w, x.next, x.shared = c, hr, transportOrigin{t}, c.cfg.shared
	x.ev.Request = req
	x.key, x.r = c.target(r)
	hit, err := hitFromCache(&x)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if hit {
		x.observe()
		closeBody(req)
		return hr.response(req, c.cfg.fromCacheMark && fromCache(&x.ev)), nil
	}
	hx := new(exchange)
	*hx = x
	sw := newStreamWriter(hx, req)
	hx.w = sw
	t.wg.Add(1)
	go t.run(hx, sw)
	<-sw.ready
	if sw.err != nil {
		return nil, sw.err
	}
	return sw.resp, nil
}

// run is the rest of an exchange the cache could not answer by itself: the
// origin is called (or another request's response awaited), and the
// response streams to the caller through sw.
func (t *Transport) run(x *exchange, sw *streamWriter) {
	defer t.wg.Done()
	defer sw.end()
	defer x.observe()
	defer func() {
		// The engine aborts a response whose stored body fails midway
		// with http.ErrAbortHandler, which an http.Server recovers; here
		// the caller gets an error instead (RoundTrip's, or its body's).
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			x.closeBody()
			sw.fail(errStoredBodyFailed)
		}
	}()
	if x.pass != passNone {
		x.forward(x.r)
		return
	}
	if x.lookedAt.IsZero() {
		x.lookedAt = x.c.cfg.now()
	}
	x.fetchCoalesced()
}

// closeBody closes the body of a request the base transport never got.
// errStoredBodyFailed is what RoundTrip returns when the body of a stored
// response fails while it is read from the store (the middleware aborts
// the response instead).
var errStoredBodyFailed = errors.New("larder: the stored response's body could not be read from the store")

// hitFromCache answers the request from the store if it can, as the
// middleware's fromCache does, on the caller's goroutine: after a hit it
// closes the body the lookup opened in the store, and it turns the abort of a stored body
// that fails midway (http.ErrAbortHandler, which only an http.Server
// recovers) into errStoredBodyFailed.
func hitFromCache(x *exchange) (hit bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			x.closeBody()
			hit, err = false, errStoredBodyFailed
		}
	}()
	if x.fromCache() {
		x.closeBody()
		return true, nil
	}
	return false, nil // the body the lookup opened, if any, goes on with the exchange
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}

// backgroundRequest returns a copy of r for a revalidation made after the
// caller got its response: its own header and URL, no body.
func backgroundRequest(r *http.Request) *http.Request {
	nr := r.Clone(context.WithoutCancel(r.Context()))
	nr.Body, nr.GetBody, nr.ContentLength = nil, nil, 0
	return nr
}
