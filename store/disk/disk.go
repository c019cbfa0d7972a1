package disk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/larder-cache/larder"
)

// DefaultMaxBytes is the bound used when Options.MaxBytes is zero.
const DefaultMaxBytes = 1 << 30

// DefaultInlineMax is the largest body kept in the index when
// Options.InlineMax is zero.
const DefaultInlineMax = 32 << 10

// DefaultSweepInterval is how often expired entries are removed when
// Options.SweepInterval is zero.
const DefaultSweepInterval = time.Minute

// maxInlineMax bounds Options.InlineMax: larger values are bodies that belong
// in files, not in the B+tree.
const maxInlineMax = 1 << 20

// lockTimeout is how long Open waits for the lock on the index file that
// another process (or another Store of this process) holds.
const lockTimeout = time.Second

// ErrClosed is returned by the calls made on a Store after Close.
var ErrClosed = errors.New("disk: store closed")

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// MaxBytes bounds the total size of the stored entries, as Stats().Bytes
	// counts it: for each entry, its record in the index (key, metadata and,
	// if inline, body), its body file if it has one, and a fixed 256 bytes
	// for its index keys. Zero means DefaultMaxBytes (1 GiB); negative is an
	// error. Writing past it evicts the expired entries first, then the least
	// recently used. What the directory takes on disk can exceed it by the
	// slack the package documentation describes.
	MaxBytes int64

	// MaxEntryBytes bounds the size of one entry, counted as for MaxBytes: a
	// larger entry is not stored (Set removes the key, as for an expired
	// entry; SetStream stops reading and fails with larder.ErrBodyTooLarge).
	// Zero means MaxBytes/8; it may not be negative or exceed MaxBytes.
	MaxEntryBytes int64

	// InlineMax is the largest body kept in the index, with the metadata;
	// larger bodies go to files of their own, which stream from disk. Zero
	// means DefaultInlineMax (32 KiB); it may not be negative or exceed
	// 1 MiB.
	InlineMax int

	// NoSync skips the fsync of the index on each commit and of each body
	// file before it is committed. Writes are then much faster, and a
	// process crash (kill -9) still loses nothing that was committed, but an
	// operating-system crash or power loss may lose recent writes and, in
	// the worst case, leave an index that no longer opens (delete the
	// directory then). Checksums still keep a torn entry from being served.
	NoSync bool

	// SweepInterval is how often a background goroutine removes the expired
	// entries, which are also removed when found by a read and evicted first
	// when room is needed. Zero means DefaultSweepInterval (1 minute);
	// negative turns the periodic sweep off.
	SweepInterval time.Duration

	// Clock returns the current time; nil means time.Now. It decides when
	// entries expire and their access times. Expiry deadlines are stored as
	// wall-clock instants, so that they hold across restarts.
	Clock func() time.Time
}

// Stats describes what a Store holds. It has the fields of memory.Stats, in
// the same order, so that one converts to the other.
type Stats struct {
	// Entries is the number of stored entries, expired ones not yet removed
	// included.
	Entries int
	// Bytes is the total size of the stored entries, as Options.MaxBytes
	// counts it; it is at most MaxBytes.
	Bytes int64
}

// Store is a larder.Store persisted in a directory. It is safe for concurrent
// use; one Store, in one process, opens a directory at a time. Call Close
// when done with it.
type Store struct {
	dir  string
	db   *bolt.DB
	opts Options // with the defaults filled in
	now  func() time.Time

	// mu guards closed; every call that uses the database holds it for
	// reading, so that Close waits for them.
	mu     sync.RWMutex
	closed bool

	ops       chan *op      // to the committer (commit.go)
	commitEnd chan struct{} // closed when the committer has exited

	stop      chan struct{} // closed by Close: the maintenance goroutine exits
	maintEnd  chan struct{}
	bad       chan recheck // entries found expired or corrupt by a read
	closeOnce sync.Once
	closeErr  error

	// The totals, written by the committer only.
	entries atomic.Int64
	bytes   atomic.Int64

	touchMu sync.Mutex
	touches map[keyHash]int64 // access times waiting for a commit

	idPrefix [8]byte
	idSeq    atomic.Uint64
}

var _ larder.Store = (*Store)(nil)

// The bbolt buckets of the index (see the package documentation).
var (
	bucketEntries = []byte("entries")
	bucketInfo    = []byte("info")
	bucketLRU     = []byte("lru")
	bucketExpiry  = []byte("expiry")
	bucketMeta    = []byte("meta")

	metaFormatKey = []byte("format")
	formatName    = []byte("larder-disk/1")
)

// Names inside the directory.
const (
	indexName = "index.db"
	blobsName = "blobs"
	tmpName   = "tmp"
)

// Open opens the store in dir, creating the directory if it does not exist,
// and serves what an earlier Store stored there. It removes what a crash may
// have left behind (temporary files, body files that no entry refers to),
// and evicts down to MaxBytes if the directory holds more.
//
// The directory is locked (an flock on its index file) until Close: a second
// Open of it, in this process or another, fails after waiting a second.
func Open(dir string, opts Options) (*Store, error) {
	if err := fillOptions(&opts); err != nil {
		return nil, err
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, blobsName), 0o700); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, indexName), 0o600, &bolt.Options{
		Timeout:         lockTimeout,
		NoSync:          opts.NoSync,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 64 << 20,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("disk: %s is in use by another store (its index is locked)", dir)
		}
		return nil, fmt.Errorf("disk: opening the index: %w", err)
	}
	s := &Store{
		dir:       dir,
		db:        db,
		opts:      opts,
		now:       opts.Clock,
		ops:       make(chan *op, 256),
		commitEnd: make(chan struct{}),
		stop:      make(chan struct{}),
		maintEnd:  make(chan struct{}),
		bad:       make(chan recheck, 256),
		touches:   make(map[keyHash]int64),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if _, err := rand.Read(s.idPrefix[:]); err != nil {
		db.Close()
		return nil, fmt.Errorf("disk: %w", err)
	}
	if err := s.prepare(); err != nil {
		db.Close()
		return nil, err
	}
	go s.committer()
	go s.maintain()
	// MaxBytes may be lower than when the entries were stored.
	if s.bytes.Load() > s.opts.MaxBytes {
		if err := s.submit(context.Background(), func(w *wtx) error { return w.makeRoom(0) }); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// checkDir refuses a directory that holds anything but a store: Open
// removes files in it, and a mistyped path must not cost anyone theirs. A
// store's directory holds its index; a new one is empty (or holds only the
// subdirectories Open creates before the index).
func checkDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	for _, e := range ents {
		if e.Name() == indexName {
			return nil
		}
	}
	for _, e := range ents {
		if n := e.Name(); n != blobsName && n != tmpName {
			return fmt.Errorf("disk: %s is not empty and holds no store (no %s): refusing to use it", dir, indexName)
		}
	}
	return nil
}

func fillOptions(o *Options) error {
	switch {
	case o.MaxBytes < 0:
		return errors.New("disk: negative MaxBytes")
	case o.MaxBytes == 0:
		o.MaxBytes = DefaultMaxBytes
	}
	switch {
	case o.MaxEntryBytes < 0 || o.MaxEntryBytes > o.MaxBytes:
		return errors.New("disk: MaxEntryBytes out of range (0 to MaxBytes)")
	case o.MaxEntryBytes == 0:
		o.MaxEntryBytes = o.MaxBytes / 8
	}
	switch {
	case o.InlineMax < 0 || o.InlineMax > maxInlineMax:
		return errors.New("disk: InlineMax out of range (0 to 1 MiB)")
	case o.InlineMax == 0:
		o.InlineMax = DefaultInlineMax
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	return nil
}

// prepare readies the index and the directory for Open: it creates the
// buckets, checks the format, counts the entries, and removes the files that
// no entry refers to (what a crash between writing a body file and
// committing it, or between a commit and the removal of the files it
// replaced, leaves behind).
func (s *Store) prepare() error {
	referenced := make(map[fileID]struct{})
	var entries, bytes int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEntries, bucketInfo, bucketLRU, bucketExpiry, bucketMeta, bucketTags, bucketTagPurge, bucketTagExp} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch f := meta.Get(metaFormatKey); {
		case f == nil:
			if err := meta.Put(metaFormatKey, formatName); err != nil {
				return err
			}
		case string(f) != string(formatName):
			return fmt.Errorf("disk: %s holds a store of format %q, not %q", s.dir, f, formatName)
		}
		// An info record that does not parse is removed with its entry.
		var broken []keyHash
		c := tx.Bucket(bucketInfo).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			in, ok := parseInfo(v)
			if !ok || len(k) != len(keyHash{}) {
				var h keyHash
				copy(h[:], k)
				broken = append(broken, h)
				continue
			}
			entries++
			bytes += in.size
			if in.file {
				referenced[in.id] = struct{}{}
			}
		}
		if len(broken) > 0 {
			w := &wtx{s: s, tx: tx}
			for _, h := range broken {
				w.removeBroken(h)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("disk: opening the index: %w", err)
	}
	s.entries.Store(entries)
	s.bytes.Store(bytes)

	tmp := filepath.Join(s.dir, tmpName)
	if err := os.Mkdir(tmp, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("disk: %w", err)
	}
	files, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	for _, f := range files {
		if _, ok := parseFileID(f.Name()); ok {
			_ = os.Remove(filepath.Join(tmp, f.Name()))
		}
	}
	return s.sweepBlobs(referenced)
}

// sweepBlobs removes the body files that no entry refers to. It removes
// only files named as the store names them, and leaves anything else.
func (s *Store) sweepBlobs(referenced map[fileID]struct{}) error {
	root := filepath.Join(s.dir, blobsName)
	subs, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() {
			continue
		}
		p := filepath.Join(root, sub.Name())
		files, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("disk: %w", err)
		}
		for _, f := range files {
			id, ok := parseFileID(f.Name())
			if !ok || !f.Type().IsRegular() {
				continue
			}
			if _, keep := referenced[id]; keep && sub.Name() == blobSubdir(id) {
				continue
			}
			_ = os.Remove(filepath.Join(p, f.Name()))
		}
	}
	return nil
}

// Close flushes the access times not yet written, waits for the calls under
// way (a SetStream still reading its body is not waited for: it fails with
// ErrClosed when it has read it), stops the background goroutines and
// closes the index, releasing the directory. Bodies returned by GetStream
// stay readable until closed. Calls after Close fail with ErrClosed. Close
// may be called more than once; it returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.maintEnd
		// Keep the access times for the next Open.
		_ = s.submit(context.Background(), func(*wtx) error { return nil })
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.ops)
		<-s.commitEnd
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Stats reports how many entries the store holds and their total size.
func (s *Store) Stats() Stats {
	return Stats{Entries: int(s.entries.Load()), Bytes: s.bytes.Load()}
}

// keyHash is the SHA-256 of a key: the key of its entry in the index.
type keyHash [sha256.Size]byte

func hashKey(key string) keyHash { return sha256.Sum256([]byte(key)) }

// fileID names one written entry: its body file if it has one. It is unique
// to the write: a random prefix drawn at Open and a counter.
type fileID [16]byte

func (s *Store) newID() fileID {
	var id fileID
	copy(id[:8], s.idPrefix[:])
	binary.BigEndian.PutUint64(id[8:], s.idSeq.Add(1))
	return id
}

// deadline is when an entry stored now for ttl expires, in Unix nanoseconds,
// saturated rather than overflowing.
func deadline(now time.Time, ttl time.Duration) int64 {
	n := now.UnixNano()
	if n > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return n + int64(ttl)
}

// begin marks the start of a call that uses the index; end must follow.
func (s *Store) begin() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) end() { s.mu.RUnlock() }

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	return nil
}

// Get returns the entry stored under key with its body in memory, or
// larder.ErrNotFound if there is none, it has expired, or it fails its
// checksums (it is then removed). A context that has ended fails the call.
func (s *Store) Get(ctx context.Context, key string) (*larder.Entry, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	return s.get(ctx, key, hashKey(key))
}

// Set stores e under key for ttl, replacing any previous entry: it returns
// once the entry is committed (fsync'd, unless NoSync). Set removes any
// previous entry and stores nothing, returning nil, when ttl is not positive
// or the entry exceeds MaxEntryBytes. A nil e is an error, as is an entry the
// format cannot hold (larder.ErrEntryFormat).
func (s *Store) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	_, err := s.set(ctx, key, e, ttl, nil)
	return err
}

// Delete removes the entry under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	h := hashKey(key)
	// Most deletes (invalidations) find nothing: a read spares them a commit.
	found := false
	if err := s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketEntries).Get(h[:]) != nil
		return nil
	}); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	if !found {
		return nil
	}
	return s.submit(ctx, func(w *wtx) error {
		w.remove(h)
		return nil
	})
}
