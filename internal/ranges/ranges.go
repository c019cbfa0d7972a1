// Package ranges parses byte Range requests and evaluates If-Range
// (RFC 9110 §14, §13.1.5), so a cache can answer range requests from a
// complete stored response.
//
// The policy is to coalesce, never to send more bytes than the
// representation plus multipart framing: Parse sorts the satisfiable ranges
// and merges those that overlap or lie closer than [CoalesceGap] bytes
// (RFC 9110 §15.3.7.2), so the ranges it returns are ascending and disjoint
// and their lengths sum to at most the representation's size. Overlapping or
// repeated range-specs, which §14.2 names as signs of a denial-of-service
// attack (§17.15), cannot multiply the bytes sent. A set that coalesces into
// one range is answered with a single part, even when that range is the
// whole representation.
package ranges

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Range is a satisfiable byte range of a representation.
type Range struct {
	Start, Length int64
}

// ContentRange is the Content-Range field value of r for a representation
// of size bytes (RFC 9110 §14.4).
func (r Range) ContentRange(size int64) string {
	return string(r.AppendContentRange(make([]byte, 0, 40), size))
}

// AppendContentRange appends the Content-Range field value of r for a
// representation of size bytes to b (RFC 9110 §14.4).
func (r Range) AppendContentRange(b []byte, size int64) []byte {
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, r.Start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, r.Start+r.Length-1, 10)
	b = append(b, '/')
	return strconv.AppendInt(b, size, 10)
}

var (
	// ErrIgnore means the Range field is to be ignored (RFC 9110 §14.2): a
	// unit other than bytes, or a syntax error. The full response is sent.
	ErrIgnore = errors.New("ranges: range ignored")
	// ErrUnsatisfiable means no range overlaps the representation: 416
	// (RFC 9110 §15.5.17).
	ErrUnsatisfiable = errors.New("ranges: range not satisfiable")
)

// MaxRanges bounds the range-specs of one request; more are ignored as a
// whole (RFC 9110 §14.2 lets a server ignore or reject many small ranges).
const MaxRanges = 16

// CoalesceGap is the overhead of one part of a multipart/byteranges body that
// RFC 9110 §15.3.7.2 calls typical: ranges separated by fewer bytes are
// merged, since sending the gap costs less than a part's framing.
const CoalesceGap = 80

// Parse parses a Range field value (RFC 9110 §14.1.2) against a
// representation of size bytes and returns its satisfiable ranges, clipped to
// the representation and coalesced (RFC 9110 §15.3.7.2): sorted by start,
// with ranges that overlap or are separated by fewer than [CoalesceGap]
// bytes merged, whatever the order of the range-specs. The ranges returned
// are disjoint and their lengths sum to at most size. Unsatisfiable members
// are dropped; if none remain it returns ErrUnsatisfiable. A field of another
// unit, with a syntax error, or with more than [MaxRanges] range-specs
// returns ErrIgnore.
func Parse(s string, size int64) ([]Range, error) {
	s = strings.TrimSpace(s)
	unit, set, ok := strings.Cut(s, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, ErrIgnore
	}
	var out []Range
	n := 0
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		if n++; n > MaxRanges {
			return nil, ErrIgnore
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return nil, ErrIgnore
		}
		var r Range
		switch {
		case first == "": // suffix-range
			k, ok := number(last)
			if !ok {
				return nil, ErrIgnore
			}
			if k == 0 || size == 0 {
				continue
			}
			k = min(k, size)
			r = Range{Start: size - k, Length: k}
		default:
			a, ok := number(first)
			if !ok {
				return nil, ErrIgnore
			}
			end := size - 1
			if last != "" {
				b, ok := number(last)
				if !ok || b < a {
					return nil, ErrIgnore
				}
				end = min(b, size-1)
			}
			if a >= size {
				continue
			}
			r = Range{Start: a, Length: end - a + 1}
		}
		out = append(out, r)
	}
	if n == 0 {
		return nil, ErrIgnore
	}
	if len(out) == 0 {
		return nil, ErrUnsatisfiable
	}
	return coalesce(out), nil
}

// coalesce sorts rs by start and merges the ranges that overlap or are
// separated by fewer than CoalesceGap bytes, in place.
func coalesce(rs []Range) []Range {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		end := last.Start + last.Length
		if r.Start-end < CoalesceGap {
			last.Length = max(end, r.Start+r.Length) - last.Start
			continue
		}
		out = append(out, r)
	}
	return out
}

func number(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// IfRange reports whether a request's If-Range lets its Range apply to the
// stored representation with the given ETag and Last-Modified values
// (RFC 9110 §13.1.5): an entity-tag must match strongly, a date must equal
// Last-Modified exactly. An absent If-Range (value "") allows the range.
func IfRange(value, etag, lastModified string) bool {
	value = strings.TrimSpace(value)
	if value == "" {
		return true
	}
	if value[0] == '"' || strings.HasPrefix(value, "W/") {
		// A strong comparison: weak tags never match.
		return etag != "" && etag[0] == '"' && value == etag
	}
	t, err := http.ParseTime(value)
	if err != nil || lastModified == "" {
		return false
	}
	lm, err := http.ParseTime(lastModified)
	return err == nil && t.Equal(lm) && !t.Equal(time.Time{})
}
