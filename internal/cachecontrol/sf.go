package cachecontrol

import (
	"strings"

	"github.com/larder-cache/larder/internal/httpsyntax"
)

// Targeted fields (RFC 9213 §2.1) are Structured Field Dictionaries
// (RFC 8941 §3.2, §4.2.2). This file holds a small, allocation-free
// Dictionary parser that keeps only the members naming known directives.
//
// Choices (each covered by a test):
//   - Parsing follows RFC 8941 §4.2 strictly, including the bare item types
//     added by RFC 9651 (Date "@", Display String "%"), with one leniency:
//     upper-case letters are accepted in member and parameter keys and folded,
//     so "MaX-aGe=60" works as in Cache-Control (tests/cdn-cache-control.mjs
//     cdn-max-age-case-insensitive expects it to be honoured).
//   - Whitespace around "=" is a parse error (RFC 8941 §4.2.2), so the whole
//     field is ignored (cdn-max-age-space-before-equals / -after-equals).
//   - Duplicate keys: the last value wins (RFC 8941 §4.2.2 overwrites).
//   - Values violating a directive's inferred type (RFC 9213 §2.1: max-age
//     must be a non-negative Integer, boolean directives Booleans, no-cache
//     and private a Boolean or a String; a Token is accepted as a one-name
//     list) make the whole field invalid, so it is ignored and the cache
//     falls back to Cache-Control (tests/cdn-cache-control.mjs
//     cdn-cc-invalid-sh-type-wrong: max-age="10000" is ignored). A Boolean
//     false (?0) means the directive is absent. Parameters are ignored.
//   - Integers (at most 15 digits) above MaxDelta clamp to MaxDelta.

type sfKind uint8

const (
	sfNone sfKind = iota
	sfBool
	sfInt
	sfDecimal
	sfString
	sfToken
	sfBinary
	sfDate
	sfDisplay
	sfInnerList
)

type sfItem struct {
	kind sfKind
	b    bool   // sfBool
	n    int64  // sfInt, sfDate
	s    string // sfString (still escaped), sfToken
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isUCAlpha(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }

// key parses a key (RFC 8941 §4.2.3.3), leniently accepting upper case.
func (p *sfParser) key() (string, bool) {
	start := p.i
	if p.eof() {
		return "", false
	}
	c := p.s[p.i]
	if !isLCAlpha(c) && !isUCAlpha(c) && c != '*' {
		return "", false
	}
	p.i++
	for p.i < len(p.s) {
		c = p.s[p.i]
		if isLCAlpha(c) || isUCAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], true
}

// bareItem parses a Bare Item (RFC 8941 §4.2.3.1, RFC 9651 §4.2.3.1).
func (p *sfParser) bareItem() (sfItem, bool) {
	if p.eof() {
		return sfItem{}, false
	}
	c := p.s[p.i]
	switch {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.str()
	case c == '*' || isLCAlpha(c) || isUCAlpha(c):
		return p.token()
	case c == ':':
		return p.binary()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			it := sfItem{kind: sfBool, b: p.s[p.i+1] == '1'}
			p.i += 2
			return it, true
		}
		return sfItem{}, false
	case c == '@':
		p.i++
		it, ok := p.number()
		if !ok || it.kind != sfInt {
			return sfItem{}, false
		}
		it.kind = sfDate
		return it, true
	case c == '%':
		return p.display()
	}
	return sfItem{}, false
}

// number parses an Integer or Decimal (RFC 8941 §4.2.4).
func (p *sfParser) number() (sfItem, bool) {
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	if p.eof() || !isDigit(p.s[p.i]) {
		return sfItem{}, false
	}
	var n int64
	intDigits, fracDigits := 0, 0
	decimal := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isDigit(c) {
			if decimal {
				fracDigits++
			} else {
				intDigits++
				n = n*10 + int64(c-'0') // at most 15 digits: cannot overflow
			}
			p.i++
		} else if c == '.' && !decimal {
			if intDigits > 12 {
				return sfItem{}, false
			}
			decimal = true
			p.i++
		} else {
			break
		}
		if !decimal && intDigits > 15 {
			return sfItem{}, false
		}
		if decimal && fracDigits > 3 {
			return sfItem{}, false
		}
	}
	if decimal {
		if fracDigits == 0 {
			return sfItem{}, false
		}
		return sfItem{kind: sfDecimal}, true
	}
	if neg {
		n = -n
	}
	return sfItem{kind: sfInt, n: n}, true
}

// str parses a String (RFC 8941 §4.2.5); the result keeps its escapes.
func (p *sfParser) str() (sfItem, bool) {
	p.i++ // opening DQUOTE
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\':
			if p.i+1 >= len(p.s) || (p.s[p.i+1] != '"' && p.s[p.i+1] != '\\') {
				return sfItem{}, false
			}
			p.i += 2
		case c == '"':
			it := sfItem{kind: sfString, s: p.s[start:p.i]}
			p.i++
			return it, true
		case c < 0x20 || c > 0x7e:
			return sfItem{}, false
		default:
			p.i++
		}
	}
	return sfItem{}, false
}

// token parses a Token (RFC 8941 §4.2.6).
func (p *sfParser) token() (sfItem, bool) {
	start := p.i
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		if httpsyntax.IsTchar(c) || c == ':' || c == '/' {
			p.i++
			continue
		}
		break
	}
	return sfItem{kind: sfToken, s: p.s[start:p.i]}, true
}

// binary parses a Byte Sequence (RFC 8941 §4.2.7).
func (p *sfParser) binary() (sfItem, bool) {
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == ':':
			p.i++
			return sfItem{kind: sfBinary}, true
		case isLCAlpha(c) || isUCAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=':
			p.i++
		default:
			return sfItem{}, false
		}
	}
	return sfItem{}, false
}

// display parses a Display String (RFC 9651 §4.2.10), checking its syntax
// (not the UTF-8 validity of the decoded bytes).
func (p *sfParser) display() (sfItem, bool) {
	if p.i+1 >= len(p.s) || p.s[p.i+1] != '"' {
		return sfItem{}, false
	}
	p.i += 2
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return sfItem{kind: sfDisplay}, true
		case c == '%':
			if p.i+2 >= len(p.s) || !isLowerHex(p.s[p.i+1]) || !isLowerHex(p.s[p.i+2]) {
				return sfItem{}, false
			}
			p.i += 3
		case c < 0x20 || c > 0x7e:
			return sfItem{}, false
		default:
			p.i++
		}
	}
	return sfItem{}, false
}

func isLowerHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') }

// params parses and discards Parameters (RFC 8941 §4.2.3.2); RFC 9213 §2.1
// says parameters on cache directives are ignored.
func (p *sfParser) params() bool {
	for p.i < len(p.s) && p.s[p.i] == ';' {
		p.i++
		p.skipSP()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			if _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

// innerList parses an Inner List (RFC 8941 §4.2.1.2).
func (p *sfParser) innerList() bool {
	p.i++ // "("
	for p.i < len(p.s) {
		p.skipSP()
		if p.eof() {
			return false
		}
		if p.s[p.i] == ')' {
			p.i++
			return p.params()
		}
		if _, ok := p.bareItem(); !ok {
			return false
		}
		if !p.params() {
			return false
		}
		if p.eof() || (p.s[p.i] != ' ' && p.s[p.i] != ')') {
			return false
		}
	}
	return false
}

// parseTargeted parses the lines of a targeted field (RFC 9213 §2.1). It
// returns false when the field is empty or is not a valid Dictionary, or when
// a known directive has a value of the wrong type: the field is then to be
// ignored.
func parseTargeted(lines []string) (Directives, bool) {
	s := lines[0]
	if len(lines) > 1 {
		s = strings.Join(lines, ", ") // RFC 8941 §4.2: combine field lines
	}
	// RFC 8941 §4.2: discard leading and trailing SP.
	for s != "" && s[0] == ' ' {
		s = s[1:]
	}
	for s != "" && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	if s == "" {
		return Directives{}, false // RFC 9213 §2.1: empty field is ignored
	}
	var (
		slots [numDirectives]sfItem
		p     = sfParser{s: s}
	)
	for {
		k, ok := p.key()
		if !ok {
			return Directives{}, false
		}
		var it sfItem
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			if p.i < len(p.s) && p.s[p.i] == '(' {
				if !p.innerList() {
					return Directives{}, false
				}
				it = sfItem{kind: sfInnerList}
			} else {
				if it, ok = p.bareItem(); !ok {
					return Directives{}, false
				}
				if !p.params() {
					return Directives{}, false
				}
			}
		} else {
			it = sfItem{kind: sfBool, b: true}
			if !p.params() {
				return Directives{}, false
			}
		}
		if id := lookup(k); id != dirUnknown {
			slots[id] = it // last value wins
		}
		p.skipOWS()
		if p.eof() {
			break
		}
		if p.s[p.i] != ',' {
			return Directives{}, false
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return Directives{}, false // trailing comma
		}
	}
	return fromSlots(&slots)
}

// fromSlots converts the parsed members to Directives, enforcing the value
// types inferred by RFC 9213 §2.1.
func fromSlots(slots *[numDirectives]sfItem) (Directives, bool) {
	d := Directives{Present: true, Targeted: true}
	for id := dirUnknown + 1; id < numDirectives; id++ {
		it := slots[id]
		if it.kind == sfNone {
			continue
		}
		switch id {
		case dirMaxAge, dirSMaxAge, dirMinFresh, dirStaleWhileRevalidate, dirStaleIfError:
			if it.kind != sfInt || it.n < 0 {
				return Directives{}, false
			}
			dl := d.delta(id)
			dl.Seconds, dl.Set = min(it.n, MaxDelta), true
		case dirMaxStale:
			switch {
			case it.kind == sfBool:
				d.MaxStaleAny = it.b
			case it.kind == sfInt && it.n >= 0:
				d.MaxStale.Seconds, d.MaxStale.Set = min(it.n, MaxDelta), true
			default:
				return Directives{}, false
			}
		case dirNoCache, dirPrivate:
			var fields []string
			switch it.kind {
			case sfBool:
				if !it.b {
					continue
				}
			case sfString, sfToken:
				fields, _ = appendFieldNames(nil, it.s)
			default:
				return Directives{}, false
			}
			if id == dirNoCache {
				d.NoCache, d.NoCacheFields = true, fields
			} else {
				d.Private, d.PrivateFields = true, fields
			}
		default:
			if it.kind != sfBool {
				return Directives{}, false
			}
			*d.flag(id) = it.b
		}
	}
	return d, true
}
