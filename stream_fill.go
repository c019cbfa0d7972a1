package larder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Streaming fills. With a store that is a BodyStreamer and not a
// NonBlockingStore, a response to store whose body is larger than the body
// buffer (WithBodyBuffer) is not held in memory: its body goes to the store
// (SetStream) as it goes to the client, up to the max object size. The
// rules of every fill hold:
//
//   - Admission is decided as for any fill (decide: admit, storedFields),
//     from the header, before the first byte.
//   - The body is stored under a key of its own, bodyKey: the response's
//     key, a NUL, "body", a NUL and a fresh generation, as a KindBody entry.
//     The response itself is stored, once the body is, as a small entry
//     whose BodyKey names it, by the same writes as any fill (put: SetIf on
//     the primary key over what the lookup found, the Vary index first), so
//     a fill whose lookup came before an invalidation or a purge is not
//     stored after it (generation.go): its body is an orphan, which the
//     fill deletes (or, if that fails, which expires with its ttl). The
//     body of a response dropped, replaced or purged later is unreachable
//     at once, and left to expire with its ttl (or be evicted). SetStream, which is not conditional, never writes at a
//     key a reader looks up.
//   - A body cut short is never stored: the response's entry is written
//     only when the handler returned normally, the client got the whole
//     body and it has Content-Length's length (finish, complete); in every
//     other case (a panic, the client gone, a short body, over the max
//     object size) the body's stream fails, so SetStream stores nothing,
//     and a body SetStream did store is deleted.
//   - The client never waits for the store beyond the store timeout: the
//     body goes to SetStream through a bounded buffer (fillChunks chunks of
//     fillChunk bytes); when it is full, the client's next write waits at
//     most the store timeout, then the fill is given up (Event.NotStored
//     "queue-full") and the response goes on to the client alone. A store
//     failure only ends the fill.
//
// The response's entry is written by the fill's goroutine once SetStream
// returned, after the response went out; Cache.Close waits for it. A fill's
// waiters (request coalescing) are given its response when the handler
// returns, before its body is stored: each waits for the body (awaitFill),
// within its coalescing wait, and fetches for itself if it is not stored.

// awaitFill waits until the body under key, if a fill of this Cache is
// streaming it into the store, is stored or given up, or until ctx ends or
// the coalescing wait passed.
func (c *Cache) awaitFill(ctx context.Context, key string) {
	v, ok := c.fills.Load(key)
	if !ok {
		return
	}
	t := time.NewTimer(c.cfg.coalesceWait)
	defer t.Stop()
	select {
	case <-v.(*fill).done:
	case <-ctx.Done():
	case <-t.C:
	}
}

const (
	fillChunk  = 64 << 10 // bytes of a chunk of the body on its way to the store
	fillChunks = 8        // chunks buffered on the way to the store

	// fillCommitTimeout bounds how long SetStream may take once the whole
	// body was handed to it (writing it out, syncing it): past it, its
	// context is cancelled.
	fillCommitTimeout = 30 * time.Second
)

// errFillCut is what SetStream reads from the body of a fill that was
// given up or is not to be stored.
var errFillCut = errors.New("larder: the response is not to be stored")

// fill is a response body on its way into a BodyStreamer store.
type fill struct {
	key    string                    // the body's key
	ch     chan []byte               // chunks for SetStream, closed at the end of the body
	free   chan []byte               // chunks SetStream has read, for reuse
	end    error                     // what Read returns after the last chunk; set before ch is closed
	done   chan struct{}             // closed when SetStream returned, after err is set
	err    error                     // what SetStream returned
	then   chan func() (bool, error) // the writes that store the response, or nil: sent once
	cancel context.CancelFunc
	wait   time.Duration // the longest a write waits for room
	timer  *time.Timer   // bounds SetStream once the body ended

	// The writer's side (the handler's goroutine).
	cut    bool  // given up: nothing is stored
	failed error // why, when the store stopped reading (SetStream's error)
	closed bool  // ch is closed

	// The reader's side (SetStream's goroutine).
	buf []byte // the chunk being read
	off int
}

// memLimit is the largest body the cache keeps in memory for a fill.
func (c *Cache) memLimit() int64 {
	if c.streamer != nil {
		return min(c.cfg.maxObject, c.cfg.bodyBuffer)
	}
	return c.cfg.maxObject
}

// bodyKey returns the key of a body stored apart for the response stored
// under key.
func bodyKey(key, gen string) string {
	var b strings.Builder
	b.Grow(len(key) + len(gen) + 6)
	b.WriteString(key)
	b.WriteString("\x00body\x00")
	b.WriteString(gen)
	return b.String()
}

// startFill starts a streaming fill of the response that cw is about to
// receive, whose body is size bytes long (-1: unknown), when the store
// takes bodies as streams and the body is too large for memory; it reports
// whether it did. decide has admitted the response (cw.plan is set).
func (x *exchange) startFill(cw *capture, size int64) bool {
	c := x.c
	if c.streamer == nil || x.fill != nil || x.r.Method != http.MethodGet || !bodyAllowed(cw.status) ||
		size >= 0 && (size <= cw.limit || size > c.cfg.maxObject) || cw.n > c.cfg.maxObject {
		return false
	}
	key := bodyKey(x.key, c.newGen())
	if len(key) > c.cfg.maxKey {
		return false
	}
	meta := &Entry{Kind: KindBody, ResponseTime: cw.respTime, Expires: cw.respTime.Add(cw.plan.ttl)}
	f := x.c.launchFill(x.background(), key, "", meta, size, cw.plan.ttl)
	if f == nil {
		return false
	}
	x.fill = f
	return true
}

// launchFill starts the goroutine that stores a body under key for ttl:
// the body written to the fill, or, with from set, the body stored under
// from, copied from the store to the store. It returns nil when too many
// store calls are in flight.
func (c *Cache) launchFill(ctx context.Context, key, from string, meta *Entry, size int64, ttl time.Duration) *fill {
	if c.calls.Add(1) > maxStoreCalls {
		c.calls.Add(-1)
		return nil
	}
	f := &fill{
		key:  key,
		ch:   make(chan []byte, fillChunks),
		free: make(chan []byte, fillChunks),
		done: make(chan struct{}),
		then: make(chan func() (bool, error), 1),
		wait: c.cfg.storeTimeout,
	}
	if f.wait <= 0 {
		f.wait = DefaultStoreTimeout
	}
	ctx, f.cancel = context.WithCancel(ctx)
	if from != "" {
		f.closed = true // nothing is written to it
		f.timer = time.AfterFunc(fillCommitTimeout, f.cancel)
	}
	c.fills.Store(key, f)
	c.pending.Add(1) // Close waits for it
	go func() {
		defer c.pending.Done()
		defer c.calls.Add(-1)
		defer f.cancel()
		var err error
		if from == "" {
			err = c.streamer.SetStream(ctx, key, meta, f, size, ttl)
		} else {
			err = c.copyBody(ctx, from, key, meta, size, ttl)
		}
		c.fills.Delete(key)
		f.err = err
		close(f.done)
		job := <-f.then
		if f.timer != nil {
			f.timer.Stop()
		}
		switch {
		case err != nil:
			if !errors.Is(err, errFillCut) { // a store failure, not a fill given up
				_ = c.storeError("setstream", key, ctx, err)
			}
		default:
			if job != nil {
				if ok, err := job(); ok || err != nil { // failures are logged
					return
				}
			}
			// Stored, but the response is not (or not any more, after an
			// invalidation or another fill): the body is an orphan,
			// deleted now rather than left to expire.
			_ = c.delete(context.WithoutCancel(ctx), key)
		}
	}()
	return f
}

// copyBody stores the body stored under from again under key, for ttl.
func (c *Cache) copyBody(ctx context.Context, from, key string, meta *Entry, size int64, ttl time.Duration) error {
	m, rc, n, err := c.streamer.GetStream(ctx, from)
	if err != nil {
		return err
	}
	defer rc.Close()
	if m.Kind != KindBody || n != size {
		return fmt.Errorf("larder: copying a stored body: %w", errBodyChanged)
	}
	return c.streamer.SetStream(ctx, key, meta, rc, size, ttl)
}

// renewBody gives ne, a refreshed response whose body is stored apart, a
// body that lives as long as it will: a refresh keeps the stored body
// (metadata only) while that body outlives ne or has at least half of ne's
// time left; past that, the body is copied, from the store to the store,
// under a key of its own that ne names (the copy is stored before ne is,
// as a fill's body is). Otherwise ne is kept no longer than its body.
func (x *exchange) renewBody(old, ne *Entry) {
	if ne.BodyKey == "" || !ne.Expires.After(old.Expires) {
		return
	}
	c := x.c
	now := c.cfg.now()
	if old.Expires.Sub(now) >= ne.Expires.Sub(now)/2 || c.streamer == nil || x.fill != nil {
		ne.Expires = old.Expires
		return
	}
	key := bodyKey(x.key, c.newGen())
	size := c.storedLength(old)
	ttl := ne.Expires.Sub(now)
	meta := &Entry{Kind: KindBody, ResponseTime: ne.ResponseTime, Expires: ne.Expires}
	if len(key) > c.cfg.maxKey || size <= 0 {
		ne.Expires = old.Expires
		return
	}
	f := c.launchFill(x.background(), key, ne.BodyKey, meta, size, ttl)
	if f == nil {
		ne.Expires = old.Expires
		return
	}
	x.fill = f
	ne.BodyKey = key
}

// startFillOver starts a streaming fill of a response whose body, of
// unknown length or held for a generated ETag, has just outgrown the
// memory limit: the body so far (cw.body) goes to the store first. A held
// header is sent without its generated ETag, as a flush would send it.
func (x *exchange) startFillOver(cw *capture) bool {
	if x.c.streamer == nil || x.fill != nil {
		return false
	}
	size := int64(-1)
	if n, ok := contentLength(cw.header); ok {
		if cw.n > n {
			return false // longer than announced: it will not be stored
		}
		size = n
	}
	if !x.startFill(cw, size) {
		return false
	}
	if cw.fate == fateHold {
		if err := cw.release(cw.body); err != nil {
			x.endFill(nil)
			return false
		}
	}
	x.fill.write(cw.body)
	cw.body = nil
	return true
}

// feedFill hands p, written by the handler, to the fill, and reports false
// when the body outgrew the max object size: the fill is then given up and
// the response goes on unstored (fateStream).
func (x *exchange) feedFill(cw *capture, p []byte) bool {
	if cw.n > x.c.cfg.maxObject {
		x.endFill(nil)
		cw.over, cw.fate = true, fateStream
		return false
	}
	x.fill.write(p)
	return true
}

// endFill ends the exchange's fill, if any: job, the writes that store the
// response once its body is stored, or nil for a response not to be stored.
func (x *exchange) endFill(job func() (bool, error)) {
	if f := x.fill; f != nil {
		x.fill = nil
		f.finish(job)
	}
}

// commitFill hands the writes that store the response to the fill, which
// runs them once the body is stored. It reports whether it did.
func (x *exchange) commitFill(job func() (bool, error)) bool {
	if f := x.fill; f.cut {
		if f.failed != nil {
			x.record(f.failed) // the store failed (Event.StoreErr)
		} else {
			x.ev.NotStored = reasonQueueFull // the store was too slow
		}
		x.endFill(nil)
		return false
	}
	x.endFill(job)
	x.ev.Stored = true
	return true
}

// write copies p to the store's side, waiting at most f.wait for room;
// past that, or once SetStream has returned, the fill is given up.
func (f *fill) write(p []byte) {
	for len(p) > 0 && !f.cut {
		var b []byte
		select {
		case b = <-f.free:
		default:
			b = make([]byte, 0, fillChunk)
		}
		n := min(len(p), fillChunk)
		b = append(b[:0], p[:n]...)
		p = p[n:]
		select {
		case f.ch <- b:
			continue
		case <-f.done:
			f.storeStopped()
			return
		default:
		}
		t := time.NewTimer(f.wait)
		select {
		case f.ch <- b:
		case <-f.done:
			f.storeStopped()
		case <-t.C:
			f.giveUp()
		}
		t.Stop()
	}
}

// storeStopped gives the fill up after SetStream returned before the end
// of the body (the store failed, or found the body too large).
func (f *fill) storeStopped() {
	f.failed = f.err
	if f.failed == nil {
		f.failed = errors.New("larder: the store stopped reading a body")
	}
	f.giveUp()
}

// giveUp ends the body with a failure: SetStream stores nothing.
func (f *fill) giveUp() {
	f.cut = true
	if !f.closed {
		f.closed = true
		f.end = errFillCut
		close(f.ch)
		f.cancel()
	}
}

// finish ends the body, and hands job (nil: do not store) to the fill's
// goroutine.
func (f *fill) finish(job func() (bool, error)) {
	if f.cut {
		job = nil
	}
	if job == nil {
		f.giveUp()
	} else if !f.closed {
		f.closed = true
		f.end = io.EOF
		close(f.ch)
		f.timer = time.AfterFunc(fillCommitTimeout, f.cancel)
	}
	f.then <- job
}

// Read is the body as SetStream reads it.
func (f *fill) Read(p []byte) (int, error) {
	if f.off == len(f.buf) {
		if f.buf != nil {
			select {
			case f.free <- f.buf[:0]:
			default:
			}
			f.buf, f.off = nil, 0
		}
		b, ok := <-f.ch
		if !ok {
			return 0, f.end
		}
		f.buf, f.off = b, 0
	}
	n := copy(p, f.buf[f.off:])
	f.off += n
	return n, nil
}
