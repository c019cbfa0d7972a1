package disk

import (
	"encoding/binary"
	"errors"
	"hash/crc32"

	"github.com/larder-cache/larder"
)

// An entry's record, the value under its key hash in the entries bucket
// (see the package documentation):
//
//	version   1 byte (1)
//	flags     1 byte: recFile if the body is in a file
//	id        16 bytes: the write's fileID
//	deadline  8 bytes big-endian: expiry, Unix nanoseconds
//	key       uvarint length, bytes
//	entry     the larder v2 encoding (EncodeEntryMeta): header and
//	          metadata, then the body if it is inline
//	crc       4 bytes big-endian: CRC-32C of all the bytes before
const (
	recVersion = 1
	recFile    = 1 << 0
	recFixed   = 1 + 1 + 16 + 8
	crcSize    = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt is wrapped by the errors of records and body files that fail
// their checks.
var errCorrupt = errors.New("disk: corrupt entry")

// buildRecord returns the record of an entry written as id, expiring at
// deadline, under key, with enc its v2 encoding (with the body if inline).
func buildRecord(id fileID, file bool, deadline int64, key string, enc []byte) []byte {
	flags := byte(0)
	if file {
		flags |= recFile
	}
	n := recFixed + binary.MaxVarintLen64 + len(key) + len(enc) + crcSize
	b := make([]byte, 0, n)
	b = append(b, recVersion, flags)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(deadline))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, enc...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// recordLen is the length of buildRecord's result for a key of keyLen bytes
// and an encoding of encLen bytes.
func recordLen(keyLen, encLen int) int {
	return recFixed + uvarintLen(uint64(keyLen)) + keyLen + encLen + crcSize
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// record is a parsed record. enc aliases the bytes parsed.
type record struct {
	id       fileID
	file     bool
	deadline int64
	enc      []byte // the v2 encoding: metadata, and the body if inline
	metaLen  int    // the length of the header and metadata in enc
	bodyLen  int64
}

// errOtherKey is returned by parseRecord for a sound record of another key
// (with the same SHA-256: it does not happen).
var errOtherKey = errors.New("disk: record of another key")

// parseRecord checks b, the record stored for key, and parses it. Errors
// wrap errCorrupt, but errOtherKey.
func parseRecord(b []byte, key string) (record, error) {
	var r record
	if len(b) < recFixed+1+crcSize {
		return r, errCorrupt
	}
	body := b[:len(b)-crcSize]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(body):]) {
		return r, errCorrupt
	}
	if body[0] != recVersion || body[1]&^recFile != 0 {
		return r, errCorrupt
	}
	r.file = body[1]&recFile != 0
	copy(r.id[:], body[2:18])
	r.deadline = int64(binary.BigEndian.Uint64(body[18:26]))
	kl, n := binary.Uvarint(body[recFixed:])
	off := recFixed + n
	if n <= 0 || kl > uint64(len(body)-off) {
		return r, errCorrupt
	}
	if string(body[off:off+int(kl)]) != key {
		return r, errOtherKey
	}
	r.enc = body[off+int(kl):]
	metaLen, bodyLen, err := larder.EntryLayout(r.enc)
	if err != nil || metaLen > len(r.enc) {
		return r, errCorrupt
	}
	r.metaLen, r.bodyLen = metaLen, bodyLen
	if r.file {
		if len(r.enc) != metaLen || bodyLen <= 0 {
			return r, errCorrupt
		}
	} else if int64(len(r.enc)-metaLen) != bodyLen {
		return r, errCorrupt
	}
	return r, nil
}

// The info record of an entry, under its key hash in the info bucket: what
// eviction and the sweep need without reading the entry.
//
//	atime     8 bytes big-endian: last access, Unix nanoseconds
//	deadline  8 bytes big-endian
//	size      8 bytes big-endian: what the entry counts against MaxBytes
//	flags     1 byte: recFile
//	id        16 bytes
const infoLen = 8 + 8 + 8 + 1 + 16

type info struct {
	atime, deadline, size int64
	file                  bool
	id                    fileID
}

func (in info) bytes() []byte {
	b := make([]byte, infoLen)
	binary.BigEndian.PutUint64(b[0:], uint64(in.atime))
	binary.BigEndian.PutUint64(b[8:], uint64(in.deadline))
	binary.BigEndian.PutUint64(b[16:], uint64(in.size))
	if in.file {
		b[24] = recFile
	}
	copy(b[25:], in.id[:])
	return b
}

func parseInfo(b []byte) (info, bool) {
	var in info
	if len(b) != infoLen || b[24]&^recFile != 0 {
		return in, false
	}
	in.atime = int64(binary.BigEndian.Uint64(b[0:]))
	in.deadline = int64(binary.BigEndian.Uint64(b[8:]))
	in.size = int64(binary.BigEndian.Uint64(b[16:]))
	in.file = b[24]&recFile != 0
	copy(in.id[:], b[25:])
	return in, in.size >= 0
}

// timeKey is a key of the lru and expiry buckets: a time (Unix nanoseconds,
// big-endian, so that keys sort by time) and the key hash.
func timeKey(t int64, h keyHash) []byte {
	b := make([]byte, 8+len(h))
	binary.BigEndian.PutUint64(b, uint64(max(t, 0)))
	copy(b[8:], h[:])
	return b
}

// entryOverhead is what an entry counts against MaxBytes besides its record
// and body file: its keys in the four buckets, its info record and bbolt's
// per-element headers.
const entryOverhead = 256
