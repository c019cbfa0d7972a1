package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// Defaults of Config.BodyTimeout and Config.BodyMinRate.
const (
	// DefaultBodyTimeout is how long a client may take to send a request
	// body, before the extension BodyMinRate grants, when
	// Config.BodyTimeout is zero.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultBodyMinRate is the body rate, in bytes per second, that extends
	// the body timeout by one second per DefaultBodyMinRate bytes received,
	// when Config.BodyMinRate is zero.
	DefaultBodyMinRate = 500
)

// ErrBodyTimeout is a request to the upstream abandoned because the client
// sent its request body too slowly (Config.BodyTimeout, Config.BodyMinRate).
// The client gets 408 Request Timeout, and an HTTP/1 connection is closed.
var ErrBodyTimeout = errors.New("proxy: the client sent its request body too slowly")

// bodyLimits are a proxy's body timeout, resolved from its Config.
type bodyLimits struct {
	timeout time.Duration // <= 0: the body is not timed
	rate    int64         // bytes per second; <= 0: no extension
}

func newBodyLimits(timeout time.Duration, rate int64) bodyLimits {
	if timeout == 0 {
		timeout = DefaultBodyTimeout
	}
	if rate == 0 {
		rate = DefaultBodyMinRate
	}
	return bodyLimits{timeout: timeout, rate: rate}
}

// handler is the proxy: the reverse proxy, with the client's request body
// timed.
type handler struct {
	next   http.Handler
	limits bodyLimits
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.limits.timeout <= 0 || r.Body == nil || r.Body == http.NoBody {
		// Without a body there is nothing to time; and a read deadline
		// would then end the server's background read, which watches
		// for the client going away, and with it the request.
		h.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(start.Add(h.limits.timeout)); err != nil {
		// Not a net/http server's writer, nor one that unwraps to it: the
		// body cannot be timed.
		h.next.ServeHTTP(w, r)
		return
	}
	b := &timedBody{
		ReadCloser: r.Body,
		rc:         rc,
		start:      start,
		limits:     h.limits,
		deadline:   start.Add(h.limits.timeout),
	}
	defer b.finish()
	r = r.WithContext(context.WithValue(r.Context(), timedBodyKey{}, b))
	r.Body = b
	h.next.ServeHTTP(w, r)
}

// timedBodyKey is the request context key of the timedBody, so that the
// error handler and the OnUpstream hook, which see the outgoing request,
// can tell a body timeout.
type timedBodyKey struct{}

// timedBody is a request body read under a deadline on the client's
// connection: the body timeout from the start, plus one second per rate
// bytes received (Apache mod_reqtimeout's body=N,MinRate=R). Each read that
// receives bytes pushes the deadline back; the end of the body lifts it.
//
// The deadline is set through the http.ResponseController of the request,
// which belongs to the handler: once the handler returned (finish), a read
// still running in the transport's goroutine sets nothing, since the
// connection may be serving another request by then.
type timedBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	start  time.Time
	limits bodyLimits

	mu       sync.Mutex
	n        int64     // bytes received
	deadline time.Time // the current read deadline
	reading  bool      // a Read is waiting for the client
	timedOut bool      // a Read failed on the deadline
	eof      bool      // the whole body arrived
	done     bool      // the handler returned, or the body ended: set no deadline
}

func (b *timedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.reading = true
	b.mu.Unlock()

	n, err := b.ReadCloser.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = false
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.eof = true
		if !b.done {
			// The body's deadline is not the connection's: the server
			// may now read it to notice the client going away (net/http's
			// HTTP/1 server lifts the deadline for that read itself).
			_ = b.rc.SetReadDeadline(time.Time{})
			b.done = true
		}
	case err != nil:
		if isTimeout(err) && !time.Now().Before(b.deadline) {
			b.timedOut = true
			err = fmt.Errorf("%w: %w", ErrBodyTimeout, err)
		}
	case n > 0 && b.limits.rate > 0 && !b.done:
		b.deadline = b.start.Add(b.limits.timeout + extension(b.n, b.limits.rate))
		_ = b.rc.SetReadDeadline(b.deadline)
	}
	return n, err
}

// finish is called when the handler returns. The deadline stays: it bounds
// what the server still reads of an unread body, to reuse the connection.
func (b *timedBody) finish() {
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}

// expired reports whether the body missed its deadline: a read failed on
// it, or a read is still waiting for the client past it (the server cancels
// the request's context as the read fails, which the transport may see
// first).
func (b *timedBody) expired() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.eof && (b.timedOut || b.reading && !time.Now().Before(b.deadline))
}

// bodyTimedOut reports whether the request of ctx is one whose body missed
// its deadline.
func bodyTimedOut(ctx context.Context) bool {
	b, ok := ctx.Value(timedBodyKey{}).(*timedBody)
	return ok && b.expired()
}

// extension is the time n bytes earn at rate bytes per second: one second
// per rate bytes.
func extension(n, rate int64) time.Duration {
	const maxSeconds = math.MaxInt64 / int64(time.Second) / 2
	s := n / rate
	if s >= maxSeconds {
		return time.Duration(maxSeconds) * time.Second
	}
	return time.Duration(s)*time.Second + time.Duration(float64(n%rate)/float64(rate)*float64(time.Second))
}
