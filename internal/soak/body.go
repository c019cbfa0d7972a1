package soak

import (
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"strconv"
	"strings"
)

// NoOne is the variant or user field of a body that has none.
const NoOne = "-"

// trailerLen is the length of a body's last line, "\nsum=xxxxxxxx\n": the
// CRC-32 (IEEE) of every byte before it.
const trailerLen = len("\nsum=00000000\n")

// Body is what a response body says about itself.
type Body struct {
	Path    string
	Version int64
	Variant string // NoOne when the page does not vary
	User    string // NoOne when the page is not personalised (or is the guest page)
	Len     int
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

// MakeBody returns the body of one representation: a first line naming it,
// filler derived from that line, and a checksum line, size bytes in all.
// The same arguments always give the same bytes, so that a 206 can be checked
// against the full body of the version it names.
func MakeBody(path string, version int64, variant, user string, size int) []byte {
	if variant == "" {
		variant = NoOne
	}
	if user == "" {
		user = NoOne
	}
	head := fmt.Sprintf("larder-soak path=%s v=%d variant=%s user=%s len=%07d\n", path, version, variant, user, size)
	if len(head)+trailerLen > size {
		panic(fmt.Sprintf("soak: body of %d bytes too small for %q", size, head))
	}
	b := make([]byte, size)
	n := copy(b, head)
	h := fnv.New64a()
	_, _ = h.Write([]byte(head))
	x := h.Sum64() | 1
	for i := n; i < size-trailerLen; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = alphabet[x&63]
	}
	sum := crc32.ChecksumIEEE(b[:size-trailerLen])
	copy(b[size-trailerLen:], fmt.Sprintf("\nsum=%08x\n", sum))
	return b
}

// Errors of ParseBody.
var (
	ErrTruncated = errors.New("body length differs from its len field")
	ErrChecksum  = errors.New("body checksum mismatch")
	ErrMalformed = errors.New("body malformed")
)

// ParseBody checks a whole body's length and checksum and returns what its
// first line says.
func ParseBody(b []byte) (Body, error) {
	var bd Body
	if len(b) < trailerLen+16 {
		return bd, fmt.Errorf("%w: %d bytes", ErrTruncated, len(b))
	}
	nl := strings.IndexByte(string(b[:min(len(b), 256)]), '\n')
	if nl < 0 || !strings.HasPrefix(string(b), "larder-soak ") {
		return bd, ErrMalformed
	}
	for _, f := range strings.Fields(string(b[len("larder-soak "):nl])) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return bd, fmt.Errorf("%w: field %q", ErrMalformed, f)
		}
		var err error
		switch k {
		case "path":
			bd.Path = v
		case "v":
			bd.Version, err = strconv.ParseInt(v, 10, 64)
		case "variant":
			bd.Variant = v
		case "user":
			bd.User = v
		case "len":
			bd.Len, err = strconv.Atoi(v)
		}
		if err != nil {
			return bd, fmt.Errorf("%w: field %q", ErrMalformed, f)
		}
	}
	if bd.Len != len(b) {
		return bd, fmt.Errorf("%w: len=%d, got %d bytes", ErrTruncated, bd.Len, len(b))
	}
	tr := string(b[len(b)-trailerLen:])
	want := fmt.Sprintf("\nsum=%08x\n", crc32.ChecksumIEEE(b[:len(b)-trailerLen]))
	if tr != want {
		return bd, fmt.Errorf("%w: trailer %q, computed %q", ErrChecksum, tr, want)
	}
	return bd, nil
}
