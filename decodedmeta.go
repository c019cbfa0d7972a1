package larder

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// Entries read from a store over the network. Such a store decodes an
// entry anew on every read, without the derived state (entryMeta) that
// serving a response needs: its directives parsed, its fields laid out.
// Computing it costs a hit about two microseconds, as much as a tenth of a
// Redis hit's CPU in the proxy. The memo below keeps, in a fixed table of
// slots found by the hash of the key, the state computed for the latest
// entry read at each key, with what identifies that entry: the key, its
// Nonce (fresh on every entry the cache stores, across the fleet), its
// status, response time and number of fields. An entry read again with
// the same identity is given that state, on a copy (the cache never writes
// to an entry a store returned). The state's strings are those of the
// entry's metadata as decoded, never its body; an entry whose fields take
// more than maxMemoFieldBytes is not kept, so the memo holds at most a few
// megabytes. An entry without a Nonce (stored by hand) is not kept either.

// decodedSlots is the size of the memo: the hot entries it can hold.
const decodedSlots = 4096

// maxMemoFieldBytes bounds the fields (names and values) of a kept state.
const maxMemoFieldBytes = 4 << 10

type decodedMemo struct {
	seed  maphash.Seed
	slots [decodedSlots]atomic.Pointer[decodedSlot]
}

// decodedSlot is the state computed for an entry read at key.
type decodedSlot struct {
	key, nonce string
	status     int
	resp       time.Time
	nfields    int
	m          *entryMeta
}

// withMeta returns e, a response just read at key from a store over the
// network, with its derived state: a copy of e with the memo's state when
// the memo has the state of the same entry, else with a new one, which the
// memo then keeps. Anything else is returned as it is.
func (c *Cache) withMeta(key string, e *Entry) *Entry {
	d := c.decoded
	if d == nil || e == nil || e.meta != nil || e.Kind != KindResponse || e.Nonce == "" || e.Header == nil {
		return e
	}
	slot := &d.slots[maphash.String(d.seed, key)%decodedSlots]
	var m *entryMeta
	if s := slot.Load(); s != nil && s.key == key && s.nonce == e.Nonce && s.status == e.Status &&
		s.resp.Equal(e.ResponseTime) && s.nfields == len(e.Header) {
		m = s.m
	} else {
		m = c.metaOf(e)
		if m.stringsBytes() <= maxMemoFieldBytes {
			slot.Store(&decodedSlot{key: key, nonce: e.Nonce, status: e.Status, resp: e.ResponseTime, nfields: len(e.Header), m: m})
		}
	}
	ce := *e
	ce.meta = m
	return &ce
}
