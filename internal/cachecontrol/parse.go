package cachecontrol

import "github.com/larder-cache/larder/internal/httpsyntax"

// ccState carries what parsing one Cache-Control field needs across its lines.
type ccState struct {
	d                  Directives
	seen               [numDirectives]bool // delta directives: first occurrence wins
	noCacheUnqualified bool
	privateUnqualified bool
}

// parseCacheControl parses the lines of a Cache-Control field
// (RFC 9111 §5.2: Cache-Control = #cache-directive,
// cache-directive = token [ "=" ( token / quoted-string ) ]).
// Lines combine as one list (RFC 9110 §5.3).
func parseCacheControl(lines []string) Directives {
	var st ccState
	st.d.Present = true
	for _, line := range lines {
		st.parseLine(line)
	}
	return st.d
}

// parseLine parses the elements of one line. It tokenizes the line itself
// rather than using httpsyntax.ListElements: an argument may be a
// quoted-string holding commas (no-cache="a, b", RFC 9110 §5.6.4), and a
// malformed element must be detected and skipped whole, quoted-strings
// included.
func (st *ccState) parseLine(s string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == ',' { // OWS and empty list elements (RFC 9110 §5.6.1.2)
			i++
			continue
		}
		start := i
		for i < len(s) && httpsyntax.IsTchar(s[i]) {
			i++
		}
		name := s[start:i]
		if name == "" {
			// Not a directive: skip the element, honouring quoted-strings.
			i = skipElement(s, i)
			continue
		}
		var (
			val       string
			hasVal    bool
			quoted    bool
			malformed bool
		)
		if i < len(s) && s[i] == '=' {
			i++
			hasVal = true
			if i < len(s) && s[i] == '"' {
				end, ok := scanQuoted(s, i)
				if ok {
					val, quoted = s[i+1:end-1], true
				} else {
					malformed = true
				}
				i = end
			} else {
				vs := i
				for i < len(s) && httpsyntax.IsTchar(s[i]) {
					i++
				}
				val = s[vs:i]
				if val == "" { // "max-age=" or "max-age= 5"
					malformed = true
				}
			}
		}
		// The element must end here: OWS then "," or the end of the line.
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j < len(s) && s[j] != ',' { // e.g. "max-age =5", "max-age=5 x"
			malformed = true
			j = skipElement(s, j)
		}
		i = j
		st.apply(lookup(name), val, hasVal, quoted, malformed)
	}
}

// scanQuoted scans a quoted-string starting at s[i] == '"' (RFC 9110 §5.6.4)
// and returns the index just after the closing quote. If the string is not
// terminated it returns len(s), false.
func scanQuoted(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return len(s), false
}

// skipElement returns the index of the next list separator at or after i,
// skipping over quoted-strings, or len(s).
func skipElement(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ',':
			return i
		case '"':
			i, _ = scanQuoted(s, i)
		default:
			i++
		}
	}
	return i
}

// apply records one directive. See the package documentation for the
// handling of duplicates and malformed elements.
func (st *ccState) apply(id directive, val string, hasVal, quoted, malformed bool) {
	d := &st.d
	switch id {
	case dirUnknown:
		// RFC 9111 §5.2.3: unrecognized directives are ignored.
	case dirMaxAge, dirSMaxAge, dirMinFresh, dirStaleWhileRevalidate, dirStaleIfError:
		if st.seen[id] {
			return // RFC 9111 §4.2.1: first occurrence is used
		}
		st.seen[id] = true
		dl := d.delta(id)
		if malformed || !hasVal {
			dl.Invalid = true
			return
		}
		if n, ok := parseDeltaSeconds(val, quoted); ok {
			dl.Seconds, dl.Set = n, true
		} else {
			dl.Invalid = true
		}
	case dirMaxStale:
		if st.seen[id] {
			return
		}
		st.seen[id] = true
		switch {
		case malformed:
			d.MaxStale.Invalid = true
		case !hasVal:
			d.MaxStaleAny = true // RFC 9111 §5.2.1.2: any staleness
		default:
			if n, ok := parseDeltaSeconds(val, quoted); ok {
				d.MaxStale.Seconds, d.MaxStale.Set = n, true
			} else {
				d.MaxStale.Invalid = true
			}
		}
	case dirNoCache:
		d.NoCache = true
		if st.noCacheUnqualified {
			return
		}
		valid := 0
		if !malformed && hasVal {
			d.NoCacheFields, valid = appendFieldNames(d.NoCacheFields, val)
		}
		if valid == 0 { // unqualified, malformed or an empty list
			st.noCacheUnqualified = true
			d.NoCacheFields = nil
		}
	case dirPrivate:
		d.Private = true
		if st.privateUnqualified {
			return
		}
		valid := 0
		if !malformed && hasVal {
			d.PrivateFields, valid = appendFieldNames(d.PrivateFields, val)
		}
		if valid == 0 {
			st.privateUnqualified = true
			d.PrivateFields = nil
		}
	default:
		// Directives without an argument (RFC 9111 §5.2: "no argument is
		// defined (nor allowed) unless stated otherwise").
		if restrictive(id) || (!malformed && !hasVal) {
			*d.flag(id) = true
		}
	}
}
