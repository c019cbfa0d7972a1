package larder

import (
	"hash/maphash"
	"sync/atomic"
)

// keyTable hands out the primary keys of recent requests as strings made
// once: a request for a URL asked for before takes its key from here,
// built in a buffer on the stack and compared, instead of allocating it
// (with that allocation, a Transport hit of 1 KiB took 12 % longer and a
// middleware hit 9 %, BENCHMARKS.md §7). It holds up to keySlots keys, one per slot by a seeded hash
// of the key, the latest in each; a key that is not there is made and put
// in its slot. What is handed out is always a string equal to the bytes
// asked for: the table only saves allocations.
type keyTable struct {
	seed  maphash.Seed
	slots [keySlots]atomic.Pointer[string]
}

// keySlots is the size of a keyTable: 8 KiB of pointers per Cache, and the
// keys they hold.
const keySlots = 1024

// keyBuf is the room on the stack for a key a request's target builds,
// and the longest key a keyTable keeps: a longer one is made each time, so
// that the table holds at most keySlots × keyBuf bytes of keys, whatever
// the URLs a client sends.
const keyBuf = 256

func newKeyTable() *keyTable {
	return &keyTable{seed: maphash.MakeSeed()}
}

// intern returns a string equal to b: the one in b's slot when it is equal,
// else a new one, which takes the slot (unless b is longer than keyBuf). It
// does not keep b.
func (t *keyTable) intern(b []byte) string {
	if len(b) > keyBuf {
		return string(b)
	}
	slot := &t.slots[maphash.Bytes(t.seed, b)%keySlots]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
