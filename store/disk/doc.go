// Package disk is a larder.Store kept in a directory: embedded (no server),
// persistent across restarts, bounded by bytes, and safe across crashes. It
// holds bodies far larger than memory and streams them from disk.
//
//	s, err := disk.Open("/var/cache/larder", disk.Options{MaxBytes: 10 << 30})
//	if err != nil { ... }
//	defer s.Close()
//	cache := larder.New(s)
//
// # Engine
//
// The index is a go.etcd.io/bbolt database: a copy-on-write B+tree in one
// file, whose transactions are atomic and, by default, durable (fsync'd on
// commit), with any number of concurrent readers and one writer. Pebble
// (an LSM tree) was the alternative; it would write faster, but its
// strengths (high write volume, large data sets with range scans,
// compression) are not what a cache index of this kind needs, while bbolt
// gives serialisable read-write transactions, which make SetIf atomic, in
// one small dependency with no background compaction.
//
// # Layout on disk
//
//	DIR/index.db                     the bbolt index
//	DIR/blobs/XX/XXXXXXXX...XXXX     body files, named by write id (32 hex
//	                                 digits; XX, the first two, name the
//	                                 subdirectory)
//	DIR/tmp/XXXXXXXX...XXXX          body files being written
//
// The index has four buckets. Keys are hashed (SHA-256), so every key is 32
// bytes whatever the URL; the record keeps the key itself, which a read
// compares.
//
//	entries   hash → record: the entry (immutable, checksummed)
//	info      hash → access time, expiry, size, write id (what eviction
//	          needs without reading the entry)
//	lru       access time ‖ hash → ∅ (oldest first)
//	expiry    expiry ‖ hash → ∅ (earliest first)
//
// and three more for the tag index (larder.TagStore, purge by tag and by
// prefix; see tags.go): tags (tag ‖ primary key → expiry, a cursor range per
// tag), tagpurge (tag → the time of its latest purge) and tagexp (when each
// of those records may go).
//
// A record holds a format version, flags (inline or file body), the write
// id, the expiry deadline (Unix nanoseconds), the key, the entry in larder's
// v2 encoding (Entry.MarshalBinary: a fixed header, the metadata, then the
// body if it is inline; EncodeEntryMeta when the body is in a file), and a
// CRC-32C of all of it. A body of at most Options.InlineMax bytes (32 KiB by
// default) is inline; a larger one is in a file of its own:
//
//	header   32 bytes: "LRDB", version, the write id, the body length
//	chunks   the body in chunks of 64 KiB, each followed by a CRC-32C of the
//	         write id, the chunk's index and its bytes
//
// # Reads and writes
//
// A read (Get, GetMulti, GetStream) is a bbolt read transaction, which never
// waits for writes: it checks the record's checksum, its key and its
// expiry, and decodes the metadata. Get reads a body file whole, checking
// every chunk; GetStream opens it and returns a reader (io.ReadSeekCloser
// and io.ReaderAt) that reads and checks one chunk at a time, so a body
// costs 64 KiB of memory whatever its size, and a request that needs only
// the metadata reads no body at all. The open file keeps the body readable
// if the entry is replaced, deleted or evicted meanwhile.
//
// A write streams its body, if large, to DIR/tmp (64 KiB in memory at a
// time), syncs it, and renames it into DIR/blobs; then it commits the record
// in a write transaction, which also removes the entry it replaces and
// evicts what must go; once committed, the files of the entries it removed
// are deleted. Writes are group-committed: one goroutine applies them, and
// the writes that arrive during a commit share the next one and its fsyncs.
// SetIf compares the Nonce and writes in one such transaction, so it is
// atomic with respect to every other call. Only one process opens a
// directory: Open takes an exclusive lock on the index (bbolt's flock) and
// fails after a second if another Store holds it.
//
// The store is not a larder.NonBlockingStore: its calls wait on the disk,
// so the cache calls it under its store timeout and writes behind the
// response. Every call fails at once with the context's error if the
// context has ended; a write whose context ends while it waits for a commit
// is not applied; a SetStream checks its context between chunks.
//
// # Size and eviction
//
// Each entry counts its record, its body file and 256 bytes for its index
// keys against Options.MaxBytes; Stats().Bytes is that total, and it never
// exceeds MaxBytes: a write evicts, in its own transaction, first the
// expired entries (earliest expiry first), then the least recently used
// (by access time). Reads note access times in memory, at most one per
// entry per 30 seconds, and the next commit (or one every 5 seconds) writes
// them: the order is approximate, to 30 seconds. A background sweep removes
// expired entries every Options.SweepInterval (a minute), and a read that
// finds an expired entry has it removed; an expired entry is never
// returned. Expiry deadlines are wall-clock times, kept across restarts.
//
// What the directory takes on disk exceeds Stats().Bytes by some slack:
// bbolt's file holds the B+tree with partly filled and free pages (it never
// shrinks; freed pages are reused), and grows in steps of up to 16 MiB; with
// small, inline entries it measured about 1.25 × their total. The body files
// of entries that were replaced while a GetStream reader held them open stay
// until the reader closes them, and bodies being written sit in DIR/tmp
// until they are committed or fail.
//
// # Crashes
//
// A crash of the process (kill -9) loses at most the writes not yet
// committed, those under way. An operating-system crash or a power loss may
// also lose, with the default fsync, a body file whose directory entry had
// not reached the disk (the store does not sync directories: its entry is
// then a miss), and, with Options.NoSync, any recent write. A crash never
// makes the store serve a torn entry: a bbolt transaction is all or nothing;
// a body file is complete and synced before the record that names it is
// committed; and every record and every chunk of a body file carries a
// checksum, verified on every read, so that damage from the disk, a power
// loss under NoSync or anything else is found. A record or body file that
// fails its checks (or a body file that is missing or of the wrong size) is
// a miss, and the entry is removed; a chunk that fails while a GetStream
// body is being read fails that Read (never an early io.EOF). Open removes
// what a crash leaves behind: files in DIR/tmp and body files that no
// record names. The index itself relies on bbolt: with NoSync, an
// operating-system crash or power loss can leave it unopenable (Open then
// fails; delete the directory).
//
// Open refuses a directory that is neither empty nor a store, and removes
// only files named as the store names them.
package disk
