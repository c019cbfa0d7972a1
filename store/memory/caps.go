package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/larder-cache/larder"
	"github.com/maypok86/otter/v2"
)

// The optional store capabilities the memory store has.
var (
	_ larder.BodyStreamer     = (*Store)(nil)
	_ larder.ConditionalStore = (*Store)(nil)
	_ larder.MultiGetter      = (*Store)(nil)
	_ larder.NonBlockingStore = (*Store)(nil)
	_ larder.EntryKeeper      = (*Store)(nil)
)

// KeepsEntries reports true: the store keeps the entries it is given as they
// are (GetStream and SetStream make shallow copies), so the cache hands it
// responses in their compact form, without a Header map (see
// larder.EntryKeeper; read their fields with larder.Entry.Fields).
func (s *Store) KeepsEntries() bool { return true }

// NonBlocking reports true: the store's calls never wait on I/O or on another
// process (see larder.NonBlockingStore).
func (s *Store) NonBlocking() bool { return true }

// GetMulti returns the entries stored under keys, nil at the index of each
// key that holds none or whose entry has expired (see larder.MultiGetter). It
// never fails, and does not consult the context.
func (s *Store) GetMulti(_ context.Context, keys []string) ([]*larder.Entry, error) {
	out := make([]*larder.Entry, len(keys))
	for i, k := range keys {
		if h, rec, ok := s.lookup(k); ok {
			out[i] = s.entry(h, rec)
		}
	}
	return out, nil
}

// SetIf stores e under key for ttl if the entry stored under key has
// Nonce == gen, or if none is and gen is "" (see larder.ConditionalStore). The
// comparison and the write are one atomic step on the key. An expired entry
// counts as absent. As with Set, the store keeps e (or its compact form),
// and when the comparison holds but e is not kept (ttl ≤ 0, or too large
// for MaxBytes) the entry under key is removed and SetIf returns false. A nil e is an
// error. The context is not consulted.
func (s *Store) SetIf(_ context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	if e == nil {
		return false, errors.New("memory: SetIf of a nil entry")
	}
	h, rec, n := s.compact(key, e)
	keep := ttl > 0 && n <= s.maxBytes && n <= math.MaxUint32
	stored := false
	// otter runs the function under the key's lock, with found false for an
	// expired entry; it must not call the cache.
	s.cache.Compute(h, func(old item, found bool) (item, otter.ComputeOp) {
		cur := "" // an entry of another key under h counts as absent
		if found && old.rec.Check == rec.Check {
			cur = old.rec.Nonce()
		}
		if cur != gen {
			return old, otter.CancelOp
		}
		if !keep {
			return old, otter.InvalidateOp
		}
		stored = true
		return item{rec: rec, ttl: ttl}, otter.WriteOp
	})
	return stored, nil
}

// SetStream stores meta under key for ttl with the body read from body to
// io.EOF (see larder.BodyStreamer); length is the body's size if known, or -1.
//
// The store reads the body into memory, never more than fits in MaxBytes:
// with length known and too large it reads nothing, otherwise it stops one
// byte past what fits. Either way it returns an error wrapping
// larder.ErrBodyTooLarge and, like every SetStream that fails, leaves the
// entry stored under key before the call as it was (where Set of an entry too
// large removes it). The stored entry is a copy of *meta that shares its
// header and slices, with the body read as its Body.
//
// As with Set, a ttl that is not positive removes the entry under key and
// stores nothing, without reading the body, and returns nil. A nil meta or
// body is an error. The context is not consulted: reading the body waits as
// long as body's Read does.
func (s *Store) SetStream(_ context.Context, key string, meta *larder.Entry, body io.Reader, length int64, ttl time.Duration) error {
	if meta == nil || body == nil {
		return errors.New("memory: SetStream of a nil entry or body")
	}
	if ttl <= 0 {
		_ = s.Delete(context.Background(), key)
		return nil
	}
	e := *meta
	e.Body = nil
	// room is how many body bytes fit: the entry without a body already
	// weighs size(head).
	_, head, _ := s.compact(key, &e)
	room := min(s.maxBytes, math.MaxUint32) - size(head)
	if room < 0 || length > room {
		return fmt.Errorf("memory: SetStream: %w (%d bytes of room)", larder.ErrBodyTooLarge, max(room, 0))
	}
	b, err := readBody(body, length, room)
	if err != nil {
		return fmt.Errorf("memory: SetStream: %w", err)
	}
	e.Body = b
	h, rec, _ := s.compact(key, &e)
	s.cache.Set(h, item{rec: rec, ttl: ttl})
	return nil
}

// trustedSize is how many bytes readBody allocates at once on the word of
// the size it is given, before they arrive: a body that claims more grows as
// its bytes come, so that a false Content-Length cannot make the store
// allocate far more than it is sent.
const trustedSize = 1 << 20

// readBody reads r to io.EOF: exactly size bytes if size ≥ 0, at most room
// bytes in any case (size ≤ room). It fails with io.ErrUnexpectedEOF if r
// ends before size bytes, with an error if r goes on after them, with
// larder.ErrBodyTooLarge if size is unknown and r holds more than room bytes,
// and with r's error. It never reads more than one byte past its bound, nor
// keeps much more capacity than the body needs.
func readBody(r io.Reader, size, room int64) ([]byte, error) {
	limit := room // the most bytes accepted
	c := int64(512)
	if size >= 0 {
		limit = size
		c = min(size, trustedSize) + 1 // +1: room to find the end without growing
	}
	b := make([]byte, 0, c)
	for {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(2*int64(cap(b)), limit+1))
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			if size >= 0 {
				return nil, fmt.Errorf("the body is longer than its size, %d bytes", size)
			}
			return nil, fmt.Errorf("%w (more than %d bytes)", larder.ErrBodyTooLarge, room)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the body: %w", err)
		}
	}
	if size >= 0 && int64(len(b)) < size {
		return nil, fmt.Errorf("reading the body: %d of %d bytes: %w", len(b), size, io.ErrUnexpectedEOF)
	}
	if waste := cap(b) - len(b); waste > 4096 && waste > len(b)/8 {
		b = bytes.Clone(b) // the stored entry weighs len(b), not cap(b)
	}
	return b, nil
}

// GetStream returns the entry stored under key without its body (a copy of
// it with a nil Body), its body as a stream, and the body's length; or
// larder.ErrNotFound (see larder.BodyStreamer). The stream reads the stored
// bytes, which are never changed, so a later write of the key does not affect
// it; it implements io.ReaderAt, io.Seeker and io.WriterTo, and Close does
// nothing. It works for entries stored by Set as well. The context is not
// consulted.
func (s *Store) GetStream(_ context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	_, rec, ok := s.lookup(key)
	if !ok {
		return nil, nil, 0, larder.ErrNotFound
	}
	e := rec.Entry()
	meta := *e
	meta.Body = nil
	return &meta, bodyReader{bytes.NewReader(e.Body)}, int64(len(e.Body)), nil
}

// bodyReader is a stored body as a stream: a bytes.Reader, which keeps its
// ReadAt, Seek and WriteTo, with a Close that does nothing.
type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }
