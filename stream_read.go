package larder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Reading stored bodies as streams. With a store that is a BodyStreamer and
// not a NonBlockingStore (store/disk, or a store over the network), the
// cache reads a stored response with GetStream: the entry's metadata, and
// its body as a stream that is read only when the body is sent. A HEAD
// request, a 304 or 412 answer, a freshness check that leads to a
// revalidation and a stale response kept for stale-if-error read no body
// at all. A response whose body is stored apart (Entry.BodyKey, written by
// a streaming fill: stream_fill.go) costs one more call, GetStream of the
// body's key, made only when the body is to be sent.
//
// A hit copies the body from the store to the client with io.Copy, so the
// client's writer reads it (http.ResponseWriter's io.ReaderFrom) in its own
// buffer; ranges are read with the body's io.ReaderAt or io.Seeker when it
// has one, else by reading up to them (ranges.Parse gives them in ascending
// order). A body that fails, or ends short, while it is sent aborts the
// response (panic(http.ErrAbortHandler)): the client never sees a cut
// response that looks complete. A body is closed on every path, when the
// exchange ends (serve).
//
// Where the cache needs a body in memory, it reads it once: a 304 or a HEAD
// that refreshes a response stored whole (read by GetStream) reads its body
// into memory, up to the max object size, to store it again with the new
// header (larger, or failing: the stored response is dropped and fetched
// anew). A response whose body is stored apart is refreshed by its metadata
// only: the new entry names the same body, and is kept no longer than that
// body's entry, unless the body has less than half of the new entry's time
// left: it is then copied from the store to the store, under a new key
// (renewBody, stream_fill.go). Coalesced waiters get a response with
// its body in memory, or one whose body is stored apart, which each opens
// for itself.

// storedBody is the body of a stored response that is not in memory.
type storedBody struct {
	entry *Entry        // the response whose body this is
	rc    io.ReadCloser // the open body; nil before it is opened, or once closed
	size  int64
	pos   int64  // bytes read from rc
	key   string // where entry was read, for an entry read whole with GetStream
}

// close closes the body, if open.
func (b *storedBody) close() {
	if b != nil && b.rc != nil {
		_ = b.rc.Close()
		b.rc = nil
	}
}

// closeBody closes the exchange's stored body, if any.
func (x *exchange) closeBody() {
	x.body.close()
	x.body = nil
}

// streamed reports whether e's body is read through x.body (not in memory).
func (x *exchange) streamed(e *Entry) bool {
	return e.BodyKey != "" || x.body != nil && x.body.entry == e
}

// getAt reads the entry at key, as c.get does; from a streaming store with
// GetStream, leaving the body of a response read whole open in x.body.
func (x *exchange) getAt(ctx context.Context, key string) (*Entry, error) {
	c := x.c
	if c.streamer == nil {
		return c.get(ctx, key)
	}
	if c.localGet != nil {
		// What the store holds in process memory, whole, first (as c.get).
		if e, ok := c.getLocal(key); ok {
			return e, nil
		}
	}
	return x.getStreamAt(ctx, key)
}

func (x *exchange) getStreamAt(ctx context.Context, key string) (*Entry, error) {
	e, rc, size, err := x.c.getStream(ctx, key)
	if err != nil || e == nil {
		return nil, err
	}
	if e.Kind != KindResponse || e.BodyKey != "" || size == 0 {
		_ = rc.Close()
		return e, nil
	}
	x.closeBody()
	x.body = &storedBody{entry: e, rc: rc, size: size, key: key}
	return e, nil
}

// getStream calls the store's GetStream under the store timeout, as
// storeCall does, and returns nil for a miss. A body the store returns after
// the caller gave up is closed.
func (c *Cache) getStream(ctx context.Context, key string) (*Entry, io.ReadCloser, int64, error) {
	type result struct {
		e    *Entry
		rc   io.ReadCloser
		size int64
		err  error
	}
	if c.calls.Add(1) > maxStoreCalls {
		c.calls.Add(-1)
		return nil, nil, 0, c.storeError("getstream", key, ctx, errStoreBusy)
	}
	if c.cfg.storeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.cfg.storeTimeout, ErrStoreTimeout)
		defer cancel()
	}
	done := make(chan result) // unbuffered: an answer nobody takes is closed
	go func() {
		defer c.calls.Add(-1)
		var r result
		r.e, r.rc, r.size, r.err = c.streamer.GetStream(ctx, key)
		select {
		case done <- r:
		case <-ctx.Done():
			if r.rc != nil {
				_ = r.rc.Close()
			}
		}
	}()
	select {
	case r := <-done:
		switch {
		case errors.Is(r.err, ErrNotFound):
			return nil, nil, 0, nil
		case r.err != nil:
			return nil, nil, 0, c.storeError("getstream", key, ctx, r.err)
		case r.e == nil || r.rc == nil || r.size < 0:
			if r.rc != nil {
				_ = r.rc.Close()
			}
			return nil, nil, 0, c.storeError("getstream", key, ctx, errors.New("larder: GetStream returned no entry or no body"))
		}
		return r.e, r.rc, r.size, nil
	case <-ctx.Done():
		return nil, nil, 0, c.storeError("getstream", key, ctx, context.Cause(ctx))
	}
}

// bodyLen is the length of e's body.
func (x *exchange) bodyLen(e *Entry) int64 {
	if b := x.body; b != nil && b.entry == e {
		return b.size
	}
	if e.BodyKey != "" {
		return x.c.storedLength(e)
	}
	return int64(len(e.Body))
}

// storedLength is the Content-Length of e, a stored response, read from its
// meta (a compact entry has no Header map), or 0.
func (c *Cache) storedLength(e *Entry) int64 {
	if v := c.metaOf(e).lookup("Content-Length"); len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	return 0
}

// needsBody reports whether serving e, a stored response, to the request
// sends its body: a GET whose preconditions, if any, hold.
func (x *exchange) needsBody(e *Entry, m *entryMeta) bool {
	return x.r.Method == http.MethodGet && bodyAllowed(e.Status) &&
		(!x.rf.conditional || x.evaluateStored(e, m) == e.Status)
}

// bodyReady opens the body of e, a stored response about to be served,
// when it is stored apart and the request needs it, and reports false when
// it cannot be opened (the body's entry expired, was evicted or the store
// failed): e is then a miss.
func (x *exchange) bodyReady(e *Entry, m *entryMeta) bool {
	return e.BodyKey == "" || !x.needsBody(e, m) || x.openBody(e) == nil
}

// lostBody ends a lookup whose response's body, stored apart, is gone: a
// miss. It reports whether the request was answered (only-if-cached).
func (x *exchange) lostBody() bool {
	x.ev.Outcome = OutcomeMiss
	if x.reqCC.OnlyIfCached {
		x.gatewayTimeout()
		return true
	}
	return false
}

// errBodyChanged is the failure of reopening a body whose entry was
// replaced since it was read.
var errBodyChanged = errors.New("larder: the stored entry changed")

// openBody opens e's body in x.body, unless it is open.
func (x *exchange) openBody(e *Entry) error {
	if b := x.body; b != nil && b.entry == e && b.rc != nil && b.pos == 0 {
		return nil
	}
	key := e.BodyKey
	if key == "" {
		b := x.body
		if b == nil || b.entry != e || b.key == "" {
			return errors.New("larder: no stored body to open")
		}
		key = b.key
	}
	meta, rc, size, err := x.c.getStream(x.r.Context(), key)
	if err == nil && meta == nil && e.BodyKey != "" {
		// Maybe streamed into the store by a fill of this cache that had
		// not stored it yet (a coalesced waiter): once it has, again. The
		// fill may also have ended between the read above and awaitFill,
		// which then finds none: read again whatever it reports.
		x.c.awaitFill(x.r.Context(), key)
		meta, rc, size, err = x.c.getStream(x.r.Context(), key)
	}
	if err != nil {
		x.record(err)
		return err
	}
	if meta == nil {
		return ErrNotFound
	}
	switch {
	case e.BodyKey != "" && meta.Kind != KindBody,
		e.BodyKey == "" && (meta.Nonce != e.Nonce || !meta.ResponseTime.Equal(e.ResponseTime) || meta.Status != e.Status):
		err = errBodyChanged
	case e.BodyKey != "" && size != x.bodyLen(e):
		err = fmt.Errorf("larder: stored body of %d bytes, %d expected", size, x.bodyLen(e))
	}
	if err != nil {
		_ = rc.Close()
		return err
	}
	x.closeBody()
	x.body = &storedBody{entry: e, rc: rc, size: size, key: x.bodyKeyOf(e, key)}
	return nil
}

func (x *exchange) bodyKeyOf(e *Entry, key string) string {
	if e.BodyKey != "" {
		return ""
	}
	return key
}

// loadBody makes the body of x.stale, about to be refreshed (stored again
// with a newer header), available: a response stored whole with its body
// read as a stream gets its body in memory (read once, up to the max object
// size), in a copy of the entry that replaces x.stale; one whose body is
// stored apart keeps it there, opened if the request needs it. It reports
// false when the body cannot be had: the caller drops the stored response.
func (x *exchange) loadBody() bool {
	e := x.stale
	if e.BodyKey != "" {
		return !x.needsBody(e, x.c.metaOf(e)) || x.openBody(e) == nil
	}
	b := x.body
	if b == nil || b.entry != e {
		// In memory, unless the body is not there (a response read as a
		// stream whose body was closed): never stored again as if empty.
		return !bodyAllowed(e.Status) || x.c.storedLength(e) == int64(len(e.Body)) ||
			x.c.metaOf(e).lookup("Content-Length") == nil
	}
	if b.size > x.c.cfg.maxObject || x.openBody(e) != nil {
		return false
	}
	b = x.body
	data := make([]byte, b.size)
	n, err := io.ReadFull(b.rc, data)
	b.pos += int64(n)
	x.closeBody()
	if err != nil {
		x.record(fmt.Errorf("larder: reading a stored body: %w", err))
		return false
	}
	ne := *e
	ne.Body = data
	x.stale = &ne
	return true
}

// detachBody is the stored body that a background revalidation of the
// stale response e may read: none is open; a body read whole is opened
// again from its key if needed.
func (x *exchange) detachBody(e *Entry) *storedBody {
	if b := x.body; b != nil && b.entry == e && b.key != "" {
		return &storedBody{entry: e, size: b.size, key: b.key}
	}
	return nil
}

// retargetBody makes the body of old the body of served, a response that
// refreshes it (its header updated).
func (x *exchange) retargetBody(old, served *Entry) {
	served.BodyKey = old.BodyKey
	if b := x.body; b != nil && b.entry == old {
		b.entry = served
	}
}

// writeBody sends the body of e, a stored response, to the client.
func (x *exchange) writeBody(e *Entry) {
	if x.streamed(e) {
		x.writeStreamed(e)
		return
	}
	_, _ = x.w.Write(e.Body)
}

func (x *exchange) writeStreamed(e *Entry) { x.writeSection(e, 0, x.bodyLen(e)) }

// writePart sends n bytes at off of e's body to the client.
func (x *exchange) writePart(e *Entry, off, n int64) error {
	if !x.streamed(e) {
		_, err := x.w.Write(e.Body[off : off+n])
		return err
	}
	x.writeSection(e, off, n)
	return nil
}

// writeSection copies n bytes at off of e's body from the store to the
// client, and aborts the response if it cannot.
func (x *exchange) writeSection(e *Entry, off, n int64) {
	if b := x.body; b == nil || b.entry != e || b.rc == nil {
		if err := x.openBody(e); err != nil {
			x.abort(err)
		}
	}
	b := x.body
	src, err := b.section(off, n)
	if err != nil {
		x.abort(err)
	}
	sr := sourceReader{r: src}
	got, err := io.Copy(x.w, &sr)
	if err == nil && got != n {
		err = fmt.Errorf("larder: stored body ended after %d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
	}
	if err != nil {
		if sr.err != nil {
			x.record(fmt.Errorf("larder: reading a stored body: %w", sr.err))
		}
		x.abort(err)
	}
}

// abort ends a response whose body cannot be sent whole: the client's
// connection is closed (or its HTTP/2 stream reset), so that it sees a
// failure, never a response cut short that looks complete.
func (x *exchange) abort(err error) {
	x.c.cfg.logger.Warn("larder: aborting a response: its stored body failed", "key", x.key, "err", err)
	x.closeBody()
	panic(http.ErrAbortHandler)
}

// section returns a reader of n bytes at off of the body: by reading on
// from where the last read ended, or, elsewhere, through its io.ReaderAt or
// io.Seeker if it has one, else by reading (and discarding) up to off, which
// must not be behind what was read.
func (b *storedBody) section(off, n int64) (io.Reader, error) {
	if ra, ok := b.rc.(io.ReaderAt); ok && off != b.pos {
		return io.NewSectionReader(ra, off, n), nil
	}
	if off != b.pos {
		if s, ok := b.rc.(io.Seeker); ok {
			if _, err := s.Seek(off, io.SeekStart); err != nil {
				return nil, err
			}
		} else if b.pos < 0 || off < b.pos {
			return nil, errors.New("larder: stored body read out of order")
		} else if _, err := io.CopyN(io.Discard, b.rc, off-b.pos); err != nil {
			return nil, err
		}
		b.pos = off
	}
	b.pos += n
	return io.LimitReader(b.rc, n), nil
}

// sourceReader counts what it reads and keeps its reader's failure, so that
// a failure of the store is told from one of the client.
type sourceReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
