package larder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	return e.appendEncode(dst, bodyLen, nil)
}

// encode encodes e's header and metadata for a body of bodyLen bytes
// (negative: a nil body), followed by body, which is either nil or those
// bodyLen bytes, in one allocation.
func (e *Entry) encode(bodyLen int64, body []byte) ([]byte, error) {
	return e.appendEncode(nil, bodyLen, body)
}

// appendEncode is encode appending to dst, grown at most once.
func (e *Entry) appendEncode(dst []byte, bodyLen int64, body []byte) ([]byte, error) {
	if err := checkTimes(e.RequestTime, e.ResponseTime, e.Expires); err != nil {
		return nil, err
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

	h := e.Head()
	metaLen := codecUvarintSize(uint64(strCount)) + headSize(&h) +
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

	b := appendPrefix(dst, len(body), metaLen, bodyN, uint64(strCount), &h, 0)
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
