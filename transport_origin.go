package larder

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// transportOrigin is the handler of a Transport's cache: it sends the
// request the engine passes on with the base transport and writes the
// response it gets to the engine's ResponseWriter, as an origin server
// would. The engine decides, as for the middleware, what is stored and what
// the caller gets.
type transportOrigin struct{ t *Transport }

func (o transportOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw, sw := transportWriters(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if sw != nil {
		sw.calling(cancel)
	}
	resp, err := o.t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		if r.Context().Err() == nil && !errors.Is(err, context.Canceled) {
			// The origin could not be reached (RFC 9111 §4.2.4): a stale
			// stored response may stand in for the error.
			OriginUnreachable(w)
		}
		if sw != nil {
			sw.failing(err)
		}
		// What the engine sees of the failure; the caller gets err,
		// unless the cache serves a stale response instead.
		w.WriteHeader(http.StatusBadGateway)
		if sw != nil {
			sw.failing(nil)
		}
		return
	}
	defer resp.Body.Close()
	if sw != nil {
		sw.from(resp)
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	bp, _ := o.t.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 32<<10)
		bp = &b
	}
	defer o.t.bufs.Put(bp)
	buf := *bp
	var written int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				// The caller closed the body or went away: the capture
				// saw the failed write, and stores nothing.
				return
			}
			written += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil && sw != nil && sw.closedByCaller() && written == resp.ContentLength {
			// The caller read every byte the origin announced, then
			// closed the body before reading its end (a JSON decoder
			// does): the close cancelled this read, the body is whole.
			break
		}
		if rerr != nil {
			// Cut short: nothing is stored, and the caller sees the error.
			if cw != nil && cw.err == nil {
				cw.err = rerr
			}
			if sw != nil {
				// A header withheld until the body is complete
				// (WithETags) must not go out with part of it: the
				// caller gets the error instead.
				sw.abort(rerr, cw != nil && cw.fate == fateHold)
			}
			return
		}
	}
	if cw != nil {
		cw.whole = true
	}
	if sw != nil {
		sw.bodyDone()
	}
}

// transportWriters finds, down w's Unwrap chain, the capture the engine
// gave the handler and the streamWriter of the caller (none for a
// background revalidation).
func transportWriters(w http.ResponseWriter) (*capture, *streamWriter) {
	var cw *capture
	for w != nil {
		switch v := w.(type) {
		case *capture:
			cw = v
		case *streamWriter:
			return cw, v
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return cw, nil
}
