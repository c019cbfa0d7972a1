// Package conditional implements entity-tag parsing and comparison
// (RFC 9110 §8.8.3) and the evaluation of conditional request preconditions
// (RFC 9110 §13, RFC 9111 §4.3.2) against a stored response.
//
// Every function is pure, safe for concurrent use, and never panics. Header
// maps are read with canonical keys (as net/http produces them); ETag is also
// looked up under the common non-canonical spelling "ETag".
package conditional

import "github.com/larder-cache/larder/internal/httpsyntax"

// ETag is an entity tag (RFC 9110 §8.8.3). Opaque keeps the surrounding double
// quotes, e.g. `"xyz"`; Weak records the case-sensitive "W/" prefix.
//
// The zero ETag is not a valid entity tag and matches nothing.
type ETag struct {
	Weak   bool
	Opaque string
}

// ParseETag parses one entity-tag (RFC 9110 §8.8.3):
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// Leading and trailing optional whitespace (SP, HTAB) is ignored; anything else
// outside the grammar is rejected: a lowercase "w/", unquoted tags, "W\" and
// whitespace between "W/" and the quote all fail. The returned Opaque is a
// substring of s, so ParseETag does not allocate.
func ParseETag(s string) (ETag, bool) {
	s = httpsyntax.TrimOWS(s)
	weak := false
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		weak = true
		s = s[2:]
	}
	if !validOpaque(s) {
		return ETag{}, false
	}
	return ETag{Weak: weak, Opaque: s}, true
}

// String returns the entity-tag in its field-value form: Opaque, prefixed with
// "W/" when the tag is weak (RFC 9110 §8.8.3).
func (e ETag) String() string {
	if e.Weak {
		return "W/" + e.Opaque
	}
	return e.Opaque
}

// StrongMatch reports whether a and b are equivalent under the strong
// comparison function of RFC 9110 §8.8.3.2: neither is weak and their
// opaque-tags match character by character. Invalid (e.g. zero) tags never
// match.
func StrongMatch(a, b ETag) bool {
	return !a.Weak && !b.Weak && a.Opaque == b.Opaque && validOpaque(a.Opaque)
}

// WeakMatch reports whether a and b are equivalent under the weak comparison
// function of RFC 9110 §8.8.3.2: their opaque-tags match character by
// character, whether or not either is weak. Invalid (e.g. zero) tags never
// match.
func WeakMatch(a, b ETag) bool {
	return a.Opaque == b.Opaque && validOpaque(a.Opaque)
}

// MatchList reports whether the field lines of an If-Match or If-None-Match
// request header (RFC 9110 §13.1.1, §13.1.2) match the current entity tag
// etag (the raw ETag field value of the selected representation).
//
// weak selects the comparison function of RFC 9110 §8.8.3.2: false for the
// strong comparison that If-Match requires, true for the weak comparison that
// If-None-Match requires. exists tells whether a current representation
// exists; it is what the wildcard matches.
//
// Parsing rules:
//   - The field lines are combined as one list (RFC 9110 §5.3). Members are
//     separated by commas outside double quotes (an opaque-tag may itself
//     contain a comma), trimmed of OWS, and empty members are ignored
//     (RFC 9110 §5.6.1.2).
//   - The field value is the wildcard only when its single non-empty member is
//     "*". Then the result is exists. A "*" mixed with other members
//     (including a second "*") is syntactically invalid (RFC 9110 §13.1.1,
//     §13.1.2) and is skipped like any other malformed member.
//   - Malformed members are skipped; the remaining entity-tags are compared.
//   - A field with no valid member, or an etag that is absent or not a valid
//     entity-tag, yields false. This is the "Otherwise" step of the evaluation
//     algorithms in RFC 9110 §13.1.1 and §13.1.2: for If-Match the condition is
//     then false (412), for If-None-Match it is then true (the request
//     proceeds). Both outcomes are the conservative ones: no lost update, and
//     no 304 the client cannot justify.
//
// MatchList does not allocate.
func MatchList(lines []string, etag string, weak bool, exists bool) bool {
	if isWildcard(lines) {
		return exists
	}
	cur, ok := ParseETag(etag)
	if !ok {
		return false
	}
	if !weak && cur.Weak {
		// A weak current tag never passes the strong comparison.
		return false
	}
	for _, line := range lines {
		for i := 0; i < len(line); {
			var m string
			m, i = nextMember(line, i)
			t, ok := ParseETag(m)
			if !ok {
				continue
			}
			if weak {
				if t.Opaque == cur.Opaque {
					return true
				}
			} else if !t.Weak && t.Opaque == cur.Opaque {
				return true
			}
		}
	}
	return false
}

// isWildcard reports whether the combined field value is exactly "*" once OWS
// and empty list members are disregarded (RFC 9110 §13.1.1, §13.1.2).
func isWildcard(lines []string) bool {
	star := false
	for _, line := range lines {
		for i := 0; i < len(line); {
			var m string
			m, i = nextMember(line, i)
			m = httpsyntax.TrimOWS(m)
			switch {
			case m == "":
			case m == "*" && !star:
				star = true
			default:
				return false
			}
		}
	}
	return star
}

// nextMember returns the list member of line starting at i (untrimmed) and the
// index just past its terminating comma. Commas inside double quotes do not
// terminate a member; an unterminated quote runs to the end of the line.
// An opaque-tag is not a quoted-string: a backslash in it is an ordinary etagc
// (RFC 9110 §8.8.3), not a quoted-pair, and a comma in it does not separate,
// so neither httpsyntax.ListElements nor a quoted-string scanner fits.
func nextMember(line string, i int) (string, int) {
	start := i
	inQuote := false
	for ; i < len(line); i++ {
		switch line[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				return line[start:i], i + 1
			}
		}
	}
	return line[start:], len(line)
}

// validOpaque reports whether s is an opaque-tag (RFC 9110 §8.8.3).
func validOpaque(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if !isEtagc(s[i]) {
			return false
		}
	}
	return true
}

// isEtagc reports whether c is an etagc: %x21 / %x23-7E / obs-text
// (RFC 9110 §8.8.3, obs-text = %x80-FF per §5.5).
func isEtagc(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80
}
