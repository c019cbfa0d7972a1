package larder

import (
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

// entryMeta is what the cache derives from a stored response once, so that a
// hit does not parse header fields again.
//
// It is kept small, since every stored response has one (issue 16): the
// directives are shared between entries (reuseDirectives), a hit's
// Cache-Status value between hits (hitStatuses), and the header fields are
// laid out once, in one array that the stored header's value lists are
// views of (see buildMeta), so they cost no second copy.
type entryMeta struct {
	// reuseDirectives holds cc, the response directives that reusing the
	// stored response reads; entries with the same ones share it.
	*reuseDirectives

	// strs holds the header fields, those a 304 carries (RFC 9110 §15.4.5)
	// first. When every field has one value (refs == nil), strs[:n] are the
	// values and strs[n:] the names, n = len(strs)/2: field i is strs[n+i]
	// with value strs[i]. Otherwise strs holds the values, and refs each
	// field's name and values.
	strs []string
	refs *[]fieldRef
	// n304 is how many of the fields (the first ones) a 304 carries: at
	// most the ten copy304 picks.
	n304 uint8
	// flags are metaCompact, metaOwnDirectives, metaETagAlias, metaInline,
	// metaPacked, metaDetached, metaNonceUsed.
	flags uint8
	// etagAt and lmAt are 1 + the index in strs of the value of the ETag
	// and Last-Modified fields, for validation, or 0 when the field is
	// absent or has other than one value (see etag, lastModified).
	etagAt, lmAt uint16
	// nonce is room for the entry's Nonce, used only in a stored entry's
	// own allocation (metaPacked). With the fields above it fills the
	// meta's last 24 bytes exactly (TestMetaSize), so that a typical
	// stored response (four single-valued fields) takes the 416-byte size
	// class.
	nonce [nonceRoom]byte
}

const (
	// metaCompact: the entry's header value lists are views of strs.
	metaCompact = 1 << iota
	// metaOwnDirectives: reuseDirectives is this entry's own, not shared.
	metaOwnDirectives
	// metaETagAlias: the ETag field is stored under the non-canonical
	// "ETag" key, which a 304 sends as "Etag" (copy304); only with refs.
	metaETagAlias
	// metaInline: the meta and strs's array are one allocation.
	metaInline
	// metaPacked: the meta is part of its entry's allocation (storedHead).
	metaPacked
	// metaDetached: the entry's Header is nil; the meta holds its fields
	// (the compact form an EntryKeeper is given, Entry.Fields).
	metaDetached
	// metaNonceUsed: the nonce room holds the entry's Nonce.
	metaNonceUsed
)

// fieldRef is a header field in the general layout: its name, and its values
// strs[off:end].
type fieldRef struct {
	name     string
	off, end int32
}

// reuseDirectives holds, in cc, what the cache reads of a stored response's
// directives (targeted or Cache-Control) when it reuses the response
// (RFC 9111 §4.2.4, §4.3; RFC 5861): no-cache in its unqualified form,
// must-revalidate, proxy-revalidate, s-maxage, stale-while-revalidate and
// stale-if-error. Every other directive is zero in cc: they only matter when
// a response is stored, from the full parse (a qualified no-cache's fields
// are not stored at all, RFC 9111 §5.2.2.4). Reading another directive from
// cc needs it added to reuseKey and reuseOf.
type reuseDirectives struct {
	cc cachecontrol.Directives
}

// reuseKey is the comparable form of reuseDirectives, which entries with
// the same directives share.
type reuseKey struct {
	noCache, mustRevalidate, proxyRevalidate    bool
	sMaxAge, staleWhileRevalidate, staleIfError cachecontrol.Delta
}

// maxSharedDirectives bounds the table of shared reuseDirectives: past it,
// an entry with directives not in the table gets its own.
const maxSharedDirectives = 1024

var (
	noDirectives = &reuseDirectives{} // what most responses have: none of them
	sharedDirs   sync.Map             // reuseKey → *reuseDirectives
	nSharedDirs  atomic.Int32
)

// reuseOf returns the reuse directives of d, and whether they are shared.
func reuseOf(d cachecontrol.Directives) (*reuseDirectives, bool) {
	k := reuseKey{
		noCache:              d.NoCacheUnqualified(),
		mustRevalidate:       d.MustRevalidate,
		proxyRevalidate:      d.ProxyRevalidate,
		sMaxAge:              d.SMaxAge,
		staleWhileRevalidate: d.StaleWhileRevalidate,
		staleIfError:         d.StaleIfError,
	}
	if k == (reuseKey{}) {
		return noDirectives, true
	}
	if v, ok := sharedDirs.Load(k); ok {
		return v.(*reuseDirectives), true
	}
	r := &reuseDirectives{cc: cachecontrol.Directives{
		NoCache:              k.noCache,
		MustRevalidate:       k.mustRevalidate,
		ProxyRevalidate:      k.proxyRevalidate,
		SMaxAge:              k.sMaxAge,
		StaleWhileRevalidate: k.staleWhileRevalidate,
		StaleIfError:         k.staleIfError,
	}}
	if nSharedDirs.Load() >= maxSharedDirectives {
		return r, false
	}
	v, loaded := sharedDirs.LoadOrStore(k, r)
	if !loaded {
		nSharedDirs.Add(1)
	}
	return v.(*reuseDirectives), true
}

// newMeta derives the meta of a response the cache is about to serve, and
// lays out its header: e must not have been handed to a store yet, since
// its header's value lists are replaced with views of the meta's array
// (same values, one allocation instead of one per field).
func (c *Cache) newMeta(e *Entry) *entryMeta {
	l := layoutOf(e.Header)
	m := newMetaFor(l)
	c.fillMeta(m, e.Header, l, true)
	return m
}

// newStored returns a response the cache is about to store, built from t
// and its header t.Header, with its meta, the meta's field array and room
// for its nonce in one allocation (storedHead). t.Header's value lists are
// replaced with views of that array. When the store keeps its entries as
// they are (EntryKeeper), the entry's Header is nil: the meta holds the
// fields (Entry.Fields), which saves the map, most of an entry's overhead.
func (c *Cache) newStored(t *Entry) *Entry {
	l := layoutOf(t.Header)
	e, m := allocStored(l)
	meta := e.meta
	*e = *t
	e.meta = meta
	c.fillMeta(m, t.Header, l, true)
	if c.keeps {
		e.Header = nil
		m.flags |= metaDetached
	}
	return e
}

// metaOf returns e's derived state, computing it when e came from a store
// that decoded it (such entries are not shared, but the cache does not rely
// on that: it never writes to an entry it got from a store).
func (c *Cache) metaOf(e *Entry) *entryMeta {
	if e.meta != nil {
		return e.meta
	}
	l := layoutOf(e.Header)
	m := newMetaFor(l)
	c.fillMeta(m, e.Header, l, false)
	return m
}

// fieldLayout is how a header's fields are laid out in a meta's strs.
type fieldLayout struct {
	names  []string // in order, those a 304 carries first
	n304   int
	alias  bool // see fieldOrder
	single bool // every field has one value: strs holds values and names
	nv     int  // the number of values
}

func layoutOf(h http.Header) fieldLayout {
	var l fieldLayout
	l.names, l.n304, l.alias = fieldOrder(h)
	l.single = !l.alias
	for _, vs := range h {
		l.single = l.single && len(vs) == 1
		l.nv += len(vs)
	}
	return l
}

// newMetaFor returns a meta with strs as long as l needs.
func newMetaFor(l fieldLayout) *entryMeta {
	return newMetaStrs(l.nstrs())
}

// nstrs is the length of strs for l: values and names, or values alone.
func (l fieldLayout) nstrs() int {
	if l.single {
		return 2 * len(l.names)
	}
	return l.nv
}

// fillMeta derives m from h, laid out as l: m.strs has the length l needs.
// With own, h's value lists become views of strs.
func (c *Cache) fillMeta(m *entryMeta, h http.Header, l fieldLayout, own bool) {
	names := l.names
	m.n304 = uint8(l.n304)
	if l.alias {
		m.flags |= metaETagAlias
	}
	cc, _ := cachecontrol.ParseTargeted(h, c.cfg.targeted)
	var shared bool
	m.reuseDirectives, shared = reuseOf(cc)
	if !shared {
		m.flags |= metaOwnDirectives
	}
	if len(names) == 0 {
		return
	}
	if own {
		m.flags |= metaCompact
	}
	m.layFields(h, l, own)
	m.findValidators(h)
}

// layFields puts h's fields into strs (and refs), laid out as l. With own,
// h's value lists become views of strs.
func (m *entryMeta) layFields(h http.Header, l fieldLayout, own bool) {
	names := l.names
	if l.single {
		n := len(names)
		copy(m.strs[n:], names)
		for i, k := range names {
			m.strs[i] = h[k][0]
			if own {
				h[k] = m.strs[i : i+1 : i+1]
			}
		}
		return
	}
	refs := make([]fieldRef, len(names))
	off := 0
	for i, k := range names {
		vs := h[k]
		end := off + copy(m.strs[off:], vs)
		refs[i] = fieldRef{name: k, off: int32(off), end: int32(end)}
		if own && vs != nil {
			h[k] = m.strs[off:end:end]
		}
		off = end
	}
	m.refs = &refs
}

// findValidators sets etagAt and lmAt, once strs holds h's fields.
func (m *entryMeta) findValidators(h http.Header) {
	etag := "Etag"
	if _, ok := h[etag]; !ok {
		etag = "ETag" // a handler's h["ETag"], not canonicalized
	}
	at := func(name string) uint16 {
		if off, end, ok := m.field(name); ok && end == off+1 && off < math.MaxUint16 {
			return uint16(off + 1)
		}
		return 0
	}
	m.etagAt, m.lmAt = at(etag), at("Last-Modified")
}

// etag is the stored ETag field value, for validation: "" when the field
// is absent or has other than one value (RFC 9110 §8.8.3: a singleton).
func (m *entryMeta) etag() string {
	if m.etagAt == 0 {
		return ""
	}
	return m.strs[m.etagAt-1]
}

// lastModified is the stored Last-Modified field value, as etag.
func (m *entryMeta) lastModified() string {
	if m.lmAt == 0 {
		return ""
	}
	return m.strs[m.lmAt-1]
}

// fieldOrder returns the names of h's fields, the n304 that a 304 carries
// (RFC 9110 §15.4.5, as copy304 picks them) first. With alias, one of these
// is a handler's "ETag" key, which a 304 sends as "Etag".
func fieldOrder(h http.Header) (names []string, n304 int, alias bool) {
	if len(h) == 0 {
		return nil, 0, false
	}
	h304 := make(http.Header, 8)
	copy304(h304, h)
	names = make([]string, 0, len(h))
	for k := range h {
		if _, ok := h304[k]; ok {
			names = append(names, k)
		}
	}
	n304 = len(names)
	for k := range h {
		if _, ok := h304[k]; !ok {
			names = append(names, k)
		}
	}
	if _, ok := h304["Etag"]; ok && h["Etag"] == nil {
		// copy304 took "ETag" as "Etag".
		if i := slices.Index(names[n304:], "ETag"); i >= 0 {
			names[n304], names[n304+i] = names[n304+i], names[n304]
			n304++
			alias = true
		}
	}
	return names, n304, alias
}

// newMetaStrs returns a meta with strs of n strings, in one allocation when
// n is small (as many heap bytes as two, one object fewer).
func newMetaStrs(n int) *entryMeta {
	switch {
	case n == 0:
		return &entryMeta{}
	case n <= 2:
		b := new(metaWith[[2]string])
		return inlineStrs(&b.m, &b.a, n)
	case n <= 4:
		b := new(metaWith[[4]string])
		return inlineStrs(&b.m, &b.a, n)
	case n <= 6:
		b := new(metaWith[[6]string])
		return inlineStrs(&b.m, &b.a, n)
	case n <= 8:
		b := new(metaWith[[8]string])
		return inlineStrs(&b.m, &b.a, n)
	case n <= 10:
		b := new(metaWith[[10]string])
		return inlineStrs(&b.m, &b.a, n)
	}
	return &entryMeta{strs: make([]string, n)}
}

// strArray is an array of strings that a meta's strs can live in.
type strArray interface {
	[2]string | [4]string | [6]string | [8]string | [10]string
}

// metaWith is a meta and the array of its strs, one allocation.
type metaWith[A strArray] struct {
	m entryMeta
	a A
}

// inlineStrs makes a, which is in m's allocation, m's strs of n strings.
func inlineStrs[A strArray](m *entryMeta, a *A, n int) *entryMeta {
	arr := unsafe.Slice((*string)(unsafe.Pointer(a)), int(unsafe.Sizeof(*a))/sizeofString)
	m.strs = arr[:n]
	m.flags |= metaInline
	return m
}

// values304 is how many of strs's values a 304 carries (the first ones).
func (m *entryMeta) values304() int {
	if m.refs == nil {
		return int(m.n304)
	}
	if m.n304 == 0 {
		return 0
	}
	return int((*m.refs)[m.n304-1].end)
}

// Heap cost estimates (Entry.Size). Go's allocator rounds every allocation
// up to a size class; an object with pointers above 512 bytes also carries
// an 8-byte header; pointer-free objects under 16 bytes share 16-byte blocks
// (the tiny allocator), so they cost about their size.

// sizeClasses are Go's small object sizes (internal/runtime/gc), up to 32 KiB.
var sizeClasses = [...]uint16{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
	240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408,
	1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192,
	9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264,
	28672, 32768}

// heapBytes is what an allocation of n bytes takes on the heap (a large
// one, above 32 KiB, whole 8 KiB pages).
func heapBytes(n int, pointers bool) int {
	switch {
	case n <= 0:
		return 0
	case n < 16 && !pointers:
		return n
	case pointers && n > 512 && n <= 32768-8:
		n += 8 // a large object has no header
	}
	if n > 32768 {
		return (n + 8191) &^ 8191
	}
	lo, hi := 0, len(sizeClasses)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if int(sizeClasses[mid]) < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return int(sizeClasses[lo])
}

func stringBytes(s string) int { return heapBytes(len(s), false) }

const (
	sizeofString   = int(unsafe.Sizeof(""))
	sizeofEntry    = int(unsafe.Sizeof(Entry{}))
	sizeofMeta     = int(unsafe.Sizeof(entryMeta{}))
	sizeofFieldRef = int(unsafe.Sizeof(fieldRef{}))
	sizeofReuse    = int(unsafe.Sizeof(reuseDirectives{}))
	sizeofSlice    = int(unsafe.Sizeof([]string(nil)))
)

// headerMapBytes is what Go's map (Swiss table) of an http.Header with n
// fields takes, as counted against runtime.MemStats: 400 bytes up to 8 fields
// (the map and one group of 8 slots), then a directory, a table and its
// groups, at most 7/8 full.
func headerMapBytes(n int) int {
	const (
		mapBytes   = 48       // the map itself
		slotBytes  = 16 + 3*8 // a string key and a []string
		groupBytes = 8 + 8*slotBytes
		tableBytes = 32 + 8 // a table and its directory slot
	)
	switch {
	case n == 0:
		return mapBytes
	case n <= 8:
		return mapBytes + heapBytes(groupBytes, true)
	}
	slots := 16
	for slots*7/8 < n {
		slots *= 2
	}
	return mapBytes + tableBytes + heapBytes(slots/8*groupBytes, true)
}

// heapSize is what the meta takes beyond the strings it shares with the
// entry's header; with metaPacked, the whole allocation (its Entry too).
func (m *entryMeta) heapSize() int {
	self := sizeofMeta
	if m.flags&metaPacked != 0 {
		self = sizeofStoredHead
	}
	var n int
	if m.flags&metaInline != 0 {
		n = heapBytes(self+cap(m.strs)*sizeofString, true)
	} else {
		n = heapBytes(self, true) + heapBytes(len(m.strs)*sizeofString, true)
	}
	if m.refs != nil {
		n += heapBytes(sizeofSlice, true) + heapBytes(len(*m.refs)*sizeofFieldRef, true)
	}
	if m.flags&metaOwnDirectives != 0 {
		n += heapBytes(sizeofReuse, true)
	}
	return n
}
