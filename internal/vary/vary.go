// Package vary parses the Vary response header field (RFC 9110 §12.5.5) and
// builds the secondary cache keys of RFC 9111 §4.1 from the request fields it
// nominates.
//
// Every function is pure, safe for concurrent use, and never panics. Request
// headers are expected to use canonical keys (as net/http produces them);
// Key also finds a field stored under its lowercase name.
package vary

import (
	"net/http"
	"slices"
	"strings"

	"github.com/larder-cache/larder/internal/httpsyntax"
)

// Names returns the request field names nominated by the Vary field lines of
// h (RFC 9110 §12.5.5: Vary = #( "*" / field-name )), lowercased, deduplicated
// and sorted; star reports whether any member is "*", in which case the
// stored response always fails to match (RFC 9111 §4.1).
//
// The field lines are combined as one list (RFC 9110 §5.3); OWS around members
// and empty members are ignored (§5.6.1.2). A member that is not a valid
// field-name token (§5.1, §5.6.2), for example "Foo Bar" or "a;b", cannot be
// matched reliably, so it is treated like "*": star is true and the member is
// not returned. names is nil when nothing is nominated.
//
// Names allocates the result slice and, when some name has upper-case
// letters, one string holding all lowercased names.
func Names(h http.Header) (names []string, star bool) {
	lines := h["Vary"]
	if len(lines) == 0 {
		return nil, false
	}
	// Pass 1: count members and the bytes that need lowercasing.
	n, lowerBytes := 0, 0
	for m := range httpsyntax.ListElements(lines) {
		switch {
		case m == "*":
			star = true
		case !httpsyntax.IsToken(m):
			star = true
		default:
			n++
			if hasUpper(m) {
				lowerBytes += len(m)
			}
		}
	}
	if n == 0 {
		return nil, star
	}
	// Pass 2: collect, lowercasing into one shared buffer sized in pass 1, so
	// all lowercased names share a single allocation. Strings taken from a
	// Builder are never modified by later writes.
	names = make([]string, 0, n)
	var b strings.Builder
	b.Grow(lowerBytes)
	for m := range httpsyntax.ListElements(lines) {
		if m == "*" || !httpsyntax.IsToken(m) {
			continue
		}
		if hasUpper(m) {
			start := b.Len()
			for i := 0; i < len(m); i++ {
				b.WriteByte(lower(m[i]))
			}
			m = b.String()[start:]
		}
		names = append(names, m)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return names, star
}

// Key builds the secondary cache key (RFC 9111 §4.1) for a request with header
// req from the nominated names (as returned by Names: lowercase, sorted,
// deduplicated; the order of names is significant).
//
// Each request field is normalised in the ways §4.1 allows for any field:
// its field lines are combined into one list (RFC 9110 §5.3), each
// comma-separated member is trimmed of OWS, and members are joined with ","
// (so "1, 2", " 1,2 " and two lines "1" and "2" all give "1,2"). Commas and
// whitespace inside double-quoted strings are left alone. Empty members are
// kept, and values are otherwise compared octet by octet, because only
// field-specific knowledge could say more.
//
// The key length-prefixes every name and value and marks an absent field
// differently from a present but empty one (RFC 9111 §4.1: an absent field
// only matches an absent field), so distinct inputs never give the same key.
// The layout, per name, is
//
//	<len(name)> ":" name ( "-" / "=" <len(value)> ":" value )
//
// with decimal lengths. Key makes one allocation (the result) and returns ""
// when names is empty.
func Key(names []string, req http.Header) string {
	if len(names) == 0 {
		return ""
	}
	// Remember lookups and normalised lengths for the usual few names.
	type field struct {
		lines []string
		n     int
		ok    bool
	}
	var stack [8]field
	var ones [8][1]string // normalised values of stack's fields
	size := 0
	for i, name := range names {
		size += decLen(len(name)) + 2 + len(name)
		lines, ok := selecting(req, name, &ones[min(i, len(ones)-1)])
		n := 0
		if ok {
			n = normalize(nil, lines)
			size += decLen(n) + 1 + n
		}
		if i < len(stack) {
			stack[i] = field{lines, n, ok}
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i, name := range names {
		var f field
		if i < len(stack) {
			f = stack[i]
		} else {
			var one [1]string
			f.lines, f.ok = selecting(req, name, &one)
			if f.ok {
				f.n = normalize(nil, f.lines)
			}
		}
		writeDec(&b, len(name))
		b.WriteByte(':')
		b.WriteString(name)
		if !f.ok {
			b.WriteByte('-')
			continue
		}
		b.WriteByte('=')
		writeDec(&b, f.n)
		b.WriteByte(':')
		normalize(&b, f.lines)
	}
	return b.String()
}

// Merge returns the Vary field value (members joined by ", ") that combines
// the Vary field lines of h with the extra field names, as a cache-wide or
// per-route option that adds selecting fields. Existing members keep their
// order and spelling; extra names follow in order. Members are trimmed, empty
// ones dropped, and a name already present (compared case-insensitively, as
// field names are; RFC 9110 §5.1) is not repeated. An existing "*" is kept,
// but "*" in extra is ignored: a proxy MUST NOT generate "*" (RFC 9110
// §12.5.5). Merge returns "" when there is nothing to list.
func Merge(h http.Header, extra []string) string {
	var stack [16]string
	members := stack[:0]
	add := func(m string) {
		for _, have := range members {
			if strings.EqualFold(have, m) {
				return
			}
		}
		members = append(members, m)
	}
	for m := range httpsyntax.ListElements(h["Vary"]) {
		add(m)
	}
	for _, e := range extra {
		e = httpsyntax.TrimOWS(e)
		if e == "" || e == "*" {
			continue
		}
		add(e)
	}
	switch len(members) {
	case 0:
		return ""
	case 1:
		return members[0]
	}
	size := 2 * (len(members) - 1)
	for _, m := range members {
		size += len(m)
	}
	var b strings.Builder
	b.Grow(size)
	for i, m := range members {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m)
	}
	return b.String()
}

// lookup returns the field lines of req for the lowercase field name name,
// found under its canonical key (built on the stack, so without allocating)
// or, failing that, under name itself.
func lookup(req http.Header, name string) ([]string, bool) {
	if len(req) == 0 {
		return nil, false
	}
	var buf [64]byte
	if len(name) <= len(buf) && httpsyntax.IsToken(name) {
		k := buf[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper {
				c = upperASCII(c)
			} else {
				c = lower(c)
			}
			k[i] = c
			upper = c == '-'
		}
		if v, ok := req[string(k)]; ok {
			return v, true
		}
	} else if v, ok := req[http.CanonicalHeaderKey(name)]; ok {
		return v, true
	}
	v, ok := req[name]
	return v, ok
}

// normalize writes to b (when b is not nil) the members of all lines, each
// trimmed of OWS, joined by ",", and returns the length of that text. Commas
// inside quoted strings (RFC 9110 §5.6.4, with quoted-pairs) do not separate
// members; an unterminated quoted string runs to the end of its line.
// normalize splits the lines itself, not with httpsyntax.ListElements, which
// drops empty members and splits at every comma.
func normalize(b *strings.Builder, lines []string) int {
	n := 0
	for i, line := range lines {
		if i > 0 {
			n++
			if b != nil {
				b.WriteByte(',')
			}
		}
		if strings.IndexByte(line, '"') < 0 {
			// Fast path: no quoted strings, so every comma separates.
			for {
				j := strings.IndexByte(line, ',')
				if j < 0 {
					break
				}
				m := httpsyntax.TrimOWS(line[:j])
				n += len(m) + 1
				if b != nil {
					b.WriteString(m)
					b.WriteByte(',')
				}
				line = line[j+1:]
			}
			m := httpsyntax.TrimOWS(line)
			n += len(m)
			if b != nil {
				b.WriteString(m)
			}
			continue
		}
		start, in := 0, false
		for j := 0; j < len(line); j++ {
			switch line[j] {
			case '"':
				in = !in
			case '\\':
				if in {
					j++
				}
			case ',':
				if !in {
					m := httpsyntax.TrimOWS(line[start:j])
					n += len(m) + 1
					if b != nil {
						b.WriteString(m)
						b.WriteByte(',')
					}
					start = j + 1
				}
			}
		}
		if start < len(line) {
			m := httpsyntax.TrimOWS(line[start:])
			n += len(m)
			if b != nil {
				b.WriteString(m)
			}
		}
	}
	return n
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// decLen is the number of decimal digits of n >= 0.
func decLen(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// writeDec writes n >= 0 in decimal.
func writeDec(b *strings.Builder, n int) {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	b.Write(buf[i:])
}

// selecting returns the request's field lines for name as the key compares
// them. Accept-Encoding and Accept-Language list members whose order carries
// no meaning (preference is by qvalue, RFC 9110 §12.4.2) and whose codings
// and language tags are case-insensitive (§8.4.1, §8.5.1): their members are
// lowercased and sorted, so "en, de" and "De, EN" select the same variant
// (RFC 9111 §4.1 lets a cache normalise this way). The result is written to
// one, which the caller provides, so that only the joined value allocates.
func selecting(req http.Header, name string, one *[1]string) ([]string, bool) {
	lines, ok := lookup(req, name)
	if !ok || (name != "accept-encoding" && name != "accept-language") {
		return lines, ok
	}
	var buf [16]string
	members := buf[:0]
	for _, line := range lines {
		// Empty members are kept, as normalize keeps them, so not
		// httpsyntax.ListElements.
		for m := range strings.SplitSeq(line, ",") {
			members = append(members, httpsyntax.TrimOWS(m))
		}
	}
	size := len(members)
	for i, m := range members {
		members[i] = strings.ToLower(m) // no allocation unless m has upper case
		size += len(m)
	}
	slices.Sort(members)
	var b strings.Builder
	b.Grow(size)
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m)
	}
	one[0] = b.String()
	return one[:], true
}
