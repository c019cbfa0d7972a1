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

// ErrEntryFormat is wrapped by the errors of Entry.UnmarshalBinary for data that
// is not an encoded Entry: bad magic bytes, an unknown format version, truncated
// or corrupt data. Entry.MarshalBinary wraps it for an entry that the format
// cannot hold (a time outside the years 1678 to 2262).
var ErrEntryFormat = errors.New("larder: bad entry encoding")

// The encoding starts with entryMagic and then entryVersion. A decoder refuses
// any other version, so a format change bumps the version and stores simply
// miss on entries written by another version.
const (
	entryMagic   = "LRDE"
	entryVersion = 1
)

// Layout of version 1 (uvarint is encoding/binary's unsigned varint, varint its
// zig-zag signed one; "n+1" encodes a slice or map whose nil-ness is kept: 0 is
// nil, n+1 a value of length n):
//
//	magic      4 bytes "LRDE"
//	version    1 byte  (1)
//	bodyLen    uvarint n+1 of Body (the body fills the tail of the data)
//	strCount   uvarint number of header values + VaryNames + Tags
//	kind       1 byte
//	status     varint
//	times      RequestTime, ResponseTime, Expires: each a byte 0 (zero time) or
//	           1 followed by varint UnixNano
//	initialAge varint nanoseconds
//	lifetime   varint nanoseconds
//	nonce      uvarint length, bytes
//	header     uvarint n+1 keys; keys in strictly increasing order, each:
//	           uvarint length, bytes, uvarint value count, values as
//	           uvarint length, bytes (order kept)
//	varyNames  uvarint n+1, strings as above
//	tags       uvarint n+1, strings as above
//	body       the remaining bytes: exactly bodyLen of them
//
// Putting the body length first lets the decoder convert all the bytes before
// the body to one string, which every decoded string then shares.

var (
	codecMinUnixNano = time.Unix(0, math.MinInt64)
	codecMaxUnixNano = time.Unix(0, math.MaxInt64)
)

// MarshalBinary encodes the exported fields of e in a versioned binary format
// that UnmarshalBinary decodes. Times keep their instant only (as UnixNano; the
// location and monotonic reading are dropped; decoded times are in UTC), and a
// zero time stays zero.
// Header keys are written sorted, so equal entries encode to equal bytes.
// MarshalBinary implements encoding.BinaryMarshaler.
func (e *Entry) MarshalBinary() ([]byte, error) {
	for _, t := range [...]time.Time{e.RequestTime, e.ResponseTime, e.Expires} {
		if !t.IsZero() && (t.Before(codecMinUnixNano) || t.After(codecMaxUnixNano)) {
			return nil, fmt.Errorf("%w: time %v out of the UnixNano range", ErrEntryFormat, t)
		}
	}

	// Header keys in order; a stack buffer covers the common case.
	var keyBuf [32]string
	keys := keyBuf[:0]
	if len(e.Header) > len(keyBuf) {
		keys = make([]string, 0, len(e.Header))
	}
	strCount := len(e.VaryNames) + len(e.Tags)
	headerSize := 0
	for k, vs := range e.Header {
		keys = append(keys, k)
		strCount += len(vs)
		headerSize += codecStringSize(k) + codecUvarintSize(uint64(len(vs)))
		for _, v := range vs {
			headerSize += codecStringSize(v)
		}
	}
	slices.Sort(keys)

	size := len(entryMagic) + 1 +
		codecUvarintSize(codecNilLen(e.Body == nil, len(e.Body))) +
		codecUvarintSize(uint64(strCount)) +
		1 + codecVarintSize(int64(e.Status)) +
		codecTimeSize(e.RequestTime) + codecTimeSize(e.ResponseTime) + codecTimeSize(e.Expires) +
		codecVarintSize(int64(e.InitialAge)) + codecVarintSize(int64(e.Lifetime)) +
		codecStringSize(e.Nonce) +
		codecUvarintSize(codecNilLen(e.Header == nil, len(e.Header))) + headerSize +
		codecStringsSize(e.VaryNames) + codecStringsSize(e.Tags) +
		len(e.Body)

	b := make([]byte, 0, size)
	b = append(b, entryMagic...)
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, codecNilLen(e.Body == nil, len(e.Body)))
	b = binary.AppendUvarint(b, uint64(strCount))
	b = append(b, byte(e.Kind))
	b = binary.AppendVarint(b, int64(e.Status))
	b = codecAppendTime(b, e.RequestTime)
	b = codecAppendTime(b, e.ResponseTime)
	b = codecAppendTime(b, e.Expires)
	b = binary.AppendVarint(b, int64(e.InitialAge))
	b = binary.AppendVarint(b, int64(e.Lifetime))
	b = codecAppendString(b, e.Nonce)
	b = binary.AppendUvarint(b, codecNilLen(e.Header == nil, len(e.Header)))
	for _, k := range keys {
		vs := e.Header[k]
		b = codecAppendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = codecAppendString(b, v)
		}
	}
	b = codecAppendStrings(b, e.VaryNames)
	b = codecAppendStrings(b, e.Tags)
	b = append(b, e.Body...)
	return b, nil
}

// UnmarshalBinary decodes data written by MarshalBinary into e, replacing all
// of e's exported fields. Errors wrap ErrEntryFormat. It never keeps a
// reference to data: the body is copied, and all the strings share one string
// copied from the bytes before the body (so any one of them keeps that string
// alive). On error e is left unchanged. The unexported fields of e are not
// touched.
// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (e *Entry) UnmarshalBinary(data []byte) error {
	if len(data) < len(entryMagic)+1 || string(data[:len(entryMagic)]) != entryMagic {
		return fmt.Errorf("%w: bad magic", ErrEntryFormat)
	}
	if v := data[len(entryMagic)]; v != entryVersion {
		return fmt.Errorf("%w: unknown version %d", ErrEntryFormat, v)
	}
	d := entryDecoder{b: data, off: len(entryMagic) + 1}

	bodyN := d.uvarint()
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
	metaEnd := len(data) - bodyLen
	d.b = data[:metaEnd] // the fields end where the body starts

	strCount := d.uvarint()
	if d.err == nil && strCount > uint64(metaEnd-d.off) { // each string takes at least one byte
		d.fail("string count %d exceeds the data", strCount)
	}
	if d.err != nil {
		return d.err
	}

	var out Entry
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
	d.s = string(data[:metaEnd])
	strs := make([]string, strCount)
	d.strs = strs

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
	if d.err == nil && d.off != metaEnd {
		d.fail("%d bytes of garbage before the body", metaEnd-d.off)
	}
	if d.err == nil && len(d.strs) != 0 {
		d.fail("string count mismatch")
	}
	if d.err != nil {
		return d.err
	}
	if bodyN > 0 {
		out.Body = make([]byte, bodyLen)
		copy(out.Body, data[metaEnd:])
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
	return nil
}

// entryDecoder reads the fields before the body. After its first failure every read
// returns a zero value and err keeps that failure.
type entryDecoder struct {
	b    []byte   // the data up to the body
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
