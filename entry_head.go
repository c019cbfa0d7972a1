package larder

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// EntryHead is the part of an entry that a MetaRewriter's rewrite reads
// and may change: its kind, status, times, lifetime and Nonce. The rest of
// the entry (its header fields, Vary names, tags, body key and body) is not
// part of it: a store that rewrites heads keeps those as they are stored,
// and need not decode them (for a soft purge of 100,000 entries, decoding
// and re-encoding every header was most of the work and of the garbage).
//
// In the encoding (entry_codec.go) the head is the first fields of the
// metadata, before the header fields: DecodeEntryHead reads it alone, and
// AppendEntryHead writes a new one before the stored rest.
type EntryHead struct {
	// Kind is Entry.Kind.
	Kind Kind
	// Status is Entry.Status.
	Status int
	// RequestTime is Entry.RequestTime.
	RequestTime time.Time
	// ResponseTime is Entry.ResponseTime.
	ResponseTime time.Time
	// InitialAge is Entry.InitialAge.
	InitialAge time.Duration
	// Lifetime is Entry.Lifetime.
	Lifetime time.Duration
	// Expires is Entry.Expires.
	Expires time.Time
	// Nonce is Entry.Nonce.
	Nonce string
}

// Head returns e's head.
func (e *Entry) Head() EntryHead {
	return EntryHead{
		Kind:         e.Kind,
		Status:       e.Status,
		RequestTime:  e.RequestTime,
		ResponseTime: e.ResponseTime,
		InitialAge:   e.InitialAge,
		Lifetime:     e.Lifetime,
		Expires:      e.Expires,
		Nonce:        e.Nonce,
	}
}

// WithHead returns a shallow copy of e with the head h: every other field
// (header fields, Vary names, tags, body key, body) is e's.
func (e *Entry) WithHead(h EntryHead) *Entry {
	v := *e
	v.setHead(h)
	return &v
}

// Entry returns a new entry with the head h and nothing else: no header
// fields, Vary names, tags or body.
func (h EntryHead) Entry() *Entry {
	e := new(Entry)
	e.setHead(h)
	return e
}

func (e *Entry) setHead(h EntryHead) {
	e.Kind = h.Kind
	e.Status = h.Status
	e.RequestTime = h.RequestTime
	e.ResponseTime = h.ResponseTime
	e.InitialAge = h.InitialAge
	e.Lifetime = h.Lifetime
	e.Expires = h.Expires
	e.Nonce = h.Nonce
}

// DecodeEntryHead decodes the head of an entry from a prefix of its
// encoding (format version 2), which must hold at least the first metaLen
// bytes (see EntryLayout). Only the head is decoded: the header fields,
// Vary names and tags after it are neither read nor checked (a store
// keeps them as they are; DecodeEntryMeta decodes them). It returns, as
// DecodeEntryMeta does, metaLen and the body's length; the head's Nonce is
// a copy. Errors wrap ErrEntryFormat.
func DecodeEntryHead(prefix []byte) (h EntryHead, metaLen int, bodyLen int64, err error) {
	metaLen, bodyLen, err = EntryLayout(prefix)
	if err != nil {
		return EntryHead{}, 0, 0, err
	}
	if len(prefix) < metaLen {
		return EntryHead{}, metaLen, bodyLen, fmt.Errorf("%w: the metadata takes %d bytes, the prefix has %d", ErrEntryFormat, metaLen, len(prefix))
	}
	d := entryDecoder{b: prefix[EntryHeaderSize:metaLen]}
	d.uvarint() // the string count
	d.head(&h)
	nonce := d.bytes()
	if d.err != nil {
		return EntryHead{}, 0, 0, d.err
	}
	h.Nonce = string(nonce)
	return h, metaLen, bodyLen, nil
}

// AppendEntryHead appends to dst the encoding of the metadata prefix (what
// EncodeEntryMeta gives: the fixed header and the metadata) of the entry
// whose prefix is old (the first metaLen bytes of its encoding, as
// DecodeEntryHead reads them), with its head replaced by h: its header
// fields, Vary names, tags, body key and body's length are copied from old
// byte for byte, undecoded. An empty old stands for an entry with nothing
// but its head (no header fields, Vary names or tags, a nil body): the
// prefix of a new tombstone.
//
// When the result would be shorter than size bytes, the lifetime is
// written in a longer form, which every decoder of the format reads as the
// same value (a varint with redundant continuation bytes; at most 10
// bytes in all), so that it takes size bytes if it can: a store then
// writes the new prefix over the old one in place (a soft purge's new
// head, whose lifetime is shorter, is otherwise a byte or so shorter, and
// the store would move the body). The result then differs from what
// EncodeEntryMeta gives for the entry, though it decodes to the same.
//
// dst is grown at most once. On error (old not an encoding's prefix, or h
// not encodable: a time outside the years 1678 to 2262) it returns nil
// and an error that wraps ErrEntryFormat.
func AppendEntryHead(dst, old []byte, h EntryHead, size int) ([]byte, error) {
	if err := checkTimes(h.RequestTime, h.ResponseTime, h.Expires); err != nil {
		return nil, err
	}
	// Without old: no header fields, Vary names or tags (each nil), no
	// body key, a nil body.
	var none [3]byte
	var (
		strCount = uint64(0)
		bodyN    = uint64(0) // n+1 of the body: a nil body
		rest     = none[:]   // what follows the Nonce
	)
	if len(old) > 0 {
		metaLen, _, err := EntryLayout(old)
		if err != nil {
			return nil, err
		}
		if len(old) < metaLen {
			return nil, fmt.Errorf("%w: the metadata takes %d bytes, the prefix has %d", ErrEntryFormat, metaLen, len(old))
		}
		d := entryDecoder{b: old[EntryHeaderSize:metaLen]}
		strCount = d.uvarint()
		var replaced EntryHead
		d.head(&replaced)
		d.bytes() // its Nonce
		if d.err != nil {
			return nil, d.err
		}
		rest = d.b[d.off:]
		bodyN = binary.BigEndian.Uint64(old[len(entryMagic)+5:])
	}
	fixed := codecUvarintSize(strCount) + headSize(&h)
	pad := 0
	if short := size - (EntryHeaderSize + fixed + len(rest)); short > 0 && codecVarintSize(int64(h.Lifetime))+short <= binary.MaxVarintLen64 {
		pad = short
	}
	metaLen := fixed + pad + len(rest)
	if uint64(metaLen) > entryMaxMeta || metaLen > math.MaxInt-EntryHeaderSize-len(dst) {
		return nil, fmt.Errorf("%w: %d bytes of metadata, more than %d", ErrEntryFormat, metaLen, uint64(entryMaxMeta))
	}
	b := appendPrefix(dst, 0, metaLen, bodyN, strCount, &h, pad)
	return append(b, rest...), nil
}

// appendPrefix appends to dst the fixed header of an encoding whose
// metadata takes metaLen bytes and whose body's n+1 is bodyN, then the
// start of the metadata: the string count and the head h (its lifetime
// pad bytes longer than need be). It grows dst at most once, with room
// for the whole metadata and more bytes after it (a body).
func appendPrefix(dst []byte, more, metaLen int, bodyN, strCount uint64, h *EntryHead, pad int) []byte {
	b := dst
	if need := EntryHeaderSize + metaLen + more; cap(b)-len(b) < need {
		b = make([]byte, len(dst), len(dst)+need)
		copy(b, dst)
	}
	b = append(b, entryMagic...)
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(metaLen))
	b = binary.BigEndian.AppendUint64(b, bodyN)
	b = binary.AppendUvarint(b, strCount)
	return appendHead(b, h, pad)
}

// headSize is the encoded size of h, without padding.
func headSize(h *EntryHead) int {
	return 1 + codecVarintSize(int64(h.Status)) +
		codecTimeSize(h.RequestTime) + codecTimeSize(h.ResponseTime) + codecTimeSize(h.Expires) +
		codecVarintSize(int64(h.InitialAge)) + codecVarintSize(int64(h.Lifetime)) +
		codecStringSize(h.Nonce)
}

// appendHead appends the encoding of h, its lifetime pad bytes longer than
// need be (see appendPaddedVarint).
func appendHead(b []byte, h *EntryHead, pad int) []byte {
	b = append(b, byte(h.Kind))
	b = binary.AppendVarint(b, int64(h.Status))
	b = codecAppendTime(b, h.RequestTime)
	b = codecAppendTime(b, h.ResponseTime)
	b = codecAppendTime(b, h.Expires)
	b = binary.AppendVarint(b, int64(h.InitialAge))
	b = appendPaddedVarint(b, int64(h.Lifetime), pad)
	return codecAppendString(b, h.Nonce)
}

// checkTimes returns an error for a time the format cannot hold.
func checkTimes(ts ...time.Time) error {
	for _, t := range ts {
		if !t.IsZero() && (t.Before(codecMinUnixNano) || t.After(codecMaxUnixNano)) {
			return fmt.Errorf("%w: time %v out of the UnixNano range", ErrEntryFormat, t)
		}
	}
	return nil
}
