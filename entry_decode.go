package larder

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"time"
	"unsafe"
)

// Decoding the format that entry_codec.go describes and writes.

// EntryLayout reads the header at the start of an encoded entry (format
// version 2): header must hold at least its first EntryHeaderSize bytes (more
// are ignored). It returns metaLen, the number of bytes from the start of the
// encoding to the start of the body (header and metadata: what
// DecodeEntryMeta needs), and bodyLen, the number of body bytes after them, so
// the whole encoding is metaLen+bodyLen bytes long.
//
// For an entry in format version 1 the error wraps ErrEntryNoMetaPrefix (and
// ErrEntryFormat): decode it whole with Entry.UnmarshalBinary. Other errors
// wrap ErrEntryFormat.
func EntryLayout(header []byte) (metaLen int, bodyLen int64, err error) {
	if len(header) < len(entryMagic)+1 || string(header[:len(entryMagic)]) != entryMagic {
		return 0, 0, fmt.Errorf("%w: bad magic", ErrEntryFormat)
	}
	switch v := header[len(entryMagic)]; v {
	case entryVersion:
	case 1:
		return 0, 0, fmt.Errorf("%w: %w", ErrEntryFormat, ErrEntryNoMetaPrefix)
	default:
		return 0, 0, fmt.Errorf("%w: unknown version %d", ErrEntryFormat, v)
	}
	if len(header) < EntryHeaderSize {
		return 0, 0, fmt.Errorf("%w: header truncated to %d bytes", ErrEntryFormat, len(header))
	}
	m := binary.BigEndian.Uint32(header[len(entryMagic)+1:])
	bodyN := binary.BigEndian.Uint64(header[len(entryMagic)+5:])
	if bodyN > math.MaxInt64 {
		return 0, 0, fmt.Errorf("%w: body length %d out of range", ErrEntryFormat, bodyN-1)
	}
	if uint64(m) > uint64(math.MaxInt-EntryHeaderSize) { // 32-bit platforms
		return 0, 0, fmt.Errorf("%w: metadata length %d out of range", ErrEntryFormat, m)
	}
	bodyLen = 0
	if bodyN > 0 {
		bodyLen = int64(bodyN - 1)
	}
	return EntryHeaderSize + int(m), bodyLen, nil
}

// DecodeEntryMeta decodes everything but the body from a prefix of an encoded
// entry (format version 2), so that a store can answer a HEAD request, a
// conditional request or a freshness check without reading the body. prefix
// must hold at least the first metaLen bytes of the encoding (see
// EntryLayout); the bytes after them, if any, are ignored.
//
// It returns the entry with a nil Body; metaLen, the number of bytes the
// header and metadata take (the body starts at that offset of the encoding);
// and bodyLen, the length of the body. Like UnmarshalBinary it keeps no
// reference to prefix.
//
// Errors wrap ErrEntryFormat; for an entry in format version 1 they also wrap
// ErrEntryNoMetaPrefix (decode it whole with Entry.UnmarshalBinary). When only
// the prefix is too short, the error says so and metaLen and bodyLen are
// still set, so the caller can read metaLen bytes and call again.
func DecodeEntryMeta(prefix []byte) (e *Entry, metaLen int, bodyLen int64, err error) {
	metaLen, bodyLen, err = EntryLayout(prefix)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(prefix) < metaLen {
		return nil, metaLen, bodyLen, fmt.Errorf("%w: the metadata takes %d bytes, the prefix has %d", ErrEntryFormat, metaLen, len(prefix))
	}
	e = new(Entry)
	if err := decodeEntryMeta(e, prefix[EntryHeaderSize:metaLen], true, false); err != nil {
		return nil, 0, 0, err
	}
	return e, metaLen, bodyLen, nil
}

// UnmarshalBinary decodes data written by MarshalBinary, in the current format
// version or an older one, into e, replacing all of e's exported fields. Errors
// wrap ErrEntryFormat. It never keeps a reference to data: the body is copied,
// and all the strings share one string copied from the metadata (so any one
// of them keeps that string alive). On error e is left unchanged. The
// unexported fields of e are not touched.
// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (e *Entry) UnmarshalBinary(data []byte) error {
	out, err := decodeEntry(data, false)
	if err != nil {
		return err
	}
	e.Kind = out.Kind
	e.Status = out.Status
	e.Header = out.Header
	e.Body = out.Body
	e.RequestTime = out.RequestTime
	e.ResponseTime = out.ResponseTime
	e.InitialAge = out.InitialAge
	e.Lifetime = out.Lifetime
	e.Expires = out.Expires
	e.VaryNames = out.VaryNames
	e.Nonce = out.Nonce
	e.Tags = out.Tags
	e.BodyKey = out.BodyKey
	return nil
}

// DecodeEntry decodes data written by MarshalBinary, as UnmarshalBinary
// does, into a new entry, but copies nothing: the entry's Body and its
// strings are views of data, which must not be modified afterwards, nor
// the Body (whose capacity is its length, so that an append copies). A
// store whose client hands it each value in a buffer of its own (a Redis
// reply, a memcached item) so spares a copy of the body on every read.
// Errors wrap ErrEntryFormat.
func DecodeEntry(data []byte) (*Entry, error) {
	e, err := decodeEntry(data, true)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// decodeEntry is UnmarshalBinary, copying the body and the strings from
// data unless share is set (DecodeEntry).
func decodeEntry(data []byte, share bool) (Entry, error) {
	if len(data) < len(entryMagic)+1 || string(data[:len(entryMagic)]) != entryMagic {
		return Entry{}, fmt.Errorf("%w: bad magic", ErrEntryFormat)
	}
	var (
		meta  []byte // the metadata section
		bodyN uint64 // n+1 of the body
		body  []byte // the body: the rest of the data
	)
	switch v := data[len(entryMagic)]; v {
	case entryVersion:
		metaLen, bodyLen, err := EntryLayout(data)
		if err != nil {
			return Entry{}, err
		}
		if int64(metaLen) > int64(len(data)) || bodyLen != int64(len(data)-metaLen) {
			return Entry{}, fmt.Errorf("%w: %d bytes of data for %d bytes of metadata and a body of %d", ErrEntryFormat, len(data), metaLen, bodyLen)
		}
		meta, body = data[EntryHeaderSize:metaLen], data[metaLen:len(data):len(data)]
		bodyN = binary.BigEndian.Uint64(data[len(entryMagic)+5:])
	case 1:
		d := entryDecoder{b: data, off: len(entryMagic) + 1}
		bodyN = d.uvarint()
		if d.err != nil {
			return Entry{}, d.err
		}
		bodyLen := 0
		if bodyN > 0 {
			if bodyN-1 > uint64(len(data)-d.off) {
				return Entry{}, fmt.Errorf("%w: body length %d exceeds the data", ErrEntryFormat, bodyN-1)
			}
			bodyLen = int(bodyN - 1)
		}
		meta, body = data[d.off:len(data)-bodyLen], data[len(data)-bodyLen:len(data):len(data)]
	default:
		return Entry{}, fmt.Errorf("%w: unknown version %d", ErrEntryFormat, v)
	}

	var out Entry
	if err := decodeEntryMeta(&out, meta, data[len(entryMagic)] == entryVersion, share); err != nil {
		return Entry{}, err
	}
	switch {
	case bodyN == 0:
	case share:
		out.Body = body
	default:
		out.Body = make([]byte, len(body))
		copy(out.Body, body)
	}
	return out, nil
}

// decodeEntryMeta decodes a metadata section (the same in versions 1 and 2,
// but for the body key, which only version 2 (v2) has), which must be
// consumed exactly, into the exported fields of out, a new Entry, other than
// Body. The strings are views of one copy of meta, or of meta itself when
// share is set (DecodeEntry). On error out may be partly filled.
func decodeEntryMeta(out *Entry, meta []byte, v2, share bool) error {
	d := entryDecoder{b: meta}
	strCount := d.uvarint()
	if d.err == nil && strCount > uint64(len(meta)-d.off) { // each string takes at least one byte
		d.fail("string count %d exceeds the data", strCount)
	}
	if d.err != nil {
		return d.err
	}

	var h EntryHead
	d.head(&h)
	if d.err != nil {
		return d.err
	}

	// One string holds all the text; decoded strings are slices of it.
	if share {
		d.s = unsafe.String(unsafe.SliceData(meta), len(meta))
	} else {
		d.s = string(meta)
	}
	d.strs = make([]string, strCount)

	h.Nonce = d.string()
	out.setHead(h)
	if n, ok := d.count(2); ok { // a key takes at least two bytes
		out.Header = make(http.Header, n)
		prev := ""
		for i := range n {
			k := d.string()
			if d.err != nil {
				break
			}
			if i > 0 && k <= prev {
				d.fail("header keys out of order")
				break
			}
			prev = k
			out.Header[k] = d.strings(d.uvarint())
		}
	}
	if n, ok := d.count(1); ok {
		out.VaryNames = d.strings(uint64(n))
	}
	if n, ok := d.count(1); ok {
		out.Tags = d.strings(uint64(n))
	}
	if d.err == nil && v2 && d.off < len(meta) {
		if out.BodyKey = d.string(); d.err == nil && out.BodyKey == "" {
			d.fail("empty body key")
		}
	}
	if d.err == nil && d.off != len(meta) {
		d.fail("%d bytes of garbage after the metadata", len(meta)-d.off)
	}
	if d.err == nil && len(d.strs) != 0 {
		d.fail("string count mismatch")
	}
	return d.err
}

// entryDecoder reads the metadata. After its first failure every read
// returns a zero value and err keeps that failure.
type entryDecoder struct {
	b    []byte   // the metadata
	off  int      // next byte to read
	s    string   // string(b), set before the first string is read
	strs []string // unfilled part of the slice that string lists share
	err  error
}

func (d *entryDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrEntryFormat}, args...)...)
	}
}

func (d *entryDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated at byte %d", d.off)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *entryDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	d.advance(n)
	return v
}

func (d *entryDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	d.advance(n)
	return v
}

// advance moves past a varint of n bytes, or records why there is none
// (n as binary.Uvarint and binary.Varint report it).
func (d *entryDecoder) advance(n int) {
	switch {
	case n > 0:
		d.off += n
	case n == 0:
		d.fail("truncated at byte %d", d.off)
	default:
		d.fail("varint overflow at byte %d", d.off)
	}
}

func (d *entryDecoder) int() int {
	v := d.varint()
	if int64(int(v)) != v {
		d.fail("integer %d out of range", v)
		return 0
	}
	return int(v)
}

func (d *entryDecoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		n := d.varint()
		if d.err != nil {
			return time.Time{}
		}
		return time.Unix(0, n).UTC()
	default:
		d.fail("bad time tag at byte %d", d.off-1)
		return time.Time{}
	}
}

// count reads an n+1 length; ok is false for nil (0) and on error. Each of the n
// items takes at least minSize bytes, which bounds n by the remaining data.
func (d *entryDecoder) count(minSize int) (n int, ok bool) {
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return 0, false
	}
	v--
	if v > uint64((len(d.b)-d.off)/minSize) {
		d.fail("count %d exceeds the data", v)
		return 0, false
	}
	return int(v), true
}

func (d *entryDecoder) string() string {
	b := d.bytes() // ends at d.off
	if d.err != nil {
		return ""
	}
	return d.s[d.off-len(b) : d.off]
}

// bytes reads a string's bytes (a view of d.b).
func (d *entryDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail("string length %d exceeds the data", n)
		return nil
	}
	b := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return b
}

// head reads the fields of an entry's head but its Nonce (the first of
// the metadata after the string count; see appendHead).
func (d *entryDecoder) head(h *EntryHead) {
	h.Kind = Kind(d.byte())
	h.Status = d.int()
	h.RequestTime = d.time()
	h.ResponseTime = d.time()
	h.Expires = d.time()
	h.InitialAge = time.Duration(d.varint())
	h.Lifetime = time.Duration(d.varint())
}

// strings reads n strings into the shared slice and returns them as a slice of
// it, capped so that an append by the caller cannot overwrite its neighbours.
func (d *entryDecoder) strings(n uint64) []string {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.strs)) {
		d.fail("string count mismatch")
		return nil
	}
	out := d.strs[:n:n]
	d.strs = d.strs[n:]
	for i := range out {
		out[i] = d.string()
	}
	return out
}
