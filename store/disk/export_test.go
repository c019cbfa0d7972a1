package disk

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// Hooks for the tests of package disk_test.

// Sweep removes the expired entries now.
func (s *Store) Sweep() (int, error) { return s.sweep(nil) }

// FlushTouches commits the access times noted by reads.
func (s *Store) FlushTouches() error {
	return s.submit(context.Background(), func(*wtx) error { return nil })
}

// BodyFile returns the path of the body file of the entry under key, or ""
// if it has none.
func (s *Store) BodyFile(key string) string {
	h := hashKey(key)
	path := ""
	_ = s.db.View(func(tx *bolt.Tx) error {
		in, ok := parseInfo(tx.Bucket(bucketInfo).Get(h[:]))
		if ok && in.file {
			path = s.blobPath(in.id)
		}
		return nil
	})
	return path
}

// HasRecord reports whether the index holds a record under key, sound or not.
func (s *Store) HasRecord(key string) bool {
	h := hashKey(key)
	found := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketEntries).Get(h[:]) != nil
		return nil
	})
	return found
}

// CorruptRecord flips a bit of byte i of the record under key (from its
// end if i is negative), as a disk might, keeping everything else.
func (s *Store) CorruptRecord(key string, i int) error {
	h := hashKey(key)
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		v := append([]byte(nil), b.Get(h[:])...)
		if i < 0 {
			i += len(v)
		}
		v[i] ^= 0x10
		return b.Put(h[:], v)
	})
}

// ChunkSize is the size of the checksummed chunks of body files.
const ChunkSize = chunkSize

// BlobSize is the size of the body file of a body of n bytes.
func BlobSize(n int64) int64 { return blobSize(n) }

// EntryOverhead is what an entry counts besides its record and body file.
const EntryOverhead = entryOverhead

// TagRecords returns the number of records in the tag buckets: tags,
// tagpurge and tagexp.
func (s *Store) TagRecords() (tags, purges, exps int) {
	_ = s.db.View(func(tx *bolt.Tx) error {
		tags = tx.Bucket(bucketTags).Stats().KeyN
		purges = tx.Bucket(bucketTagPurge).Stats().KeyN
		exps = tx.Bucket(bucketTagExp).Stats().KeyN
		return nil
	})
	return tags, purges, exps
}
