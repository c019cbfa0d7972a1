package larder

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

// capture is the http.ResponseWriter a handler writes to on a miss, a
// revalidation or a forwarded request. It streams to the client while
// keeping a copy of the body for storage (up to the max object size),
// withholds the header when the cache must see the whole body first
// (generated ETags), and swallows a 304 that answers the cache's own
// validation request and an error that a stale response replaces.
//
// What becomes of the response is its fate, decided once when the handler
// sets its status (exchange.decide): the states and their transitions are
// the fate constants below. capture only executes the decision; finish
// reads it once the handler has returned.
//
// It keeps http.Flusher, http.Hijacker, io.ReaderFrom and the deprecated
// http.CloseNotifier (gin's c.Stream calls it), and Unwrap lets
// http.ResponseController reach the underlying writer.
//
// A handler that returns without writing anything produced no response:
// the cache writes none either (finish), so what reaches the client is
// what would without the cache: net/http's implicit 200 with no body, or
// the response of a framework that renders errors after its handlers
// return (echo, gin); a write after that goes straight to the client.
type capture struct {
	x          *exchange
	rw         http.ResponseWriter
	header     http.Header // what the handler writes to: rw.Header(), or a map of its own when validating
	validating bool        // the request validates a stored response (RFC 9111 §4.3.1)

	fate     fate
	status   int
	wrote    bool  // the final status was set: fate is decided
	toClient bool  // the header went to the client, and body bytes follow it
	over     bool  // the body outgrew the max object size
	hijacked bool  // the handler took the connection
	err      error // a write to the client failed
	passing  bool  // the handler returned without writing: later writes go straight to the client

	body     []byte
	n        int64 // body bytes the handler wrote
	limit    int64
	respTime time.Time

	// What decide worked out about the response.
	cc     cachecontrol.Directives
	plan   storePlan
	tags   []string    // the response's tags (tags.go)
	stored http.Header // the header to store, cloned before anything is added

	unreachable bool // set by OriginUnreachable: the error reports a disconnected origin
	whole       bool // a Transport's origin delivered the whole body: a context ended after it cuts nothing short
}

// fate is what becomes of a response.
type fate uint8

// The zero fate is undecided: the handler has not set its status yet.
const (
	// fatePass: a forwarded request (another method, an upgrade, a key
	// too long): streamed to the client, never stored.
	fatePass fate = iota + 1
	// fateStream: streamed to the client, not stored. A fateStore or
	// fateHold response whose body outgrows the limit ends here.
	fateStream
	// fateStore: streamed to the client and kept for storage.
	fateStore
	// fateHold: kept for storage with the header withheld until the body
	// is complete (a generated ETag). A flush releases it (fateStore).
	fateHold
	// fateRefresh: a 304 answering the cache's validation request:
	// swallowed; finish updates the stored response and serves it.
	fateRefresh
	// fateStale: an error that the stale response replaces: swallowed;
	// finish serves the stale response.
	fateStale
)

// keeps reports whether body bytes are kept for storage.
func (f fate) keeps() bool { return f == fateStore || f == fateHold }

func (cw *capture) Header() http.Header { return cw.header }

func (cw *capture) WriteHeader(code int) {
	if cw.wrote || cw.hijacked {
		return
	}
	if cw.passing {
		cw.rw.WriteHeader(code)
		if code >= 200 || code == http.StatusSwitchingProtocols {
			cw.wrote, cw.status, cw.toClient = true, code, true
		}
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational responses (103 Early Hints) pass straight through.
		if !cw.validating {
			cw.rw.WriteHeader(code)
		}
		return
	}
	cw.wrote = true
	cw.status = code
	cw.respTime = cw.x.c.cfg.now()
	cw.fate = cw.x.decide(cw)
	if cw.fate != fateHold && cw.fate != fateRefresh && cw.fate != fateStale {
		cw.x.sendHeader(cw)
	}
}

func (cw *capture) Write(p []byte) (int, error) {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		// As net/http's writer: nothing to write is no error, even where
		// the status allows no body (204, 304).
		return 0, nil
	}
	cw.n += int64(len(p))
	if cw.fate.keeps() {
		if cw.x.fill != nil || cw.n > cw.limit && cw.x.startFillOver(cw) {
			// Streamed into the store (stream_fill.go).
			cw.x.feedFill(cw, p)
		} else if cw.n > cw.limit {
			// Too large to store: drop the copy and stream the rest.
			held, hold := cw.body, cw.fate == fateHold
			cw.over, cw.fate, cw.body = true, fateStream, nil
			if hold {
				if err := cw.release(held); err != nil {
					return 0, err
				}
			}
		} else {
			cw.body = append(cw.body, p...)
			if cw.fate == fateHold {
				return len(p), nil
			}
		}
	}
	if !cw.toClient {
		return len(p), nil
	}
	n, err := cw.rw.Write(p)
	if err != nil && cw.err == nil {
		cw.err = err
	}
	return n, err
}

// release sends a withheld header, then the body held so far; a fateHold
// response goes on as fateStore.
func (cw *capture) release(held []byte) error {
	if cw.fate == fateHold {
		cw.fate = fateStore
	}
	cw.x.sendHeader(cw)
	if !cw.toClient || len(held) == 0 {
		return nil
	}
	if _, err := cw.rw.Write(held); err != nil {
		cw.err = err
		return err
	}
	return nil
}

// WriteString lets io.WriteString avoid a copy.
func (cw *capture) WriteString(s string) (int, error) { return cw.Write([]byte(s)) }

// Flush sends buffered data to the client. A withheld header is sent first,
// without the generated ETag: a handler that flushes wants to stream.
func (cw *capture) Flush() {
	_ = cw.FlushError()
}

// FlushError is Flush reporting the error, as http.ResponseController uses it.
func (cw *capture) FlushError() error {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.fate == fateHold {
		if err := cw.release(cw.body); err != nil {
			return err
		}
	}
	if !cw.toClient {
		return nil
	}
	return http.NewResponseController(cw.rw).Flush()
}

// CloseNotify implements http.CloseNotifier, deprecated but still what
// gin's c.Stream watches: the channel of the first writer down the Unwrap
// chain that has one, else one that receives when the request's context
// ends (the client went away, or the request is over).
func (cw *capture) CloseNotify() <-chan bool {
	for w := cw.rw; w != nil; {
		//lint:ignore SA1019 http.CloseNotifier is deprecated, but frameworks (gin) still call it
		if cn, ok := w.(http.CloseNotifier); ok {
			return cn.CloseNotify()
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	ch := make(chan bool, 1)
	context.AfterFunc(cw.x.r.Context(), func() { ch <- true })
	return ch
}

// pass lets the writes that come after the handler returned without writing
// (a framework rendering its error page, or net/http's implicit 200) go
// straight to the client, with the handler's header fields.
func (cw *capture) pass() {
	cw.passing, cw.fate = true, fatePass
	if h := cw.x.w.Header(); cw.validating {
		for k, v := range cw.header {
			h[k] = v
		}
		cw.header = h
	}
}

// Hijack hands the connection to the handler; the response is then not stored.
func (cw *capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(cw.rw).Hijack()
	if err == nil {
		cw.hijacked, cw.fate = true, fateStream
	}
	return conn, brw, err
}

// ReadFrom copies from src, letting the client's writer use sendfile when the
// body is not being kept.
func (cw *capture) ReadFrom(src io.Reader) (int64, error) {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	if rf, ok := cw.rw.(io.ReaderFrom); ok && cw.toClient && !cw.fate.keeps() {
		n, err := rf.ReadFrom(src)
		cw.n += n
		if err != nil && cw.err == nil {
			cw.err = err
		}
		return n, err
	}
	return io.Copy(writerOnly{cw}, src)
}

// Unwrap returns the client's writer, for http.ResponseController.
func (cw *capture) Unwrap() http.ResponseWriter { return cw.rw }

// writerOnly hides capture's ReadFrom from io.Copy, which would recurse.
type writerOnly struct{ io.Writer }
