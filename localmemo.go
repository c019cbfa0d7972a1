package larder

import (
	"hash/maphash"
	"runtime"
	"sync/atomic"
	"weak"
)

// Entries from a LocalGetter. A store that keeps entries in process memory
// besides its own tier (a tiered store's L1) holds them as it read them
// from that tier: decoded, without the derived state (entryMeta) that the
// cache gives the entries it stores itself, and which serving a response
// needs (its directives, its fields laid out). Computing it on every hit
// would cost as much as a third of a memory-store hit; the memo below
// computes it once per entry: GetLocal returns the same *Entry until the
// store drops it, and an entry is never modified, so a copy of it with its
// state stands for it as long as it lives.
//
// The memo is a fixed table of slots, each found by the hash of the key:
// an entry's slot holds a weak pointer to it and its prepared copy, and a
// cleanup (runtime.AddCleanup) empties the slot once the store dropped the
// entry and the garbage collector reclaimed it, so that a slot never keeps
// a body alive past its entry. A slot held by a live entry is not taken
// by another (whose state is then computed on each hit): each entry
// registers at most one cleanup, whatever the collisions.

// localMemoSlots is the size of the memo: the hot entries it can hold.
const localMemoSlots = 4096

type localMemo struct {
	seed  maphash.Seed
	slots [localMemoSlots]atomic.Pointer[memoSlot]
}

// memoSlot is one entry of a LocalGetter (weakly) and its prepared copy.
type memoSlot struct {
	of weak.Pointer[Entry]
	e  *Entry
}

// getLocal asks the store's LocalGetter for key, and returns what it found
// with its derived state (see above).
func (c *Cache) getLocal(key string) (*Entry, bool) {
	e, ok := c.localGet.GetLocal(key)
	if !ok || e == nil || e.meta != nil || e.Kind != KindResponse || e.Header == nil {
		return e, ok
	}
	return c.prepared(key, e), true
}

// prepared returns a copy of e, a response without its derived state,
// with it: the one the memo holds for e, or a new one.
func (c *Cache) prepared(key string, e *Entry) *Entry {
	m := c.memo
	slot := &m.slots[maphash.String(m.seed, key)%localMemoSlots]
	cur := slot.Load()
	if cur != nil && cur.of.Value() == e {
		return cur.e
	}
	ce := *e
	ce.meta = c.metaOf(e)
	if cur != nil && cur.of.Value() != nil {
		return &ce // the slot is another live entry's
	}
	ns := &memoSlot{of: weak.Make(e), e: &ce}
	if slot.CompareAndSwap(cur, ns) {
		runtime.AddCleanup(e, func(s *memoSlot) { slot.CompareAndSwap(s, nil) }, ns)
	}
	return &ce
}
