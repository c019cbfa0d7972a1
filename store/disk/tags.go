package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/larder-cache/larder"
)

var _ larder.TagStore = (*Store)(nil)

// The tag index (larder.TagStore), in three buckets of the index database:
//
//	tags      uvarint(len(tag)) ‖ tag ‖ key → expiry (8 bytes, Unix ns)
//	tagpurge  tag → purge time ‖ keep-until (8 bytes each)
//	tagexp    expiry ‖ kind ‖ name → ∅: when each record above may go
//	          (kind 0: a tags key, kind 1: a tagpurge key)
//
// Keys are sorted, so the keys of one tag are one cursor range. Each call
// is one op of the group commit (a write transaction), so AddTags's check
// and write, and PurgeTags's record and read, are atomic. Each call also
// removes up to tagSweep records whose time has passed (from tagexp,
// earliest first, dated by the call's own time), so the index holds little
// more than its live records while it is used.
var (
	bucketTags     = []byte("tags")
	bucketTagPurge = []byte("tagpurge")
	bucketTagExp   = []byte("tagexp")
)

// tagSweep bounds the expired records one tag call removes.
const tagSweep = 256

func tagKey(tag, key string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(tag)))
	b = append(b, tag...)
	return append(b, key...)
}

func tagPrefix(tag string) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(tag))), tag...)
}

func expKey(at int64, kind byte, name []byte) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(at))
	b = append(b, kind)
	return append(b, name...)
}

func be(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// sweepTags removes up to tagSweep records that expired at now.
func (w *wtx) sweepTags(now int64) {
	exp := w.bucket(bucketTagExp)
	var dead [][]byte
	c := exp.Cursor()
	for k, _ := c.First(); k != nil && len(dead) < tagSweep; k, _ = c.Next() {
		if len(k) < 9 || int64(binary.BigEndian.Uint64(k)) > now {
			break
		}
		dead = append(dead, append([]byte(nil), k...))
	}
	for _, k := range dead {
		name := k[9:]
		switch k[8] {
		case 0:
			if v := w.bucket(bucketTags).Get(name); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= now {
				w.check(w.bucket(bucketTags).Delete(name))
			}
		case 1:
			if v := w.bucket(bucketTagPurge).Get(name); len(v) == 16 && int64(binary.BigEndian.Uint64(v[8:])) <= now {
				w.check(w.bucket(bucketTagPurge).Delete(name))
			}
		}
		w.check(exp.Delete(k))
		w.changed = true
	}
}

// AddTags records key under each of tags until expires, unless one of them
// was purged at or after since (see larder.TagStore): one write transaction.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, since, expires time.Time) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if len(tags) == 0 {
		return true, nil
	}
	if err := s.begin(); err != nil {
		return false, err
	}
	defer s.end()
	sinceNS, exp := since.UnixNano(), expires.UnixNano()
	var ok bool
	err := s.submit(ctx, func(w *wtx) error {
		ok = false
		w.sweepTags(sinceNS)
		purges := w.bucket(bucketTagPurge)
		for _, t := range tags {
			if v := purges.Get([]byte(t)); len(v) == 16 && int64(binary.BigEndian.Uint64(v)) >= sinceNS {
				return nil
			}
		}
		b, expB := w.bucket(bucketTags), w.bucket(bucketTagExp)
		for _, t := range tags {
			k := tagKey(t, key)
			if v := b.Get(k); len(v) == 8 {
				old := int64(binary.BigEndian.Uint64(v))
				if old >= exp {
					continue
				}
				w.check(expB.Delete(expKey(old, 0, k)))
			}
			w.check(b.Put(k, be(exp)))
			w.check(expB.Put(expKey(exp, 0, k), nil))
			w.changed = true
		}
		ok = true
		return nil
	})
	return ok, err
}

// PurgeTags records a purge of each tag at now, kept for keep, and returns
// the keys recorded under them that expire after now (see
// larder.TagStore): one write transaction, the keys of a tag one cursor
// range.
func (s *Store) PurgeTags(ctx context.Context, tags []string, now time.Time, keep time.Duration) ([]string, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	at, until := now.UnixNano(), now.Add(keep).UnixNano()
	var out []string
	err := s.submit(ctx, func(w *wtx) error {
		out = out[:0]
		w.sweepTags(at)
		purges, expB := w.bucket(bucketTagPurge), w.bucket(bucketTagExp)
		seen := make(map[string]struct{})
		for _, t := range tags {
			name := []byte(t)
			old := purges.Get(name)
			oldAt, oldUntil := int64(0), int64(0)
			if len(old) == 16 {
				oldAt, oldUntil = int64(binary.BigEndian.Uint64(old)), int64(binary.BigEndian.Uint64(old[8:]))
			}
			if at > oldAt || until > oldUntil {
				if oldUntil != 0 {
					w.check(expB.Delete(expKey(oldUntil, 1, name)))
				}
				newUntil := max(until, oldUntil)
				w.check(purges.Put(name, append(be(max(at, oldAt)), be(newUntil)...)))
				w.check(expB.Put(expKey(newUntil, 1, name), nil))
				w.changed = true
			}
			p := tagPrefix(t)
			c := w.bucket(bucketTags).Cursor()
			for k, v := c.Seek(p); k != nil && len(k) >= len(p) && string(k[:len(p)]) == string(p); k, v = c.Next() {
				if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= at {
					continue
				}
				key := string(k[len(p):])
				if _, dup := seen[key]; !dup {
					seen[key] = struct{}{}
					out = append(out, key)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ larder.MultiSetter = (*Store)(nil)

// setMultiBatch is how many keys one write transaction of SetMulti stores.
const setMultiBatch = 256

// SetMulti stores e under each of keys for ttl, as Set does (see
// larder.MultiSetter): the entry is encoded once, and each batch of keys is
// one op of the group commit, so that the tombstones of a purge by tag
// share their fsyncs. An entry whose body would go in a file of its own is
// stored key by key with Set.
func (s *Store) SetMulti(ctx context.Context, keys []string, e *larder.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("disk: SetMulti of a nil entry")
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if len(e.Body) > s.opts.InlineMax {
		for _, k := range keys {
			if err := s.Set(ctx, k, e, ttl); err != nil {
				return err
			}
		}
		return nil
	}
	enc, err := e.MarshalBinary()
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	for len(keys) > 0 {
		batch := keys[:min(len(keys), setMultiBatch)]
		keys = keys[len(batch):]
		dl := deadline(s.now(), ttl)
		err := s.submit(ctx, func(w *wtx) error {
			for _, k := range batch {
				h := hashKey(k)
				size := int64(entryOverhead + recordLen(len(k), len(enc)))
				if ttl <= 0 || size > s.opts.MaxEntryBytes {
					w.remove(h)
					continue
				}
				id := s.newID()
				in := info{deadline: dl, size: size, id: id}
				if err := w.insert(h, buildRecord(id, false, dl, k, enc), in); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
