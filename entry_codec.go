package larder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"slices"
	"time"
)

// ErrEntryFormat is wrapped by the errors of Entry.UnmarshalBinary,
// DecodeEntryMeta and EntryLayout for data that is not an encoded Entry: bad
// magic bytes, an unknown format version, truncated or corrupt data.
// Entry.MarshalBinary and EncodeEntryMeta wrap it for an entry that the format
// cannot hold (a time outside the years 1678 to 2262).
var ErrEntryFormat = errors.New("larder: bad entry encoding")

// ErrEntryNoMetaPrefix is wrapped, with ErrEntryFormat, by the errors of
// EntryLayout and DecodeEntryMeta for an entry in format version 1, which does
// not say up front where its metadata ends: such an entry can only be decoded
// whole, by Entry.UnmarshalBinary.
var ErrEntryNoMetaPrefix = errors.New("larder: entry encoding (version 1) has no metadata prefix")

// The encoding starts with entryMagic and then a version byte. MarshalBinary
// writes entryVersion; UnmarshalBinary reads it and every older version still
// listed below, so entries stored before an upgrade still decode. A format
// change adds a version.
const (
	entryMagic   = "LRDE"
	entryVersion = 2
)

// EntryHeaderSize is the size of the fixed header that starts an encoded
// entry (format version 2): EntryLayout needs that many bytes to tell how long
// the metadata and the body are.
const EntryHeaderSize = 17

// entryMaxMeta bounds the metadata section of version 2, whose length the
// header holds in 4 bytes.
const entryMaxMeta = math.MaxUint32

// Layout of version 2 (uvarint is encoding/binary's unsigned varint, varint its
// zig-zag signed one; "n+1" encodes a slice or map whose nil-ness is kept: 0 is
// nil, n+1 a value of length n). A fixed-size header, then the metadata, then
// the body, so that a reader can read exactly the metadata and stop:
//
//	header (EntryHeaderSize = 17 bytes):
//	  magic    4 bytes "LRDE"
//	  version  1 byte  (2)
//	  metaLen  4 bytes big-endian: length of the metadata section
//	  bodyLen  8 bytes big-endian: n+1 of Body (0 for a nil body)
//	metadata (metaLen bytes):
//	  strCount   uvarint number of header values + VaryNames + Tags
//	  kind       1 byte
//	  status     varint
//	  times      RequestTime, ResponseTime, Expires: each a byte 0 (zero time)
//	             or 1 followed by varint UnixNano
//	  initialAge varint nanoseconds
//	  lifetime   varint nanoseconds
//	  nonce      uvarint length, bytes
//	  header     uvarint n+1 keys; keys in strictly increasing order, each:
//	             uvarint length, bytes, uvarint value count, values as
//	             uvarint length, bytes (order kept)
//	  varyNames  uvarint n+1, strings as above
//	  tags       uvarint n+1, strings as above
//	  bodyKey    only when Entry.BodyKey is not empty: uvarint length,
//	             bytes (a decoder that predates it fails on the extra
//	             bytes, so such an entry is a miss for it)
//	body       bodyLen bytes, the last of the data
//
// The decoder converts the metadata to one string, which every decoded string
// then shares.
//
// Version 1 (read only) has no fixed header and no metadata length: after the
// magic and the version byte (1) comes the uvarint n+1 of Body, then the
// metadata fields exactly as in version 2, then the body, which fills the tail
// of the data. Where its metadata ends follows only from the length of the
// whole encoding.

var (
	codecMinUnixNano = time.Unix(0, math.MinInt64)
	codecMaxUnixNano = time.Unix(0, math.MaxInt64)
)

// MarshalBinary encodes the exported fields of e in a versioned binary format
// that UnmarshalBinary decodes: the metadata first, behind a header of
// EntryHeaderSize bytes that holds its length and the body's, then the body,
// so that DecodeEntryMeta can read the metadata from a prefix. Times keep
// their instant only (as UnixNano; the location and monotonic reading are
// dropped; decoded times are in UTC), and a zero time stays zero.
// Header keys are written sorted, so equal entries encode to equal bytes.
// MarshalBinary implements encoding.BinaryMarshaler.
func (e *Entry) MarshalBinary() ([]byte, error) {
	bodyLen := int64(len(e.Body))
	if e.Body == nil {
		bodyLen = -1
	}
	return e.encode(bodyLen, e.Body)
}

// EncodeEntryMeta encodes e without its body: the prefix, header and metadata,
// of the encoding of an entry whose body of bodyLen bytes follows it, for a
// store that writes the body as a stream after it. The prefix followed by
// exactly bodyLen bytes B is what MarshalBinary gives for e with Body B; a
// negative bodyLen stands for a nil Body (followed by no bytes). e.Body is
// ignored. Errors wrap ErrEntryFormat.
func EncodeEntryMeta(e *Entry, bodyLen int64) ([]byte, error) {
	if bodyLen > math.MaxInt64-1 {
		return nil, fmt.Errorf("%w: body length %d out of range", ErrEntryFormat, bodyLen)
	}
	return e.encode(bodyLen, nil)
}

// AppendEntryMeta is EncodeEntryMeta appending to dst, which it grows at
// most once: a store that writes a prefix of its own before the entry's
// (a Redis value's version and Nonce) encodes both in one allocation. On
// error it returns nil.
func AppendEntryMeta(dst []byte, e *Entry, bodyLen int64) ([]byte, error) {
	if bodyLen > math.MaxInt64-1 {
		return nil, fmt.Errorf("%w: body length %d out of range", ErrEntryFormat, bodyLen)
	}
	return e.appendEncode(dst, bodyLen, nil, 0)
}

// AppendEntryMetaPadded is AppendEntryMeta, but when the encoding would be
// shorter than size bytes it writes the lifetime in a longer form, which
// every decoder of the format reads as the same value (a varint with
// redundant continuation bytes; at most 10 bytes in all), so that it takes
// exactly size bytes if it can. A store that rewrites an entry's metadata
// in place (a soft purge) then need not move the body after it. The
// encoding is then not the one MarshalBinary gives for e, though it decodes
// to the same entry.
func AppendEntryMetaPadded(dst []byte, e *Entry, bodyLen int64, size int) ([]byte, error) {
	b, err := AppendEntryMeta(dst, e, bodyLen)
	if err != nil {
		return nil, err
	}
	pad := size - (len(b) - len(dst))
	if pad <= 0 || codecVarintSize(int64(e.Lifetime))+pad > binary.MaxVarintLen64 {
		return b, nil
	}
	return e.appendEncode(b[:len(dst)], bodyLen, nil, pad)
}

// encode encodes e's header and metadata for a body of bodyLen bytes
// (negative: a nil body), followed by body, which is either nil or those
// bodyLen bytes, in one allocation.
func (e *Entry) encode(bodyLen int64, body []byte) ([]byte, error) {
	return e.appendEncode(nil, bodyLen, body, 0)
}

// appendEncode is encode appending to dst, grown at most once, with the
// lifetime's varint pad bytes longer than it need be (pad ≥ 0; the caller
// keeps it within binary.MaxVarintLen64).
func (e *Entry) appendEncode(dst []byte, bodyLen int64, body []byte, pad int) ([]byte, error) {
	for _, t := range [...]time.Time{e.RequestTime, e.ResponseTime, e.Expires} {
		if !t.IsZero() && (t.Before(codecMinUnixNano) || t.After(codecMaxUnixNano)) {
			return nil, fmt.Errorf("%w: time %v out of the UnixNano range", ErrEntryFormat, t)
		}
	}

	hdr := e.Fields() // the compact form's fields encode as Header's would

	// Header keys in order; a stack buffer covers the common case.
	var keyBuf [32]string
	keys := keyBuf[:0]
	if len(hdr) > len(keyBuf) {
		keys = make([]string, 0, len(hdr))
	}
	strCount := len(e.VaryNames) + len(e.Tags)
	headerSize := 0
	for k, vs := range hdr {
		keys = append(keys, k)
		strCount += len(vs)
		headerSize += codecStringSize(k) + codecUvarintSize(uint64(len(vs)))
		for _, v := range vs {
			headerSize += codecStringSize(v)
		}
	}
	slices.Sort(keys)

	metaLen := codecUvarintSize(uint64(strCount)) +
		1 + codecVarintSize(int64(e.Status)) +
		codecTimeSize(e.RequestTime) + codecTimeSize(e.ResponseTime) + codecTimeSize(e.Expires) +
		codecVarintSize(int64(e.InitialAge)) + codecVarintSize(int64(e.Lifetime)) + pad +
		codecStringSize(e.Nonce) +
		codecUvarintSize(codecNilLen(hdr == nil, len(hdr))) + headerSize +
		codecStringsSize(e.VaryNames) + codecStringsSize(e.Tags)
	if e.BodyKey != "" {
		metaLen += codecStringSize(e.BodyKey)
	}
	if uint64(metaLen) > entryMaxMeta {
		return nil, fmt.Errorf("%w: %d bytes of metadata, more than %d", ErrEntryFormat, metaLen, uint64(entryMaxMeta))
	}
	bodyN := uint64(0) // n+1 of the body
	if bodyLen >= 0 {
		bodyN = uint64(bodyLen) + 1
	}

	b := dst
	if need := EntryHeaderSize + metaLen + len(body); cap(b)-len(b) < need {
		b = make([]byte, len(dst), len(dst)+need)
		copy(b, dst)
	}
	b = append(b, entryMagic...)
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(metaLen))
	b = binary.BigEndian.AppendUint64(b, bodyN)
	b = binary.AppendUvarint(b, uint64(strCount))
	b = append(b, byte(e.Kind))
	b = binary.AppendVarint(b, int64(e.Status))
	b = codecAppendTime(b, e.RequestTime)
	b = codecAppendTime(b, e.ResponseTime)
	b = codecAppendTime(b, e.Expires)
	b = binary.AppendVarint(b, int64(e.InitialAge))
	b = appendPaddedVarint(b, int64(e.Lifetime), pad)
	b = codecAppendString(b, e.Nonce)
	b = binary.AppendUvarint(b, codecNilLen(hdr == nil, len(hdr)))
	for _, k := range keys {
		vs := hdr[k]
		b = codecAppendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = codecAppendString(b, v)
		}
	}
	b = codecAppendStrings(b, e.VaryNames)
	b = codecAppendStrings(b, e.Tags)
	if e.BodyKey != "" {
		b = codecAppendString(b, e.BodyKey)
	}
	b = append(b, body...)
	return b, nil
}

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
	if err := decodeEntryMeta(e, prefix[EntryHeaderSize:metaLen], true); err != nil {
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
	if len(data) < len(entryMagic)+1 || string(data[:len(entryMagic)]) != entryMagic {
		return fmt.Errorf("%w: bad magic", ErrEntryFormat)
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
			return err
		}
		if int64(metaLen) > int64(len(data)) || bodyLen != int64(len(data)-metaLen) {
			return fmt.Errorf("%w: %d bytes of data for %d bytes of metadata and a body of %d", ErrEntryFormat, len(data), metaLen, bodyLen)
		}
		meta, body = data[EntryHeaderSize:metaLen], data[metaLen:]
		bodyN = binary.BigEndian.Uint64(data[len(entryMagic)+5:])
	case 1:
		d := entryDecoder{b: data, off: len(entryMagic) + 1}
		bodyN = d.uvarint()
		if d.err != nil {
			return d.err
		}
		bodyLen := 0
		if bodyN > 0 {
			if bodyN-1 > uint64(len(data)-d.off) {
				return fmt.Errorf("%w: body length %d exceeds the data", ErrEntryFormat, bodyN-1)
			}
			bodyLen = int(bodyN - 1)
		}
		meta, body = data[d.off:len(data)-bodyLen], data[len(data)-bodyLen:]
	default:
		return fmt.Errorf("%w: unknown version %d", ErrEntryFormat, v)
	}

	var out Entry
	if err := decodeEntryMeta(&out, meta, data[len(entryMagic)] == entryVersion); err != nil {
		return err
	}
	if bodyN > 0 {
		out.Body = make([]byte, len(body))
		copy(out.Body, body)
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

// decodeEntryMeta decodes a metadata section (the same in versions 1 and 2,
// but for the body key, which only version 2 (v2) has), which must be
// consumed exactly, into the exported fields of out, a new Entry, other than
// Body. On error out may be partly filled.
func decodeEntryMeta(out *Entry, meta []byte, v2 bool) error {
	d := entryDecoder{b: meta}
	strCount := d.uvarint()
	if d.err == nil && strCount > uint64(len(meta)-d.off) { // each string takes at least one byte
		d.fail("string count %d exceeds the data", strCount)
	}
	if d.err != nil {
		return d.err
	}

	out.Kind = Kind(d.byte())
	out.Status = d.int()
	out.RequestTime = d.time()
	out.ResponseTime = d.time()
	out.Expires = d.time()
	out.InitialAge = time.Duration(d.varint())
	out.Lifetime = time.Duration(d.varint())
	if d.err != nil {
		return d.err
	}

	// One string holds all the text; decoded strings are slices of it.
	d.s = string(meta)
	d.strs = make([]string, strCount)

	out.Nonce = d.string()
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
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail("string length %d exceeds the data", n)
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
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

func codecNilLen(isNil bool, n int) uint64 {
	if isNil {
		return 0
	}
	return uint64(n) + 1
}

func codecUvarintSize(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// appendPaddedVarint appends x as binary.AppendVarint does, made pad
// bytes longer with redundant continuation bytes (each adding zero bits),
// which binary.Varint reads as x: the last byte gets its continuation bit,
// then come pad-1 bytes 0x80 and a final 0x00.
func appendPaddedVarint(b []byte, x int64, pad int) []byte {
	b = binary.AppendVarint(b, x)
	if pad <= 0 {
		return b
	}
	b[len(b)-1] |= 0x80
	for range pad - 1 {
		b = append(b, 0x80)
	}
	return append(b, 0x00)
}

func codecVarintSize(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return codecUvarintSize(ux)
}

func codecTimeSize(t time.Time) int {
	if t.IsZero() {
		return 1
	}
	return 1 + codecVarintSize(t.UnixNano())
}

func codecStringSize(s string) int { return codecUvarintSize(uint64(len(s))) + len(s) }

func codecStringsSize(ss []string) int {
	n := codecUvarintSize(codecNilLen(ss == nil, len(ss)))
	for _, s := range ss {
		n += codecStringSize(s)
	}
	return n
}

func codecAppendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), t.UnixNano())
}

func codecAppendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func codecAppendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, codecNilLen(ss == nil, len(ss)))
	for _, s := range ss {
		b = codecAppendString(b, s)
	}
	return b
}
