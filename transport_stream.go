package larder

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// streamWriter is the ResponseWriter of a Transport's exchange that calls
// the origin (or waits for another request's response): it runs on a
// goroutine of its own, and its status and header become the caller's
// http.Response as soon as the engine sends them. The body follows through
// a pipe, so that the caller reads it as the origin sends it and the
// engine sees what the caller does with it: a body closed early, or a
// request context that ends, fails the engine's next write, and the
// response is not stored.
type streamWriter struct {
	x     *exchange
	req   *http.Request // the caller's
	h     http.Header
	ready chan struct{} // closed once resp or err is set

	resp      *http.Response
	err       error
	sent      bool // resp or err is set
	signalled bool // ready is closed

	// Set by the origin handler on the exchange's goroutine.
	originErr error          // the base transport's error, while its 502 stands for it
	origin    *http.Response // the last response of the base transport
	called    bool           // the base transport got the request (and closes its body)

	pr    *io.PipeReader
	pw    *io.PipeWriter
	piped bool // the caller reads the body from pr

	mu     sync.Mutex // guards what the caller's Close touches
	cancel context.CancelFunc
	closed bool
	stop   func() bool // stops the AfterFunc of the caller's context
}

func newStreamWriter(x *exchange, req *http.Request) *streamWriter {
	return &streamWriter{x: x, req: req, h: make(http.Header), ready: make(chan struct{})}
}

func (sw *streamWriter) Header() http.Header { return sw.h }

func (sw *streamWriter) WriteHeader(code int) {
	if sw.sent || code < 200 && code != http.StatusSwitchingProtocols {
		// Informational responses: the base transport handled them.
		return
	}
	sw.sent = true
	if sw.originErr != nil {
		// The engine passes on the failure of the base transport: the
		// caller gets its error.
		sw.err = sw.originErr
		sw.signal()
		return
	}
	defer func() {
		if sw.piped || !sw.x.c.local {
			sw.signal()
		}
		// Else, with a NonBlockingStore, a response without a body
		// (HEAD, 204, 304) goes to the caller with the end of the
		// exchange, as a body does (bodyDone): once stored, so that a
		// request the caller sends next finds what it stored.
	}()
	x := sw.x
	h := sw.h
	if x.c.cfg.fromCacheMark && fromCache(&x.ev) {
		h["X-From-Cache"] = []string{"1"}
	}
	r := &http.Response{
		Status:     statusLine(code),
		StatusCode: code,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        h,
		Request:       sw.req,
		ContentLength: headerLength(h),
		Body:          http.NoBody,
	}
	if o := sw.origin; o != nil {
		r.Proto, r.ProtoMajor, r.ProtoMinor, r.TLS = o.Proto, o.ProtoMajor, o.ProtoMinor, o.TLS
		r.Uncompressed = o.Uncompressed
	}
	switch {
	case sw.req.Method == http.MethodHead:
	case !bodyAllowed(code):
		r.ContentLength = 0
	default:
		sw.pr, sw.pw = io.Pipe()
		sw.piped = true
		r.Body = &streamBody{sw: sw}
		ctx := sw.req.Context()
		sw.stop = context.AfterFunc(ctx, func() { _ = sw.pw.CloseWithError(context.Cause(ctx)) })
	}
	sw.resp = r
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	if !sw.sent {
		sw.WriteHeader(http.StatusOK)
	}
	if !sw.piped {
		return len(p), nil
	}
	return sw.pw.Write(p)
}

// fromCache reports whether the response to an exchange came from storage,
// for WithFromCacheHeader.
func fromCache(ev *Event) bool {
	switch ev.Outcome {
	case OutcomeHit, OutcomeRevalidated, OutcomeStaleIfError:
		return true
	}
	return ev.Collapsed
}

// calling records that the base transport is getting the request, and
// how to cancel it when the caller closes the body.
func (sw *streamWriter) calling(cancel context.CancelFunc) {
	sw.called = true
	sw.mu.Lock()
	closed := sw.closed
	if !closed {
		sw.cancel = cancel
	}
	sw.mu.Unlock()
	if closed {
		cancel()
	}
}

// closedByCaller reports whether the caller closed the body.
func (sw *streamWriter) closedByCaller() bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.closed
}

// failing sets (err) or clears (nil) the error of the base transport that
// the next WriteHeader stands for.
func (sw *streamWriter) failing(err error) { sw.originErr = err }

// from records the base transport's response.
func (sw *streamWriter) from(resp *http.Response) { sw.origin = resp }

// bodyDone runs once the origin delivered the body whole. With a store
// over the network, it ends the caller's body at once: the caller does not
// wait for the engine's store calls (its writes are queued anyway, see
// WithWriteQueue). With a NonBlockingStore the body ends with the
// exchange, a moment later, once the response is stored and handed to the
// requests that waited for it: a request the caller sends next finds it.
func (sw *streamWriter) bodyDone() {
	if sw.piped && !sw.x.c.local {
		_ = sw.pw.Close()
	}
}

// abort ends the caller's body with the error that cut it short; with
// held, a response whose header the engine still holds gets the error in
// its place.
func (sw *streamWriter) abort(err error, held bool) {
	if held && !sw.sent {
		sw.originErr = err
	}
	if sw.piped {
		_ = sw.pw.CloseWithError(err)
	}
}

// signal hands the response (or the error) to the caller, once.
func (sw *streamWriter) signal() {
	if !sw.signalled {
		sw.signalled = true
		close(sw.ready)
	}
}

// end runs when the exchange is over.
// fail ends the response with err: RoundTrip's error if the header was
// not sent yet, else the error of the body's next Read.
func (sw *streamWriter) fail(err error) {
	if !sw.sent {
		sw.originErr = err
	}
	if sw.piped {
		_ = sw.pw.CloseWithError(err)
	}
}

func (sw *streamWriter) end() {
	if !sw.sent {
		sw.sent = true
		sw.err = sw.originErr
		if sw.err == nil {
			sw.err = errNoResponse
		}
	}
	sw.signal()
	if sw.piped {
		_ = sw.pw.Close()
	}
	if !sw.called {
		closeBody(sw.req)
	}
}

// streamBody is the caller's response body on the streaming path.
type streamBody struct{ sw *streamWriter }

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.sw.pr.Read(p)
	if err != nil {
		b.sw.stop()
	}
	return n, err
}

// Close ends the body: a write of the engine still to come fails, so a
// body closed before its end is not stored, and the base transport's
// request is cancelled.
func (b *streamBody) Close() error {
	sw := b.sw
	sw.mu.Lock()
	if sw.closed {
		sw.mu.Unlock()
		return nil
	}
	sw.closed = true
	cancel := sw.cancel
	sw.mu.Unlock()
	sw.stop()
	_ = sw.pr.Close()
	if cancel != nil {
		cancel()
	}
	return nil
}
