// Package httpsyntax holds the generic syntax of HTTP field values shared by
// the parsers of this module (RFC 9110 §5.6): tokens (§5.6.2), optional
// whitespace (§5.6.3) and comma-separated lists (§5.6.1).
//
// Every function is pure, safe for concurrent use, never panics and does not
// allocate.
package httpsyntax

import (
	"iter"
	"strings"
)

// IsTchar reports whether c is a tchar (RFC 9110 §5.6.2):
//
//	tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//	        "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
//
// that is, any VCHAR except the delimiters DQUOTE and "(),/:;<=>?@[\]{}".
func IsTchar(c byte) bool { return tchar[c] }

// IsToken reports whether s is a token (RFC 9110 §5.6.2: token = 1*tchar),
// the syntax of field names (§5.1), methods (§9.1), directive names and many
// other protocol elements. The empty string is not a token.
func IsToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return s != ""
}

// tchar is indexed by any byte, so lookups need no bounds check; bytes from
// 0x80 (obs-text) are not tchar.
var tchar = [256]bool{
	'!': true, '#': true, '$': true, '%': true, '&': true, '\'': true, '*': true,
	'+': true, '-': true, '.': true, '^': true, '_': true, '`': true, '|': true, '~': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true,
	'J': true, 'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true, 'Q': true, 'R': true,
	'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true,
	'j': true, 'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true, 'q': true, 'r': true,
	's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
}

// TrimOWS returns s without leading and trailing optional whitespace
// (RFC 9110 §5.6.3: OWS = *( SP / HTAB )). Other white space, such as CR, LF
// or Unicode spaces, is kept: it is not OWS. The result is a substring of s.
func TrimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// ListElements returns an iterator over the elements of the comma-separated
// list (RFC 9110 §5.6.1, the #rule) formed by the field lines of one field,
// combined as one list (§5.3). Each element is trimmed of OWS (§5.6.3) and
// empty elements are skipped, as §5.6.1.2 requires of recipients, so
//
//	", a ,, b", "c"
//
// yields "a", "b" and "c". Elements are substrings of the lines, and neither
// ListElements nor the iteration allocates when the caller ranges over the
// result directly (for e := range ListElements(lines)).
//
// Every comma separates elements: ListElements does not recognise
// quoted-strings (§5.6.4) or any other construct that may hold a comma. It
// suits lists whose elements cannot contain one, such as field names
// (Connection, Vary) or numbers (Age). A list whose elements may carry a
// quoted-string, such as Cache-Control's no-cache="a, b", needs a tokenizer
// that knows the element grammar.
func ListElements(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		// The compiler inlines this function, and the caller's loop body
		// into it, at each range over ListElements. Keep a single yield:
		// with two, the body is inlined twice, which cost an allocation
		// more where the body appends to a returned slice
		// (cachecontrol.appendFieldNames, BenchmarkParseQualified).
		for _, line := range lines {
			for {
				i := strings.IndexByte(line, ',')
				e := line
				if i >= 0 {
					e = line[:i]
				}
				if e = TrimOWS(e); e != "" && !yield(e) {
					return
				}
				if i < 0 {
					break
				}
				line = line[i+1:]
			}
		}
	}
}
