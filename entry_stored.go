package larder

import (
	"net/http"
	"slices"
	"unsafe"
)

// The compact stored form (issue 16). A response the cache stores is one
// allocation, storedHead: the Entry, its meta, the meta's field array (when
// it has at most ten strings) and room for its Nonce. A store that keeps its
// entries as they are (EntryKeeper) is given them without a Header map: the
// meta's array holds the names and values, which a hit copies into the
// response header as it would from the map, and Entry.Fields builds a map
// from for anyone else. With the map (400 bytes and two heap objects for a
// typical response) gone, an entry's overhead is the one allocation, the
// store's node and its key.

// nonceRoom is the room for a Nonce in a stored entry's allocation: the
// Cache's prefix (at most 12 bytes) and six base-62 digits of its counter
// (56.8 billion). A longer Nonce is allocated on its own.
const nonceRoom = 18

// storedHead is the start of the allocation of a response the cache stores.
type storedHead struct {
	e Entry
	m entryMeta
}

// storedWith is a storedHead followed by the array of the meta's strs.
type storedWith[A strArray] struct {
	storedHead
	a A
}

const sizeofStoredHead = int(unsafe.Sizeof(storedHead{}))

// allocStored returns a new entry and its meta, in one allocation with the
// meta's strs (as long as l needs) when they fit in one of the arrays.
func allocStored(l fieldLayout) (*Entry, *entryMeta) {
	return allocStoredN(l.nstrs())
}

// allocStoredN is allocStored for a meta with n strs.
func allocStoredN(n int) (*Entry, *entryMeta) {
	var h *storedHead
	switch {
	case n == 0:
		h = new(storedHead)
	case n <= 2:
		b := new(storedWith[[2]string])
		h = &b.storedHead
		inlineStrs(&h.m, &b.a, n)
	case n <= 4:
		b := new(storedWith[[4]string])
		h = &b.storedHead
		inlineStrs(&h.m, &b.a, n)
	case n <= 6:
		b := new(storedWith[[6]string])
		h = &b.storedHead
		inlineStrs(&h.m, &b.a, n)
	case n <= 8:
		b := new(storedWith[[8]string])
		h = &b.storedHead
		inlineStrs(&h.m, &b.a, n)
	case n <= 10:
		b := new(storedWith[[10]string])
		h = &b.storedHead
		inlineStrs(&h.m, &b.a, n)
	default:
		h = new(storedHead)
		h.m.strs = make([]string, n)
	}
	h.e.meta = &h.m
	h.m.flags |= metaPacked
	return &h.e, &h.m
}

// head returns the storedHead m is part of; m must have metaPacked.
func (m *entryMeta) head() *storedHead {
	return (*storedHead)(unsafe.Add(unsafe.Pointer(m), -int(unsafe.Offsetof(storedHead{}.m))))
}

// ownsEntry reports whether e is the entry of m's allocation (not a shallow
// copy of it, which shares m).
func (m *entryMeta) ownsEntry(e *Entry) bool {
	return m.flags&metaPacked != 0 && &m.head().e == e
}

// newGenFor returns a fresh generation (newGen) for e, which the cache is
// about to store and has not shared yet: in e's nonce room when it has one.
func (c *Cache) newGenFor(e *Entry) string {
	m := e.meta
	if m == nil || m.flags&metaPacked == 0 || m.flags&metaNonceUsed != 0 || !m.ownsEntry(e) {
		return c.newGen()
	}
	b := appendBase62(append(m.nonce[:0], c.genPrefix...), c.genSeq.Add(1))
	if len(b) > nonceRoom {
		return string(b)
	}
	m.flags |= metaNonceUsed
	return unsafe.String(&m.nonce[0], len(b))
}

// nonceInRoom reports whether s is the Nonce written in m's nonce room.
func (m *entryMeta) nonceInRoom(s string) bool {
	return m.flags&metaNonceUsed != 0 && len(s) > 0 && unsafe.StringData(s) == &m.nonce[0]
}

// Fields returns the entry's stored header fields. For most entries that is
// Header itself. A response the cache stored in an EntryKeeper has a nil
// Header and keeps its fields in a compact form; Fields then builds a new
// header from it on every call (an allocation: read it once). The result
// must not be modified when it is Header, and may be otherwise; Fields of
// an entry without header fields is nil or empty.
func (e *Entry) Fields() http.Header {
	if e.Header == nil && e.meta != nil && e.meta.flags&metaDetached != 0 {
		return e.meta.header()
	}
	return e.Header
}

// header builds a header from the fields in m, with copies of the value
// lists (one array). A field stored with no values has a nil list.
func (m *entryMeta) header() http.Header {
	if m.refs == nil {
		n := len(m.strs) / 2
		h := make(http.Header, n)
		vals := slices.Clone(m.strs[:n])
		for i, name := range m.strs[n:] {
			h[name] = vals[i : i+1 : i+1]
		}
		return h
	}
	refs := *m.refs
	h := make(http.Header, len(refs))
	vals := slices.Clone(m.strs)
	for _, f := range refs {
		if f.off == f.end {
			h[f.name] = nil
			continue
		}
		h[f.name] = vals[f.off:f.end:f.end]
	}
	return h
}

// lookup returns the values of the field stored under name (exactly that
// key, as an http.Header index), or nil. The slice is m's: read only.
func (m *entryMeta) lookup(name string) []string {
	if off, end, ok := m.field(name); ok {
		return m.strs[off:end:end]
	}
	return nil
}

// field returns where the values of the field stored under name are in
// strs, strs[off:end], and whether there is such a field.
func (m *entryMeta) field(name string) (off, end int, ok bool) {
	if m.refs == nil {
		n := len(m.strs) / 2
		for i, k := range m.strs[n:] {
			if k == name {
				return i, i + 1, true
			}
		}
		return 0, 0, false
	}
	for _, f := range *m.refs {
		if f.name == name {
			return int(f.off), int(f.end), true
		}
	}
	return 0, 0, false
}

// stringBytes is what the names and values of m's fields take, as
// Entry.Size counts strings.
func (m *entryMeta) stringsBytes() int {
	n := 0
	for _, s := range m.strs {
		n += stringBytes(s)
	}
	if m.refs != nil {
		for _, f := range *m.refs {
			n += stringBytes(f.name)
		}
	}
	return n
}
