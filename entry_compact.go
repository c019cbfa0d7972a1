package larder

import (
	"encoding/binary"
	"time"
	"unsafe"
)

// CompactEntry is an Entry in the least memory an in-process store can
// keep it in (issue 16): one allocation of about 60 bytes plus the bytes
// of the header fields and the nonce, instead of the Entry struct (224
// bytes), its meta and an array of strings. store/memory keeps one per key.
//
// Compact builds one from an Entry; Entry rebuilds the Entry, equal to the
// one compacted in every exported field (its times in UTC, as a decoded
// entry's are), sharing its body, and with the cache's derived state, so
// that the cache serves it as it served the original: it is a shallow copy
// in the sense of EntryKeeper. Each call allocates a new Entry (about 400
// bytes, one allocation); a store that serves hits from CompactEntry values
// may keep the Entries of its hot keys, as store/memory does (its memo).
//
// The compact form holds a response the cache stored in an EntryKeeper (a
// detached header whose fields have one value each, at most 255 fields,
// at most 456 bytes of fields and nonce). Any other entry (a Vary index, a
// tombstone, an entry with a Header map or a field of several values) is
// held as it is: Entry returns that very Entry, and Size counts it whole.
// A CompactEntry is immutable, apart from Check.
type CompactEntry struct {
	// Check is for the store that keeps the CompactEntry, which may set it
	// before it shares the value: store/memory keys its table by a 64-bit
	// hash of the key and keeps a second hash here, which a Get compares.
	// Compact leaves it zero.
	Check uint64

	body *byte
	dirs *reuseDirectives
	// more is, with compactWhole, the *Entry held as it is; otherwise a
	// *compactMore or nil.
	more   unsafe.Pointer
	resp   int64 // ResponseTime, Unix nanoseconds
	blen   uint32
	status uint16
	dlen   uint16 // the length of data
	kind   Kind
	mflags uint8 // the meta's flags (metaCompact, metaOwnDirectives, metaDetached)
	n304   uint8
	nf     uint8 // the number of fields
	etagAt uint8 // the meta's etagAt and lmAt
	lmAt   uint8
	cflags uint8

	// data follows in the same allocation (compactWith): the request time
	// and the expiry as varints relative to resp (unless zero), the
	// initial age and the lifetime as varints, the nonce (uvarint length,
	// bytes), then each field: a name code (knownNames index + 1, or 0 and
	// the name as a uvarint length and bytes), its value (length, bytes).
}

// compactMore holds the fields of an Entry that most responses leave empty.
type compactMore struct {
	varyNames []string
	tags      []string
	bodyKey   string
}

const (
	compactWhole   = 1 << iota // more is the Entry, held as it is
	compactRespSet             // ResponseTime is not zero
	compactReqSet              // RequestTime is not zero
	compactExpSet              // Expires is not zero
	compactBody                // Body is not nil
)

// compactMaxData is the most bytes of data a CompactEntry holds; an entry
// that needs more is held as it is.
const compactMaxData = 456

const sizeofCompact = int(unsafe.Sizeof(CompactEntry{}))

// knownNames are field names that a compact entry stores as one byte.
var knownNames = [...]string{
	"Cache-Control", "Content-Type", "Content-Length", "Etag", "Last-Modified", "Date",
	"Expires", "Vary", "Content-Encoding", "Content-Language", "Content-Location",
	"Content-Disposition", "Content-Range", "Accept-Ranges", "Server", "Location", "Link",
	"Access-Control-Allow-Origin", "Strict-Transport-Security", "X-Content-Type-Options",
	"X-Frame-Options", "Referrer-Policy", "Content-Security-Policy", "Cdn-Cache-Control",
	"Surrogate-Control", "Surrogate-Key", "Cache-Tag", "Allow", "Retry-After", "Pragma",
	"Timing-Allow-Origin", "Cross-Origin-Resource-Policy", "Access-Control-Allow-Credentials",
	"Access-Control-Expose-Headers", "Permissions-Policy", "X-Xss-Protection",
}

func knownName(s string) uint8 {
	for i, k := range knownNames {
		if k == s {
			return uint8(i + 1)
		}
	}
	return 0
}

// Compact returns e in compact form, or holding e as it is when e has no
// compact form (see CompactEntry). e must not be modified afterwards. A
// nil e gives nil.
func Compact(e *Entry) *CompactEntry {
	if e == nil {
		return nil
	}
	if c := compact(e); c != nil {
		return c
	}
	return &CompactEntry{more: unsafe.Pointer(e), cflags: compactWhole, kind: e.Kind}
}

// compact returns e's compact form, or nil when it has none.
func compact(e *Entry) *CompactEntry {
	m := e.meta
	if e.Kind != KindResponse || e.Header != nil || m == nil || m.flags&metaDetached == 0 ||
		m.refs != nil || len(m.strs)/2 > 255 || e.Status < 0 || e.Status > 0xffff ||
		uint64(len(e.Body)) > 0xffffffff {
		return nil
	}
	var c CompactEntry
	var resp, req, exp int64
	var ok bool
	if resp, ok = c.setTime(e.ResponseTime, compactRespSet); !ok {
		return nil
	}
	if req, ok = c.setTime(e.RequestTime, compactReqSet); !ok {
		return nil
	}
	if exp, ok = c.setTime(e.Expires, compactExpSet); !ok {
		return nil
	}
	var buf [compactMaxData + 64]byte
	b := buf[:0]
	if c.cflags&compactReqSet != 0 {
		b = binary.AppendVarint(b, req-resp)
	}
	if c.cflags&compactExpSet != 0 {
		b = binary.AppendVarint(b, exp-resp)
	}
	b = binary.AppendVarint(b, int64(e.InitialAge))
	b = binary.AppendVarint(b, int64(e.Lifetime))
	if len(e.Nonce) > compactMaxData {
		return nil
	}
	b = codecAppendString(b, e.Nonce)
	n := len(m.strs) / 2
	for i := range n {
		name, value := m.strs[n+i], m.strs[i]
		if len(b)+len(name)+len(value)+2*binary.MaxVarintLen64 > compactMaxData {
			return nil
		}
		code := knownName(name)
		b = append(b, code)
		if code == 0 {
			b = codecAppendString(b, name)
		}
		b = codecAppendString(b, value)
	}
	if len(b) > compactMaxData {
		return nil
	}
	p, data := allocCompact(len(b))
	copy(data, b)
	c.resp = resp
	c.dlen = uint16(len(b))
	c.kind = e.Kind
	c.status = uint16(e.Status)
	if e.Body != nil {
		c.cflags |= compactBody
		c.body = unsafe.SliceData(e.Body)
		c.blen = uint32(len(e.Body))
	}
	c.dirs = m.reuseDirectives
	c.mflags = m.flags & (metaCompact | metaOwnDirectives | metaDetached)
	c.n304, c.nf = m.n304, uint8(n)
	c.etagAt, c.lmAt = uint8(m.etagAt), uint8(m.lmAt)
	if e.VaryNames != nil || e.Tags != nil || e.BodyKey != "" {
		c.more = unsafe.Pointer(&compactMore{varyNames: e.VaryNames, tags: e.Tags, bodyKey: e.BodyKey})
	}
	*p = c
	return p
}

// setTime records whether t is zero in c's flags (set), and returns its Unix
// nanoseconds; ok is false when t has none that give it back.
func (c *CompactEntry) setTime(t time.Time, set uint8) (ns int64, ok bool) {
	if t.IsZero() {
		return 0, true
	}
	ns = t.UnixNano()
	if !time.Unix(0, ns).Equal(t) {
		return 0, false
	}
	c.cflags |= set
	return ns, true
}

// data is the bytes that follow c in its allocation.
func (c *CompactEntry) data() []byte {
	if c.dlen == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(c), sizeofCompact)), c.dlen)
}

// Entry returns the entry c holds: the Entry itself when c holds one as it
// is, otherwise a new Entry rebuilt from c (see CompactEntry). It must not
// be modified.
func (c *CompactEntry) Entry() *Entry {
	if c == nil {
		return nil
	}
	if c.cflags&compactWhole != 0 {
		return (*Entry)(c.more)
	}
	n := int(c.nf)
	e, m := allocStoredN(2 * n)
	e.Kind = c.kind
	e.Status = int(c.status)
	if c.cflags&compactBody != 0 {
		e.Body = unsafe.Slice(c.body, c.blen)
	}
	d := c.decoder()
	c.readHead(&d, e)
	for i := range n {
		if code := d.byte(); code != 0 {
			m.strs[n+i] = knownNames[code-1]
		} else {
			m.strs[n+i] = d.string()
		}
		m.strs[i] = d.string()
	}
	if c.more != nil {
		x := (*compactMore)(c.more)
		e.VaryNames, e.Tags, e.BodyKey = x.varyNames, x.tags, x.bodyKey
	}
	m.reuseDirectives = c.dirs
	m.flags |= c.mflags
	m.n304 = c.n304
	m.etagAt, m.lmAt = uint16(c.etagAt), uint16(c.lmAt)
	return e
}

// Compacted reports whether c holds its entry in compact form (Entry then
// builds a new Entry on each call), rather than the Entry as it is.
func (c *CompactEntry) Compacted() bool {
	return c != nil && c.cflags&compactWhole == 0
}

// Nonce returns the Nonce of c's entry, without rebuilding it.
func (c *CompactEntry) Nonce() string {
	if c.cflags&compactWhole != 0 {
		return (*Entry)(c.more).Nonce
	}
	d := c.decoder()
	var e Entry
	c.readHead(&d, &e)
	return e.Nonce
}

// decoder reads c's data, which compact wrote: its strings are views of it.
func (c *CompactEntry) decoder() entryDecoder {
	b := c.data()
	return entryDecoder{b: b, s: unsafe.String(unsafe.SliceData(b), len(b))}
}

// readHead reads into e what c's data holds before the fields: the times,
// the ages and the Nonce.
func (c *CompactEntry) readHead(d *entryDecoder, e *Entry) {
	if c.cflags&compactRespSet != 0 {
		e.ResponseTime = time.Unix(0, c.resp).UTC()
	}
	if c.cflags&compactReqSet != 0 {
		e.RequestTime = time.Unix(0, c.resp+d.varint()).UTC()
	}
	if c.cflags&compactExpSet != 0 {
		e.Expires = time.Unix(0, c.resp+d.varint()).UTC()
	}
	e.InitialAge = time.Duration(d.varint())
	e.Lifetime = time.Duration(d.varint())
	e.Nonce = d.string()
}

// Size is the approximate number of bytes c occupies on the heap, as
// Entry.Size counts: its allocation, the body, and what it holds besides.
func (c *CompactEntry) Size() int {
	if c == nil {
		return 0
	}
	if c.cflags&compactWhole != 0 {
		return heapBytes(sizeofCompact, true) + (*Entry)(c.more).Size()
	}
	n := heapBytes(sizeofCompact+compactArray(int(c.dlen)), true) + int(c.blen)
	if c.mflags&metaOwnDirectives != 0 {
		n += heapBytes(sizeofReuse, true)
	}
	if c.more != nil {
		x := (*compactMore)(c.more)
		n += heapBytes(int(unsafe.Sizeof(compactMore{})), true) + stringBytes(x.bodyKey)
		for _, l := range [2][]string{x.varyNames, x.tags} {
			n += heapBytes(len(l)*sizeofString, true)
			for _, s := range l {
				n += stringBytes(s)
			}
		}
	}
	return n
}

// compactSizes are the sizes of the data arrays of a CompactEntry's
// allocation: each fills a size class with the struct.
var compactSizes = [...]int{24, 40, 56, 72, 88, 104, 120, 136, 152, 168, 184, 200, 232, 264, 328, 456}

// compactArray is the size of the array that holds n bytes of data.
func compactArray(n int) int {
	for _, s := range compactSizes {
		if n <= s {
			return s
		}
	}
	return n
}

type byteArray interface {
	[24]byte | [40]byte | [56]byte | [72]byte | [88]byte | [104]byte | [120]byte | [136]byte |
		[152]byte | [168]byte | [184]byte | [200]byte | [232]byte | [264]byte | [328]byte | [456]byte
}

// compactWith is a CompactEntry and its data, one allocation.
type compactWith[A byteArray] struct {
	c CompactEntry
	a A
}

func newCompact[A byteArray](n int) (*CompactEntry, []byte) {
	w := new(compactWith[A])
	return &w.c, unsafe.Slice((*byte)(unsafe.Pointer(&w.a)), n)
}

// allocCompact returns a new CompactEntry with room for n bytes of data
// (at most compactMaxData), and that room.
func allocCompact(n int) (*CompactEntry, []byte) {
	switch compactArray(n) {
	case 24:
		return newCompact[[24]byte](n)
	case 40:
		return newCompact[[40]byte](n)
	case 56:
		return newCompact[[56]byte](n)
	case 72:
		return newCompact[[72]byte](n)
	case 88:
		return newCompact[[88]byte](n)
	case 104:
		return newCompact[[104]byte](n)
	case 120:
		return newCompact[[120]byte](n)
	case 136:
		return newCompact[[136]byte](n)
	case 152:
		return newCompact[[152]byte](n)
	case 168:
		return newCompact[[168]byte](n)
	case 184:
		return newCompact[[184]byte](n)
	case 200:
		return newCompact[[200]byte](n)
	case 232:
		return newCompact[[232]byte](n)
	case 264:
		return newCompact[[264]byte](n)
	case 328:
		return newCompact[[328]byte](n)
	default:
		return newCompact[[456]byte](n)
	}
}

// EntrySize is what one Entry that c's Entry rebuilds takes on the heap
// beyond what c holds (its strings and body are views of c's): 0 when c
// holds its Entry as it is.
func (c *CompactEntry) EntrySize() int {
	if c == nil || c.cflags&compactWhole != 0 {
		return 0
	}
	n := 2 * int(c.nf)
	for _, a := range [...]int{0, 2, 4, 6, 8, 10} {
		if n <= a {
			return heapBytes(sizeofStoredHead+a*sizeofString, true)
		}
	}
	return heapBytes(sizeofStoredHead, true) + heapBytes(n*sizeofString, true)
}
