package disk

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Writes: group commit. Every change to the index is an op, which one
// goroutine, the committer, applies in a bbolt write transaction. The ops
// that arrive while a transaction commits are applied together in the next
// one, so that concurrent writers share its fsyncs, and an op alone waits
// for nothing. An op sees the changes of the ops before it in its
// transaction; it is one atomic step with respect to every other call.

// maxBatch bounds the ops applied in one transaction.
const maxBatch = 128

// op is a change to the index.
type op struct {
	ctx context.Context
	// fn applies the change. It may run twice (alone, after its batch
	// failed), so it sets its results afresh each time. An error rolls its
	// transaction back.
	fn   func(w *wtx) error
	err  error
	done chan struct{}
}

// submit has fn applied and returns its error, or the commit's. It skips fn,
// returning ctx's error, if ctx has ended by the time fn would run. The
// caller has called begin (or is Open or Close, which run before and after
// every such call).
func (s *Store) submit(ctx context.Context, fn func(w *wtx) error) error {
	o := &op{ctx: ctx, fn: fn, done: make(chan struct{})}
	s.ops <- o
	<-o.done
	return o.err
}

// committer applies the ops, a batch per transaction, until ops is closed.
func (s *Store) committer() {
	defer close(s.commitEnd)
	batch := make([]*op, 0, maxBatch)
	for o := range s.ops {
		batch = append(batch[:0], o)
	more:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		s.runBatch(batch)
	}
}

func (s *Store) runBatch(batch []*op) {
	live := batch[:0:0]
	for _, o := range batch {
		if err := ctxErr(o.ctx); err != nil {
			o.err = err
			close(o.done)
			continue
		}
		live = append(live, o)
	}
	touches := s.takeTouches()
	if len(live) == 0 && len(touches) == 0 {
		return
	}
	w, err := s.apply(live, touches)
	if err != nil && len(live) > 1 {
		// One op may have failed the batch: apply each alone.
		for _, o := range live {
			w, err := s.apply([]*op{o}, nil)
			s.committed(w, err)
			o.err = err
			close(o.done)
		}
		return
	}
	s.committed(w, err)
	for _, o := range live {
		o.err = err
		close(o.done)
	}
}

// apply runs ops in one transaction, after the access times touches, and
// commits it if they changed anything.
func (s *Store) apply(ops []*op, touches map[keyHash]int64) (*wtx, error) {
	tx, err := s.db.Begin(true)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	w := &wtx{s: s, tx: tx, now: s.now().UnixNano(), entries: s.entries.Load(), bytes: s.bytes.Load()}
	w.applyTouches(touches)
	for _, o := range ops {
		if err := o.fn(w); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		if w.err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("disk: updating the index: %w", w.err)
		}
	}
	if !w.changed {
		return w, tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("disk: committing: %w", err)
	}
	return w, nil
}

// committed takes the totals of a committed transaction and removes the
// files its entries no longer use (before its ops return, so that a file
// outlives its entry only across a crash). The files of an uncommitted one
// stay.
func (s *Store) committed(w *wtx, err error) {
	if err != nil || w == nil || !w.changed {
		return
	}
	s.entries.Store(w.entries)
	s.bytes.Store(w.bytes)
	for _, id := range w.unused {
		// A GetStream reading the file keeps it open; where that prevents
		// removal (Windows), the next Open removes it.
		_ = os.Remove(s.blobPath(id))
	}
}

// wtx is a write transaction in progress.
type wtx struct {
	s       *Store
	tx      *bolt.Tx
	now     int64 // Unix nanoseconds
	entries int64 // the totals after the ops so far
	bytes   int64
	changed bool
	unused  []fileID // body files to remove once committed
	err     error    // the first failure of a bucket operation
}

func (w *wtx) bucket(name []byte) *bolt.Bucket { return w.tx.Bucket(name) }

// check records the first failure of a bucket operation, which fails the
// transaction.
func (w *wtx) check(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// remove removes the entry under h, if any.
func (w *wtx) remove(h keyHash) {
	infoB := w.bucket(bucketInfo)
	v := infoB.Get(h[:])
	if v == nil {
		if w.bucket(bucketEntries).Get(h[:]) != nil {
			w.check(w.bucket(bucketEntries).Delete(h[:]))
			w.changed = true
		}
		return
	}
	in, ok := parseInfo(v)
	if !ok {
		w.removeBroken(h)
		return
	}
	w.check(w.bucket(bucketLRU).Delete(timeKey(in.atime, h)))
	w.check(w.bucket(bucketExpiry).Delete(timeKey(in.deadline, h)))
	w.check(infoB.Delete(h[:]))
	w.check(w.bucket(bucketEntries).Delete(h[:]))
	w.entries--
	w.bytes -= in.size
	if in.file {
		w.unused = append(w.unused, in.id)
	}
	w.changed = true
}

// removeBroken removes the entry under h whose info record does not parse,
// with whatever lru and expiry keys name h (a scan: it does not happen but
// by corruption). Its body file, unknown, is left to the next Open.
func (w *wtx) removeBroken(h keyHash) {
	for _, name := range [][]byte{bucketLRU, bucketExpiry} {
		b := w.bucket(name)
		var dead [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == 8+len(h) && string(k[8:]) == string(h[:]) {
				dead = append(dead, append([]byte(nil), k...))
			}
		}
		for _, k := range dead {
			w.check(b.Delete(k))
		}
	}
	w.check(w.bucket(bucketInfo).Delete(h[:]))
	w.check(w.bucket(bucketEntries).Delete(h[:]))
	w.changed = true
}

// insert stores rec under h, replacing any entry there and evicting others
// as needed to keep the total within MaxBytes.
func (w *wtx) insert(h keyHash, rec []byte, in info) error {
	w.remove(h)
	if err := w.makeRoom(in.size); err != nil {
		return err
	}
	in.atime = w.now
	w.check(w.bucket(bucketEntries).Put(h[:], rec))
	w.check(w.bucket(bucketInfo).Put(h[:], in.bytes()))
	w.check(w.bucket(bucketLRU).Put(timeKey(in.atime, h), nil))
	w.check(w.bucket(bucketExpiry).Put(timeKey(in.deadline, h), nil))
	w.entries++
	w.bytes += in.size
	w.changed = true
	return nil
}

// evictBatch is how many victims makeRoom collects before removing them.
const evictBatch = 64

// makeRoom evicts entries until need more bytes fit within MaxBytes: the
// expired entries first, earliest deadline first, then the least recently
// used.
func (w *wtx) makeRoom(need int64) error {
	max := w.s.opts.MaxBytes
	for _, name := range [][]byte{bucketExpiry, bucketLRU} {
		expired := string(name) == string(bucketExpiry)
		for w.bytes+need > max && w.err == nil {
			var victims []keyHash
			c := w.bucket(name).Cursor()
			for k, _ := c.First(); k != nil && len(victims) < evictBatch; k, _ = c.Next() {
				if len(k) != 8+len(keyHash{}) {
					// Not a key of ours: drop it.
					w.check(c.Delete())
					w.changed = true
					continue
				}
				if expired && int64(beUint64(k)) > w.now {
					break
				}
				var h keyHash
				copy(h[:], k[8:])
				victims = append(victims, h)
			}
			if len(victims) == 0 {
				break
			}
			for _, h := range victims {
				if w.bytes+need <= max {
					break
				}
				w.remove(h)
			}
		}
	}
	if w.bytes+need > max && w.err == nil {
		return fmt.Errorf("disk: index inconsistent: %d bytes counted and nothing left to evict", w.bytes)
	}
	return w.err
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// ---- access times ----

// touchEvery is how stale an entry's access time gets before a read records
// a new one: the resolution of the LRU order, which bounds the writes that
// reads cause to one per entry per touchEvery.
const touchEvery = 30 * time.Second

// maxTouches bounds the access times waiting for a commit; more are dropped
// (the order is approximate).
const maxTouches = 1 << 16

// touchFlushEvery is how often the maintenance goroutine commits the access
// times waiting when no write did.
const touchFlushEvery = 5 * time.Second

// noteTouch records that the entry under h was read at now (Unix
// nanoseconds), for the next commit.
func (s *Store) noteTouch(h keyHash, now int64) {
	s.touchMu.Lock()
	if len(s.touches) < maxTouches {
		s.touches[h] = now
	}
	s.touchMu.Unlock()
}

func (s *Store) takeTouches() map[keyHash]int64 {
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	if len(s.touches) == 0 {
		return nil
	}
	t := s.touches
	s.touches = make(map[keyHash]int64)
	return t
}

func (s *Store) pendingTouches() int {
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	return len(s.touches)
}

// applyTouches moves the entries read to their new place in the LRU order.
func (w *wtx) applyTouches(touches map[keyHash]int64) {
	infoB := w.bucket(bucketInfo)
	for h, t := range touches {
		in, ok := parseInfo(infoB.Get(h[:]))
		if !ok || t <= in.atime {
			continue
		}
		w.check(w.bucket(bucketLRU).Delete(timeKey(in.atime, h)))
		in.atime = t
		w.check(w.bucket(bucketLRU).Put(timeKey(in.atime, h), nil))
		w.check(infoB.Put(h[:], in.bytes()))
		w.changed = true
	}
}

// ---- maintenance ----

// recheck asks for the entry under h to be checked again in a write
// transaction, and removed if it has expired or is corrupt, or if it is
// still the write id whose body file failed.
type recheck struct {
	h  keyHash
	id fileID // zero for a record found corrupt or expired
}

// reportBad asks the maintenance goroutine to recheck the entry under h. It
// never blocks: when too many are waiting the report is dropped (the sweep
// or a later read finds the entry again).
func (s *Store) reportBad(h keyHash, id fileID) {
	select {
	case s.bad <- recheck{h, id}:
	default:
	}
}

// maintain runs until Close: it removes the entries reported bad, commits
// the access times waiting, and sweeps the expired entries.
func (s *Store) maintain() {
	defer close(s.maintEnd)
	flush := time.NewTicker(touchFlushEvery)
	defer flush.Stop()
	var sweep <-chan time.Time
	if s.opts.SweepInterval > 0 {
		t := time.NewTicker(s.opts.SweepInterval)
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case <-s.stop:
			return
		case r := <-s.bad:
			batch := []recheck{r}
			for len(batch) < cap(s.bad) {
				select {
				case r := <-s.bad:
					batch = append(batch, r)
					continue
				default:
				}
				break
			}
			_ = s.recheck(batch)
		case <-flush.C:
			if s.pendingTouches() > 0 {
				_ = s.submit(context.Background(), func(*wtx) error { return nil })
			}
		case <-sweep:
			_, _ = s.sweep(s.stop)
		}
	}
}

// recheck removes each entry rs name that is expired or corrupt, or still of
// the write whose body file failed.
func (s *Store) recheck(rs []recheck) error {
	return s.submit(context.Background(), func(w *wtx) error {
		for _, r := range rs {
			v := w.bucket(bucketEntries).Get(r.h[:])
			if v == nil {
				continue
			}
			rec, err := parseRecord(v, recordKey(v))
			if err != nil || rec.deadline <= w.now || (r.id != fileID{} && rec.id == r.id) {
				w.remove(r.h)
			}
		}
		return nil
	})
}

// recordKey returns the key a record names, or "" if it has none (it is
// then corrupt, which parseRecord finds).
func recordKey(b []byte) string {
	if len(b) < recFixed+1 {
		return ""
	}
	kl, n := binary.Uvarint(b[recFixed:])
	if n <= 0 || kl > uint64(len(b)-recFixed-n) {
		return ""
	}
	return string(b[recFixed+n : recFixed+n+int(kl)])
}

// sweepBatch bounds the expired entries removed in one transaction.
const sweepBatch = 512

// sweep removes every expired entry, in transactions of sweepBatch, until
// there are none or stop is closed. It returns how many it removed.
func (s *Store) sweep(stop <-chan struct{}) (int, error) {
	total := 0
	for {
		select {
		case <-stop:
			return total, nil
		default:
		}
		n := 0
		err := s.submit(context.Background(), func(w *wtx) error {
			n = 0
			var victims []keyHash
			c := w.bucket(bucketExpiry).Cursor()
			for k, _ := c.First(); k != nil && len(victims) < sweepBatch; k, _ = c.Next() {
				if len(k) != 8+len(keyHash{}) || int64(beUint64(k)) > w.now {
					break
				}
				var h keyHash
				copy(h[:], k[8:])
				victims = append(victims, h)
			}
			for _, h := range victims {
				w.remove(h)
			}
			n = len(victims)
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}
