package disk

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// A body file (see the package documentation):
//
//	header    blobHeaderSize bytes: magic "LRDB", version (1), 3 zero
//	          bytes, the fileID (16 bytes), the body length (8 bytes
//	          big-endian)
//	chunks    the body in chunks of chunkSize bytes (the last may be
//	          shorter), each followed by its CRC-32C, which covers the
//	          fileID, the chunk's index (8 bytes big-endian) and its bytes
//
// so that every chunk read, in order or not, is checked before any of its
// bytes is handed out, and a chunk cannot pass for another's.
const (
	blobMagic      = "LRDB"
	blobVersion    = 1
	blobHeaderSize = 32
	chunkSize      = 64 << 10
)

// chunks is the number of chunks of a body of n bytes.
func chunks(n int64) int64 { return (n + chunkSize - 1) / chunkSize }

// blobSize is the size of the file of a body of n bytes.
func blobSize(n int64) int64 { return blobHeaderSize + n + crcSize*chunks(n) }

// maxBodyFor is the longest body whose file fits in n bytes.
func maxBodyFor(n int64) int64 {
	n -= blobHeaderSize
	if n <= 0 {
		return 0
	}
	// Each full chunk takes chunkSize+crcSize bytes.
	full := n / (chunkSize + crcSize)
	rest := n - full*(chunkSize+crcSize)
	return full*chunkSize + max(rest-crcSize, 0)
}

func chunkSum(id fileID, i int64, data []byte) uint32 {
	var pre [16 + 8]byte
	copy(pre[:], id[:])
	binary.BigEndian.PutUint64(pre[16:], uint64(i))
	return crc32.Update(crc32.Checksum(pre[:], castagnoli), castagnoli, data)
}

func blobHeader(id fileID, bodyLen int64) []byte {
	b := make([]byte, blobHeaderSize)
	copy(b, blobMagic)
	b[4] = blobVersion
	copy(b[8:24], id[:])
	binary.BigEndian.PutUint64(b[24:], uint64(bodyLen))
	return b
}

func blobSubdir(id fileID) string { return hex.EncodeToString(id[:1]) }

func (s *Store) blobPath(id fileID) string {
	return filepath.Join(s.dir, blobsName, blobSubdir(id), hex.EncodeToString(id[:]))
}

func parseFileID(name string) (fileID, bool) {
	var id fileID
	if len(name) != 2*len(id) {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(name))
	return id, err == nil && hex.EncodeToString(id[:]) == name
}

// chunkPool holds buffers of one chunk and its checksum.
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize+crcSize)
	return &b
}}

// blobWriter writes a body file: to a temporary file, moved into place by
// finish once complete and synced.
type blobWriter struct {
	s   *Store
	id  fileID
	f   *os.File
	tmp string
	buf *[]byte // the chunk being filled
	n   int     // bytes in it
	i   int64   // its index
	len int64   // body bytes written
}

func (s *Store) newBlobWriter() (*blobWriter, error) {
	w := &blobWriter{s: s, id: s.newID()}
	w.tmp = filepath.Join(s.dir, tmpName, hex.EncodeToString(w.id[:]))
	f, err := os.OpenFile(w.tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	w.f = f
	// The length is written by finish; until then the header says 0.
	if _, err := f.Write(blobHeader(w.id, 0)); err != nil {
		w.abort()
		return nil, fmt.Errorf("disk: writing a body file: %w", err)
	}
	w.buf = chunkPool.Get().(*[]byte)
	return w, nil
}

// flush writes the chunk in buf with its checksum.
func (w *blobWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	b := *w.buf
	binary.BigEndian.PutUint32(b[w.n:], chunkSum(w.id, w.i, b[:w.n]))
	if _, err := w.f.Write(b[:w.n+crcSize]); err != nil {
		return fmt.Errorf("disk: writing a body file: %w", err)
	}
	w.len += int64(w.n)
	w.n = 0
	w.i++
	return nil
}

// write appends p to the body.
func (w *blobWriter) write(p []byte) error {
	for len(p) > 0 {
		c := copy((*w.buf)[w.n:chunkSize], p)
		w.n += c
		p = p[c:]
		if w.n == chunkSize {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFrom appends r's bytes to the body until io.EOF, failing once the body
// would exceed limit bytes (having read one byte past it, at most) with
// tooLong, and with ctx's error when it ends between chunks.
func (w *blobWriter) readFrom(ctx context.Context, r io.Reader, limit int64, tooLong func() error) error {
	idle := 0
	for {
		if w.n == chunkSize {
			if err := ctxErr(ctx); err != nil {
				return err
			}
			if err := w.flush(); err != nil {
				return err
			}
		}
		total := w.len + int64(w.n)
		room := min(int64(chunkSize-w.n), limit+1-total)
		n, err := r.Read((*w.buf)[w.n : w.n+int(room)])
		w.n += n
		if w.len+int64(w.n) > limit {
			return tooLong()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("disk: reading the body: %w", err)
		}
		if n > 0 {
			idle = 0
		} else if idle++; idle > 100 {
			return fmt.Errorf("disk: reading the body: %w", io.ErrNoProgress)
		}
	}
}

// finish completes the file, syncs it (unless NoSync) and moves it into
// place; abort must still be called if the entry is not committed.
func (w *blobWriter) finish() error {
	if err := w.flush(); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(blobHeader(w.id, w.len), 0); err != nil {
		return fmt.Errorf("disk: writing a body file: %w", err)
	}
	if !w.s.opts.NoSync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("disk: syncing a body file: %w", err)
		}
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		return fmt.Errorf("disk: writing a body file: %w", err)
	}
	w.f = nil
	w.release()
	dst := w.s.blobPath(w.id)
	err := os.Rename(w.tmp, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(filepath.Dir(dst), 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			err = os.Rename(w.tmp, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("disk: moving a body file into place: %w", err)
	}
	w.tmp = dst
	return nil
}

func (w *blobWriter) release() {
	if w.buf != nil {
		chunkPool.Put(w.buf)
		w.buf = nil
	}
}

// abort removes the file, wherever it is.
func (w *blobWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.release()
	_ = os.Remove(w.tmp)
}

// errMissing is returned by openBlob for a body file that does not exist:
// removed since its record was read, or lost.
var errMissing = errors.New("disk: body file missing")

// openBlob opens the body file of write id, with a body of bodyLen bytes,
// and checks its header and its size.
func (s *Store) openBlob(id fileID, bodyLen int64) (*os.File, error) {
	f, err := os.Open(s.blobPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errMissing
	}
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	hdr := make([]byte, blobHeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		f.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: body file truncated", errCorrupt)
		}
		return nil, fmt.Errorf("disk: reading a body file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("disk: %w", err)
	}
	if string(hdr[:5]) != blobMagic+string(rune(blobVersion)) ||
		string(hdr[8:24]) != string(id[:]) ||
		int64(binary.BigEndian.Uint64(hdr[24:])) != bodyLen ||
		fi.Size() != blobSize(bodyLen) {
		f.Close()
		return nil, fmt.Errorf("%w: body file header or size", errCorrupt)
	}
	return f, nil
}

// readChunk reads chunk i of the body into dst (which has room for a chunk
// and its checksum) and checks it; it returns the chunk's bytes.
func readChunk(f *os.File, id fileID, bodyLen, i int64, dst []byte) ([]byte, error) {
	n := min(chunkSize, bodyLen-i*chunkSize)
	b := dst[:n+crcSize]
	if _, err := f.ReadAt(b, blobHeaderSize+i*(chunkSize+crcSize)); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: body file truncated", errCorrupt)
		}
		return nil, fmt.Errorf("disk: reading a body file: %w", err)
	}
	if chunkSum(id, i, b[:n]) != binary.BigEndian.Uint32(b[n:]) {
		return nil, fmt.Errorf("%w: chunk %d of a body file fails its checksum", errCorrupt, i)
	}
	return b[:n], nil
}

// readBlob reads a whole body file into memory, checking every chunk.
func (s *Store) readBlob(ctx context.Context, id fileID, bodyLen int64) ([]byte, error) {
	f, err := s.openBlob(id, bodyLen)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body := make([]byte, bodyLen)
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	for i := range chunks(bodyLen) {
		if i%16 == 15 {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
		}
		c, err := readChunk(f, id, bodyLen, i, *buf)
		if err != nil {
			return nil, err
		}
		copy(body[i*chunkSize:], c)
	}
	return body, nil
}

// blobReader is the body of an entry in a file, as GetStream returns it: an
// io.ReadCloser, io.ReaderAt and io.Seeker that checks each chunk before
// handing out its bytes. A chunk that fails its checksum fails the read
// (never an early io.EOF) and has the entry removed.
type blobReader struct {
	s    *Store
	h    keyHash
	id   fileID
	f    *os.File
	size int64

	mu     sync.Mutex // guards the fields below, for Read, Seek and Close
	pos    int64
	buf    *[]byte // the chunk last read, if cur ≥ 0
	cur    int64
	data   []byte // its bytes in buf
	err    error  // a sticky failure
	closed bool
}

var (
	_ io.ReadSeekCloser = (*blobReader)(nil)
	_ io.ReaderAt       = (*blobReader)(nil)
)

// failed records a failure of the body, and has a corrupt entry removed.
func (r *blobReader) failed(err error) error {
	if errors.Is(err, errCorrupt) {
		r.s.reportBad(r.h, r.id)
	}
	return err
}

func (r *blobReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return 0, os.ErrClosed
	case r.err != nil:
		return 0, r.err
	case r.pos >= r.size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	i := r.pos / chunkSize
	if r.buf == nil || r.cur != i {
		if r.buf == nil {
			r.buf = chunkPool.Get().(*[]byte)
		}
		r.cur = -1
		data, err := readChunk(r.f, r.id, r.size, i, *r.buf)
		if err != nil {
			r.err = r.failed(err)
			return 0, r.err
		}
		r.cur, r.data = i, data
	}
	n := copy(p, r.data[r.pos-i*chunkSize:])
	r.pos += int64(n)
	return n, nil
}

// ReadAt reads len(p) bytes at off, checking every chunk it reads; it may be
// called concurrently with itself, Read and Seek.
func (r *blobReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("disk: negative offset")
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return 0, os.ErrClosed
	}
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= r.size {
			return n, io.EOF
		}
		i := at / chunkSize
		data, err := readChunk(r.f, r.id, r.size, i, *buf)
		if err != nil {
			return n, r.failed(err)
		}
		n += copy(p[n:], data[at-i*chunkSize:])
	}
	return n, nil
}

func (r *blobReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, os.ErrClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("disk: Seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("disk: Seek: negative position")
	}
	r.pos = abs
	return abs, nil
}

func (r *blobReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.buf != nil {
		chunkPool.Put(r.buf)
		r.buf, r.data = nil, nil
	}
	return r.f.Close()
}
