package memory

import (
	"sync/atomic"

	"github.com/larder-cache/larder"
)

// The memo of hot entries. The store keeps each response in compact form
// (larder.CompactEntry: a fraction of an Entry's memory, issue 16), which a
// Get turns back into an Entry, an allocation of about 400 bytes. The memo
// keeps the Entry built for a key in a slot found by the key's hash, so
// that the next hits on that key return it instead of building another:
// the hit path of a hot key allocates nothing.
//
// A slot holds the CompactEntry its Entry was built from, which a Get
// compares with the one stored under the key now (pointer equality: a key
// written again, even with the same body, has a new CompactEntry), and the
// store empties the slot when otter drops that CompactEntry
// (OnAtomicDeletion), so that the memo does not keep what the store
// dropped; a Get that built an Entry as its key was written looks the key
// up again after it filled the slot.
//
// Many keys share a slot. A slot's entry that was hit since it came in, or
// since another key last tried to take the slot, keeps it once more (a
// second chance, as in CLOCK), so that a hot key is not pushed out by
// every cold key that shares its slot.
//
// The memo is bounded: Options.HotEntries slots (by default
// memoSlots(MaxBytes)), each holding at most memoEntryBytes, which the
// store reserves from MaxBytes; Stats counts what it holds. Entries with a
// body over memoBodyMax are not kept (writing the body costs more than
// rebuilding the entry).

// memoEntryBytes is the most an Entry kept in the memo takes, with its
// memoItem (a rebuilt entry with up to five fields takes 416 or 448 bytes,
// one with 16 fields 800).
const memoEntryBytes = 1024

// memoBodyMax is the largest body whose entry the memo keeps.
const memoBodyMax = 64 << 10

// memoBudgetShare is the share of MaxBytes that funds one slot: a 256 MiB
// store has 2,048 slots (2 MiB of its budget, MaxBytes/128), a store
// under 2 MiB none.
const memoBudgetShare = 128 << 10

// maxMemoSlots bounds the slots, whatever the budget (4 MiB of it).
const maxMemoSlots = 4096

// memoSlots returns the default number of slots for a store of maxBytes: a
// power of two, or 0 (no memo) under 16.
func memoSlots(maxBytes int64) int {
	n := 1
	for n < maxMemoSlots && int64(n*2)*memoBudgetShare <= maxBytes {
		n *= 2
	}
	if n < 16 {
		return 0
	}
	return n
}

type memoItem struct {
	rec  *larder.CompactEntry
	e    *larder.Entry
	used atomic.Bool // hit since it came in, or since another key was refused
}

type memo struct {
	slots []atomic.Pointer[memoItem]
	mask  uint64
}

func newMemo(n int) memo {
	if n == 0 {
		return memo{}
	}
	return memo{slots: make([]atomic.Pointer[memoItem], n), mask: uint64(n - 1)}
}

// reserve is what the memo may hold at most, reserved from MaxBytes.
func (m *memo) reserve() int64 { return int64(len(m.slots)) * memoEntryBytes }

// entry returns the Entry of rec, stored under the key of hash h: the one
// the memo keeps, or a new one, which it then keeps (see above).
func (s *Store) entry(h uint64, rec *larder.CompactEntry) *larder.Entry {
	return s.entryFrom(h, rec, s.memo.peek(h))
}

// peek returns what the slot of h holds.
func (m *memo) peek(h uint64) *memoItem {
	if len(m.slots) == 0 {
		return nil
	}
	return m.slots[h&m.mask].Load()
}

// entryFrom is entry, with cur what the slot of h held (peek).
func (s *Store) entryFrom(h uint64, rec *larder.CompactEntry, cur *memoItem) *larder.Entry {
	if !rec.Compacted() || len(s.memo.slots) == 0 {
		return rec.Entry()
	}
	slot := &s.memo.slots[h&s.memo.mask]
	if cur != nil && cur.rec == rec {
		if !cur.used.Load() {
			cur.used.Store(true)
		}
		return cur.e
	}
	e := rec.Entry()
	if len(e.Body) > memoBodyMax || rec.EntrySize()+memoItemBytes > memoEntryBytes {
		return e
	}
	if cur != nil && cur.used.Load() {
		cur.used.Store(false) // its second chance
		return e
	}
	it := &memoItem{rec: rec, e: e}
	if !slot.CompareAndSwap(cur, it) {
		return e
	}
	// rec may have been dropped between the lookup and the swap above,
	// after OnAtomicDeletion looked at the slot.
	if cur, ok := s.cache.GetEntryQuietly(h); !ok || cur.Value.rec != rec {
		slot.CompareAndSwap(it, nil)
	}
	return e
}

// forget empties the slot of h if it holds an Entry of rec, which otter
// has dropped.
func (m *memo) forget(h uint64, rec *larder.CompactEntry) {
	if len(m.slots) == 0 {
		return
	}
	slot := &m.slots[h&m.mask]
	if it := slot.Load(); it != nil && it.rec == rec {
		slot.CompareAndSwap(it, nil)
	}
}

// bytes is what the memo's Entries take, beyond the CompactEntries.
func (m *memo) bytes() int64 {
	var n int64
	for i := range m.slots {
		if it := m.slots[i].Load(); it != nil {
			n += int64(it.rec.EntrySize()) + memoItemBytes
		}
	}
	return n
}

// memoItemBytes is a memoItem's allocation.
const memoItemBytes = 24
