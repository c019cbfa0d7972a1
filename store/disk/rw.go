package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/larder-cache/larder"
)

// The optional store capabilities the disk store has. It is not a
// larder.NonBlockingStore: its calls wait on the disk.
var (
	_ larder.BodyStreamer     = (*Store)(nil)
	_ larder.ConditionalStore = (*Store)(nil)
	_ larder.MultiGetter      = (*Store)(nil)
)

// found is an entry read from the index.
type found struct {
	e       *larder.Entry // with its body if inline and asked for; else without
	inline  []byte        // the inline body, when not in e
	file    bool          // the body is in the file of write id
	id      fileID
	bodyLen int64
}

// lookup reads the entry under key (whose hash is h) in tx, at now. It
// reports false for a miss: no entry, an expired one or a corrupt one (which
// it reports for removal). withBody puts an inline body in the entry; else
// in found.inline. It notes the access for the LRU order.
func (s *Store) lookup(tx *bolt.Tx, key string, h keyHash, now int64, withBody bool) (found, bool) {
	v := tx.Bucket(bucketEntries).Get(h[:])
	if v == nil {
		return found{}, false
	}
	rec, err := parseRecord(v, key)
	if errors.Is(err, errOtherKey) {
		return found{}, false
	}
	if err != nil || rec.deadline <= now {
		s.reportBad(h, fileID{})
		return found{}, false
	}
	f := found{file: rec.file, id: rec.id, bodyLen: rec.bodyLen}
	if !rec.file && withBody {
		f.e = new(larder.Entry)
		err = f.e.UnmarshalBinary(rec.enc) // copies
	} else {
		f.e, _, _, err = larder.DecodeEntryMeta(rec.enc[:rec.metaLen])
		if !rec.file {
			f.inline = bytes.Clone(rec.enc[rec.metaLen:])
		}
	}
	if err != nil {
		s.reportBad(h, fileID{})
		return found{}, false
	}
	if in, ok := parseInfo(tx.Bucket(bucketInfo).Get(h[:])); ok && now-in.atime >= int64(touchEvery) {
		s.noteTouch(h, now)
	}
	return f, true
}

// maxAttempts bounds how often a read starts again after the body file of
// the entry it read was removed by a write that replaced it.
const maxAttempts = 8

// get reads the entry under key with its body, after begin.
func (s *Store) get(ctx context.Context, key string, h keyHash) (*larder.Entry, error) {
	var missing *fileID
	for range maxAttempts {
		var f found
		var ok bool
		now := s.now().UnixNano()
		if err := s.db.View(func(tx *bolt.Tx) error {
			f, ok = s.lookup(tx, key, h, now, true)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("disk: %w", err)
		}
		if !ok {
			return nil, larder.ErrNotFound
		}
		if !f.file {
			return f.e, nil
		}
		body, err := s.readBlob(ctx, f.id, f.bodyLen)
		switch {
		case err == nil:
			f.e.Body = body
			return f.e, nil
		case errors.Is(err, errMissing) && (missing == nil || *missing != f.id):
			// Replaced since it was read, or lost: read the entry again.
			missing = &f.id
		case errors.Is(err, errMissing), errors.Is(err, errCorrupt):
			s.reportBad(h, f.id)
			return nil, larder.ErrNotFound
		default:
			return nil, err
		}
	}
	return nil, larder.ErrNotFound
}

// GetMulti returns the entries stored under keys, nil at the index of each
// key that holds none (or an expired or corrupt one), reading the index once
// (see larder.MultiGetter). Bodies in files are read after.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	out := make([]*larder.Entry, len(keys))
	var files []int
	now := s.now().UnixNano()
	if err := s.db.View(func(tx *bolt.Tx) error {
		for i, k := range keys {
			f, ok := s.lookup(tx, k, hashKey(k), now, true)
			switch {
			case !ok:
			case f.file:
				files = append(files, i)
			default:
				out[i] = f.e
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	for _, i := range files {
		e, err := s.get(ctx, keys[i], hashKey(keys[i]))
		switch {
		case err == nil:
			out[i] = e
		case !errors.Is(err, larder.ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

// GetStream returns the entry stored under key without its body, the body as
// a stream, and its length; or larder.ErrNotFound (see larder.BodyStreamer).
// A body in a file is read from the file as the caller reads it, a chunk at
// a time, each checked against its checksum; the stream is an
// io.ReadSeekCloser and an io.ReaderAt, and a later write or removal of the
// key does not affect it (it holds the file open). A chunk that fails its
// checksum fails the Read (never an early io.EOF) and has the entry removed.
// An inline body is read with the metadata.
func (s *Store) GetStream(ctx context.Context, key string) (*larder.Entry, io.ReadCloser, int64, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, nil, 0, err
	}
	if err := s.begin(); err != nil {
		return nil, nil, 0, err
	}
	defer s.end()
	h := hashKey(key)
	var missing *fileID
	for range maxAttempts {
		var f found
		var ok bool
		now := s.now().UnixNano()
		if err := s.db.View(func(tx *bolt.Tx) error {
			f, ok = s.lookup(tx, key, h, now, false)
			return nil
		}); err != nil {
			return nil, nil, 0, fmt.Errorf("disk: %w", err)
		}
		if !ok {
			return nil, nil, 0, larder.ErrNotFound
		}
		if !f.file {
			return f.e, bytesBody{bytes.NewReader(f.inline)}, int64(len(f.inline)), nil
		}
		fh, err := s.openBlob(f.id, f.bodyLen)
		switch {
		case err == nil:
			return f.e, &blobReader{s: s, h: h, id: f.id, f: fh, size: f.bodyLen, cur: -1}, f.bodyLen, nil
		case errors.Is(err, errMissing) && (missing == nil || *missing != f.id):
			missing = &f.id
		case errors.Is(err, errMissing), errors.Is(err, errCorrupt):
			s.reportBad(h, f.id)
			return nil, nil, 0, larder.ErrNotFound
		default:
			return nil, nil, 0, err
		}
	}
	return nil, nil, 0, larder.ErrNotFound
}

// bytesBody is an inline body as a stream: a bytes.Reader, which keeps its
// ReadAt, Seek and WriteTo, with a Close that does nothing.
type bytesBody struct{ *bytes.Reader }

func (bytesBody) Close() error { return nil }

// SetIf stores e under key for ttl if the entry stored under key has
// Nonce == gen, or if none is (or it has expired) and gen is "" (see
// larder.ConditionalStore). The comparison and the write are one write
// transaction of the index, atomic with respect to every other call of this
// Store; no other process opens the directory. As with Set, when the
// comparison holds but e is not kept (ttl ≤ 0, or larger than
// MaxEntryBytes), the entry under key is removed and SetIf returns false.
func (s *Store) SetIf(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	return s.set(ctx, key, e, ttl, &gen)
}

// current returns the Nonce of the entry under h, and whether there is an
// (unexpired, sound) entry.
func (w *wtx) current(h keyHash, key string) (string, bool) {
	v := w.bucket(bucketEntries).Get(h[:])
	if v == nil {
		return "", false
	}
	rec, err := parseRecord(v, key)
	if err != nil || rec.deadline <= w.now {
		return "", false
	}
	e, _, _, err := larder.DecodeEntryMeta(rec.enc[:rec.metaLen])
	if err != nil {
		return "", false
	}
	return e.Nonce, true
}

// matches reports whether the entry under h is of generation gen (nil: any).
func (w *wtx) matches(h keyHash, key string, gen *string) bool {
	if gen == nil {
		return true
	}
	nonce, _ := w.current(h, key)
	return nonce == *gen
}

// set is Set (gen nil) and SetIf.
func (s *Store) set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen *string) (bool, error) {
	if e == nil {
		return false, errors.New("disk: Set of a nil entry")
	}
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if err := s.begin(); err != nil {
		return false, err
	}
	defer s.end()
	h := hashKey(key)
	file := len(e.Body) > s.opts.InlineMax
	var enc []byte
	var err error
	if file {
		enc, err = larder.EncodeEntryMeta(e, int64(len(e.Body)))
	} else {
		enc, err = e.MarshalBinary()
	}
	if err != nil {
		return false, fmt.Errorf("disk: %w", err)
	}
	size := int64(entryOverhead + recordLen(len(key), len(enc)))
	if file {
		size += blobSize(int64(len(e.Body)))
	}
	if ttl <= 0 || size > s.opts.MaxEntryBytes {
		// Not kept: the key is removed, as an expired entry would be.
		return false, s.submit(ctx, func(w *wtx) error {
			if w.matches(h, key, gen) {
				w.remove(h)
			}
			return nil
		})
	}
	id := s.newID()
	var bw *blobWriter
	if file {
		if bw, err = s.newBlobWriter(); err != nil {
			return false, err
		}
		id = bw.id
		if err = bw.write(e.Body); err == nil {
			err = bw.finish()
		}
		if err != nil {
			bw.abort()
			return false, err
		}
	}
	// The ttl runs from when the body is on disk.
	in := info{deadline: deadline(s.now(), ttl), size: size, file: file, id: id}
	rec := buildRecord(id, file, in.deadline, key, enc)
	return s.commitEntry(ctx, h, key, rec, in, gen, bw)
}

// commitEntry stores rec under h if the entry there is of generation gen
// (nil: unconditionally). It removes bw's file if it does not store.
func (s *Store) commitEntry(ctx context.Context, h keyHash, key string, rec []byte, in info, gen *string, bw *blobWriter) (bool, error) {
	stored := false
	err := s.submit(ctx, func(w *wtx) error {
		stored = false
		if !w.matches(h, key, gen) {
			return nil
		}
		if err := w.insert(h, rec, in); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err != nil {
		stored = false
	}
	if !stored && bw != nil {
		bw.abort()
	}
	return stored, err
}

// SetStream stores meta under key for ttl with the body read from body to
// io.EOF (see larder.BodyStreamer); size is the body's length if known, or
// -1. A body of at most InlineMax bytes is read into memory and stored in
// the index; a longer one is streamed to a body file a chunk at a time
// (never more than a chunk, 64 KiB, in memory), synced, and then committed
// with the metadata: the entry is stored whole or not at all, and the entry
// stored before stays until the commit.
//
// The store reads no more than fits in MaxEntryBytes: with size known and
// too large it reads nothing, otherwise it stops one byte past what fits;
// either way it fails with an error wrapping larder.ErrBodyTooLarge. A
// context that ends while the body is read fails the call between chunks.
// As with Set, a ttl that is not positive removes the entry under key and
// stores nothing, without reading the body.
func (s *Store) SetStream(ctx context.Context, key string, meta *larder.Entry, body io.Reader, size int64, ttl time.Duration) error {
	if meta == nil || body == nil {
		return errors.New("disk: SetStream of a nil entry or body")
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	h := hashKey(key)
	if ttl <= 0 {
		if err := s.begin(); err != nil {
			return err
		}
		defer s.end()
		return s.submit(ctx, func(w *wtx) error {
			w.remove(h)
			return nil
		})
	}
	metaEnc, err := larder.EncodeEntryMeta(meta, 0) // its length does not depend on the body's
	if err != nil {
		return fmt.Errorf("disk: SetStream: %w", err)
	}
	fixed := int64(entryOverhead + recordLen(len(key), len(metaEnc)))
	inlineRoom := min(s.opts.MaxEntryBytes-fixed, int64(s.opts.InlineMax))
	bodyLimit := inlineRoom
	if fileRoom := maxBodyFor(s.opts.MaxEntryBytes - fixed); fileRoom > int64(s.opts.InlineMax) {
		bodyLimit = fileRoom
	}
	if bodyLimit < 0 || size > bodyLimit {
		return fmt.Errorf("disk: SetStream: %w (%d bytes of room)", larder.ErrBodyTooLarge, max(bodyLimit, 0))
	}
	limit := bodyLimit
	if size >= 0 {
		limit = size
	}
	tooLong := func() error {
		if size >= 0 {
			return fmt.Errorf("disk: SetStream: the body is longer than its size, %d bytes", size)
		}
		return fmt.Errorf("disk: SetStream: %w (more than %d bytes)", larder.ErrBodyTooLarge, bodyLimit)
	}

	// The body: inline if it ends within InlineMax bytes, else in a file.
	var (
		inline []byte
		bw     *blobWriter
		n      int64 // body length
	)
	if size < 0 || size <= int64(s.opts.InlineMax) {
		buf := make([]byte, min(int64(s.opts.InlineMax), limit)+1)
		m, eof, err := readUpTo(body, buf)
		if err != nil {
			return fmt.Errorf("disk: SetStream: reading the body: %w", err)
		}
		if eof {
			inline, n = buf[:m], int64(m)
		} else {
			if int64(m) > limit {
				return tooLong()
			}
			if bw, err = s.newBlobWriter(); err != nil {
				return err
			}
			if err := bw.write(buf[:m]); err != nil {
				bw.abort()
				return err
			}
		}
	} else if bw, err = s.newBlobWriter(); err != nil {
		return err
	}
	if bw != nil {
		if err := bw.readFrom(ctx, body, limit, tooLong); err != nil {
			bw.abort()
			return err
		}
		n = bw.len + int64(bw.n)
	}
	if size >= 0 && n < size {
		if bw != nil {
			bw.abort()
		}
		return fmt.Errorf("disk: SetStream: reading the body: %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if bw != nil {
		if err := bw.finish(); err != nil {
			bw.abort()
			return err
		}
	}

	enc, err := larder.EncodeEntryMeta(meta, n)
	if err != nil {
		if bw != nil {
			bw.abort()
		}
		return fmt.Errorf("disk: SetStream: %w", err)
	}
	// The ttl runs from when the body has been read.
	in := info{deadline: deadline(s.now(), ttl), size: int64(entryOverhead + recordLen(len(key), len(enc)))}
	if bw != nil {
		in.file, in.id = true, bw.id
		in.size += blobSize(n)
	} else {
		in.id = s.newID()
		enc = append(enc, inline...)
		in.size += n
	}
	if in.size > s.opts.MaxEntryBytes {
		if bw != nil {
			bw.abort()
		}
		return fmt.Errorf("disk: SetStream: %w", larder.ErrBodyTooLarge)
	}
	if err := s.begin(); err != nil {
		if bw != nil {
			bw.abort()
		}
		return err
	}
	defer s.end()
	rec := buildRecord(in.id, in.file, in.deadline, key, enc)
	_, err = s.commitEntry(ctx, h, key, rec, in, nil, bw)
	return err
}

// readUpTo reads r into buf until buf is full (eof false), r ends (eof
// true) or r fails.
func readUpTo(r io.Reader, buf []byte) (n int, eof bool, err error) {
	idle := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, true, nil
		case err != nil:
			return n, false, err
		case m == 0:
			if idle++; idle > 100 {
				return n, false, io.ErrNoProgress
			}
		}
	}
	return n, false, nil
}
