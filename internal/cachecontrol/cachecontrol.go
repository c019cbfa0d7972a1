// Package cachecontrol parses the Cache-Control header field (RFC 9111 §5.2),
// its RFC 5861 extensions (stale-while-revalidate, stale-if-error), the
// request Pragma field (RFC 9111 §5.4) and targeted cache-control fields such
// as CDN-Cache-Control (RFC 9213).
//
// The parsers are pure, never panic, and do not allocate for typical values
// (allocation only happens for qualified no-cache / private field lists, for
// multi-line targeted fields, and for non-canonical field names).
//
// Error handling choices where the RFCs leave room (each is covered by a test):
//
//   - Directive names are matched case-insensitively (RFC 9111 §5.2).
//   - Arguments may be a token or a quoted-string for every directive
//     (RFC 9111 §5.2: "recipients ought to accept both forms"), so
//     max-age="60" is 60 seconds.
//   - The Cache-Control grammar allows no whitespace around "=" (RFC 9111
//     §5.2, cache-directive = token [ "=" ( token / quoted-string ) ]). An
//     element such as "max-age =60" or "max-age= 60" is malformed; see
//     "malformed elements" below. The cache-tests suite (tests/cc-parse.mjs
//     freshness-max-age-space-before-equals / -space-after-equals and
//     tests/cc-freshness.mjs) expects such a response not to be reused.
//   - Duplicate delta-seconds directives: the first occurrence is used, across
//     all field lines (RFC 9111 §4.2.1 allows "first occurrence" or "stale").
//     tests/cc-parse.mjs (freshness-max-age-two-fresh-stale-*) expects the
//     first of "max-age=1800, max-age=1" to be honoured; no test in the suite
//     expects duplicates to make a response stale.
//   - delta-seconds is 1*DIGIT (RFC 9111 §1.2.2): leading zeros are accepted
//     ("003600", tests/cc-parse.mjs freshness-max-age-leading-zero); signs,
//     decimals ("3600.0"), letters and single quotes make the value invalid
//     (Delta.Invalid), which freshness treats as stale (RFC 9111 §4.2.1,
//     tests/cc-freshness.mjs freshness-max-age-a100/-100a/-negative/
//     -single-quoted). Values above 2147483648 are clamped to 2147483648
//     (RFC 9111 §1.2.2).
//   - Malformed elements (whitespace around "=", missing argument after "=",
//     garbage after an argument, an unterminated quoted-string, or an argument
//     on a directive that takes none) are read in the most restrictive way
//     (RFC 9111 §4.2.1 "the most restrictive directive should be honored"):
//     delta-seconds directives become Invalid; no-store, no-cache, private,
//     must-revalidate, proxy-revalidate and no-transform still apply (no-cache
//     and private as their unqualified form); permissive directives (public,
//     immutable, must-understand, only-if-cached, max-stale) are ignored.
//   - Unknown directives are ignored (RFC 9111 §5.2.3), including any
//     directive names appearing inside their quoted arguments
//     (tests/cc-parse.mjs freshness-max-age-ignore-quoted*).
//   - Empty list elements are ignored (RFC 9110 §5.6.1.2).
//   - A qualified no-cache / private whose argument lists no valid field name
//     (e.g. no-cache="") is treated as unqualified. If both the qualified and
//     unqualified forms occur, the unqualified form wins (most restrictive).
//     Field lists of repeated qualified directives are merged.
package cachecontrol

import (
	"net/http"
	"strings"
	"time"

	"github.com/larder-cache/larder/internal/httpsyntax"
)

// MaxDelta is the value a delta-seconds argument is clamped to on overflow
// (RFC 9111 §1.2.2).
const MaxDelta = 2147483648

// Delta is a delta-seconds directive argument (RFC 9111 §1.2.2).
type Delta struct {
	// Seconds is the value, clamped to MaxDelta (2147483648) on overflow
	// (RFC 9111 §1.2.2). Zero unless Set.
	Seconds int64
	// Set reports that the directive is present with a valid value.
	Set bool
	// Invalid reports that the directive is present but its value is missing
	// or invalid (e.g. max-age=abc, max-age=-1, max-age=1.5, max-age =5).
	// Set and Invalid are never both true.
	Invalid bool
}

// Duration returns the value as a time.Duration, or 0 when the directive is
// not Set. It cannot overflow: MaxDelta seconds fit in a time.Duration.
func (d Delta) Duration() time.Duration {
	if !d.Set {
		return 0
	}
	return time.Duration(d.Seconds) * time.Second
}

// Present reports whether the directive occurred at all (valid or not).
func (d Delta) Present() bool { return d.Set || d.Invalid }

// Directives holds the parsed cache directives of one message
// (RFC 9111 §5.2.1 request directives, §5.2.2 response directives,
// RFC 5861 extensions).
type Directives struct {
	// Delta-seconds directives. MaxAge (§5.2.1.1, §5.2.2.1), SMaxAge
	// (§5.2.2.10), MinFresh (§5.2.1.3), StaleWhileRevalidate (RFC 5861 §3),
	// StaleIfError (RFC 5861 §4).
	MaxAge, SMaxAge, MinFresh, StaleWhileRevalidate, StaleIfError Delta
	// MaxStale is the request max-stale directive (§5.2.1.2) with a value;
	// MaxStaleAny is true when it was given without a value.
	MaxStale    Delta
	MaxStaleAny bool
	// NoCache is true for no-cache (§5.2.1.4, §5.2.2.4). It is unqualified
	// when NoCacheFields is empty; otherwise NoCacheFields lists the canonical
	// names (http.CanonicalHeaderKey) of the qualified form.
	NoCache       bool
	NoCacheFields []string
	// Private is true for private (§5.2.2.7); unqualified when PrivateFields
	// is empty, otherwise PrivateFields lists the canonical field names.
	Private       bool
	PrivateFields []string
	// Boolean directives: no-store (§5.2.1.5, §5.2.2.5), no-transform
	// (§5.2.1.6, §5.2.2.6), only-if-cached (§5.2.1.7), must-revalidate
	// (§5.2.2.2), proxy-revalidate (§5.2.2.8), must-understand (§5.2.2.3),
	// public (§5.2.2.9), immutable (RFC 8246).
	NoStore, NoTransform, OnlyIfCached, MustRevalidate, ProxyRevalidate, MustUnderstand, Public, Immutable bool
	// Present reports that at least one line of the parsed field was present
	// (even if empty or unparseable).
	Present bool
	// Targeted reports that the directives come from a valid, non-empty
	// targeted field (RFC 9213 §2). Such directives replace Cache-Control and
	// the Expires header field must be ignored (RFC 9213 §2.2).
	Targeted bool
}

// NoCacheUnqualified reports whether the unqualified no-cache directive is
// present (RFC 9111 §5.2.2.4): the whole response needs validation.
func (d Directives) NoCacheUnqualified() bool { return d.NoCache && len(d.NoCacheFields) == 0 }

// PrivateUnqualified reports whether the unqualified private directive is
// present (RFC 9111 §5.2.2.7): a shared cache must not store the response.
func (d Directives) PrivateUnqualified() bool { return d.Private && len(d.PrivateFields) == 0 }

// fieldLines returns the lines of field in h without allocating when field is
// given in canonical form (or in the exact form used as the map key).
func fieldLines(h http.Header, field string) []string {
	if h == nil {
		return nil
	}
	if vs, ok := h[field]; ok {
		return vs
	}
	if c := http.CanonicalHeaderKey(field); c != field {
		return h[c]
	}
	return nil
}

// Parse parses every line of the named field in h. For Cache-Control it uses
// the Cache-Control grammar (RFC 9111 §5.2); any other field name is parsed as
// a targeted field (RFC 9213 §2.1): a Structured Fields Dictionary. A targeted
// field that is empty or fails to parse is ignored (RFC 9213 §2.1): Parse then
// returns Directives with only Present set, and Targeted false.
func Parse(h http.Header, field string) Directives {
	lines := fieldLines(h, field)
	if len(lines) == 0 {
		return Directives{}
	}
	if strings.EqualFold(field, "Cache-Control") {
		return parseCacheControl(lines)
	}
	d, ok := parseTargeted(lines)
	if !ok {
		return Directives{Present: true}
	}
	return d
}

// ParseRequest parses a request's Cache-Control field (RFC 9111 §5.2.1). When
// no Cache-Control line is present, a Pragma field containing no-cache is
// honoured as Cache-Control: no-cache (RFC 9111 §5.4 deprecates Pragma; this
// is the RFC 7234 §5.4 behaviour). Present stays false in that case.
func ParseRequest(h http.Header) Directives {
	// Canonical names, looked up directly: this runs on every request.
	return ParseRequestLines(h["Cache-Control"], h["Pragma"])
}

// ParseRequestLines is ParseRequest over the lines of the request's
// Cache-Control and Pragma fields, for a caller that has them at hand.
func ParseRequestLines(cacheControl, pragma []string) Directives {
	var d Directives
	if len(cacheControl) > 0 {
		d = parseCacheControl(cacheControl)
	}
	if d.Present {
		return d
	}
	if pragmaNoCache(pragma) {
		d.NoCache = true
	}
	return d
}

// ParseTargeted implements the target list of RFC 9213 §2.2: it returns the
// directives of the first field in fields (most applicable first; give names
// in canonical form to avoid allocation) that is present in h with a valid,
// non-empty value, and true. Otherwise it returns the directives of
// Cache-Control and false. Invalid or empty targeted fields are skipped.
func ParseTargeted(h http.Header, fields []string) (Directives, bool) {
	for _, f := range fields {
		lines := fieldLines(h, f)
		if len(lines) == 0 {
			continue
		}
		if d, ok := parseTargeted(lines); ok {
			return d, true
		}
	}
	return Parse(h, "Cache-Control"), false
}

// pragmaNoCache reports whether a Pragma field value list contains the
// no-cache pragma-directive (RFC 7234 §5.4: Pragma = 1#pragma-directive).
// Every comma separates, even inside an extension-pragma's quoted-string
// argument: at worst a quoted "no-cache" is honoured, the restrictive reading.
func pragmaNoCache(lines []string) bool {
	for elem := range httpsyntax.ListElements(lines) {
		// The length test skips the call for other elements. It changes no
		// result: only 8 bytes can fold to "no-cache", which has no "k" or
		// "s" (whose folds include the multi-byte U+212A and U+017F).
		if len(elem) == len("no-cache") && strings.EqualFold(elem, "no-cache") {
			return true
		}
	}
	return false
}

// directive identifies a known cache directive.
type directive uint8

const (
	dirUnknown directive = iota
	dirMaxAge
	dirSMaxAge
	dirMinFresh
	dirStaleWhileRevalidate
	dirStaleIfError
	dirMaxStale
	dirNoCache
	dirPrivate
	dirNoStore
	dirNoTransform
	dirMustRevalidate
	dirProxyRevalidate
	dirPublic
	dirImmutable
	dirMustUnderstand
	dirOnlyIfCached
	numDirectives
)

// lookup maps a directive name, compared case-insensitively (RFC 9111 §5.2),
// to its identifier.
func lookup(name string) directive {
	switch len(name) {
	case 6:
		if strings.EqualFold(name, "public") {
			return dirPublic
		}
	case 7:
		if strings.EqualFold(name, "max-age") {
			return dirMaxAge
		}
		if strings.EqualFold(name, "private") {
			return dirPrivate
		}
	case 8:
		if strings.EqualFold(name, "no-cache") {
			return dirNoCache
		}
		if strings.EqualFold(name, "no-store") {
			return dirNoStore
		}
		if strings.EqualFold(name, "s-maxage") {
			return dirSMaxAge
		}
	case 9:
		if strings.EqualFold(name, "max-stale") {
			return dirMaxStale
		}
		if strings.EqualFold(name, "min-fresh") {
			return dirMinFresh
		}
		if strings.EqualFold(name, "immutable") {
			return dirImmutable
		}
	case 12:
		if strings.EqualFold(name, "no-transform") {
			return dirNoTransform
		}
	case 14:
		if strings.EqualFold(name, "only-if-cached") {
			return dirOnlyIfCached
		}
		if strings.EqualFold(name, "stale-if-error") {
			return dirStaleIfError
		}
	case 15:
		if strings.EqualFold(name, "must-revalidate") {
			return dirMustRevalidate
		}
		if strings.EqualFold(name, "must-understand") {
			return dirMustUnderstand
		}
	case 16:
		if strings.EqualFold(name, "proxy-revalidate") {
			return dirProxyRevalidate
		}
	case 22:
		if strings.EqualFold(name, "stale-while-revalidate") {
			return dirStaleWhileRevalidate
		}
	}
	return dirUnknown
}

// delta returns the Delta field of d for a delta-seconds directive.
func (d *Directives) delta(id directive) *Delta {
	switch id {
	case dirMaxAge:
		return &d.MaxAge
	case dirSMaxAge:
		return &d.SMaxAge
	case dirMinFresh:
		return &d.MinFresh
	case dirStaleWhileRevalidate:
		return &d.StaleWhileRevalidate
	case dirStaleIfError:
		return &d.StaleIfError
	case dirMaxStale:
		return &d.MaxStale
	}
	return nil
}

// flag returns the bool field of d for a boolean directive.
func (d *Directives) flag(id directive) *bool {
	switch id {
	case dirNoStore:
		return &d.NoStore
	case dirNoTransform:
		return &d.NoTransform
	case dirMustRevalidate:
		return &d.MustRevalidate
	case dirProxyRevalidate:
		return &d.ProxyRevalidate
	case dirPublic:
		return &d.Public
	case dirImmutable:
		return &d.Immutable
	case dirMustUnderstand:
		return &d.MustUnderstand
	case dirOnlyIfCached:
		return &d.OnlyIfCached
	}
	return nil
}

// restrictive reports whether a boolean directive only ever restricts caching,
// so that honouring it when malformed is the safe reading (RFC 9111 §4.2.1).
func restrictive(id directive) bool {
	switch id {
	case dirNoStore, dirNoTransform, dirMustRevalidate, dirProxyRevalidate:
		return true
	}
	return false
}

// parseDeltaSeconds parses delta-seconds = 1*DIGIT (RFC 9111 §1.2.2),
// clamping to MaxDelta. If quoted is true, s is the content of a
// quoted-string and quoted-pairs are unescaped (RFC 9110 §5.6.4).
func parseDeltaSeconds(s string, quoted bool) (int64, bool) {
	var n int64
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && quoted && i+1 < len(s) {
			i++
			c = s[i]
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		digits++
		if n < MaxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	if digits == 0 {
		return 0, false
	}
	if n > MaxDelta {
		n = MaxDelta
	}
	return n, true
}

// unescape replaces quoted-pairs ("\x") by the escaped octet (RFC 9110 §5.6.4).
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// appendFieldNames adds the field names of a #field-name list argument
// (RFC 9111 §5.2.2.4, §5.2.2.7) to dst in canonical form, skipping empty
// elements, invalid names and duplicates. It also returns how many valid
// names the list held (duplicates included).
func appendFieldNames(dst []string, list string) ([]string, int) {
	valid := 0
	// The argument (a token, or the unescaped content of a quoted-string)
	// is a #field-name list; field names hold no commas, so every comma
	// separates elements.
	for elem := range httpsyntax.ListElements([]string{unescape(list)}) {
		if !httpsyntax.IsToken(elem) {
			continue
		}
		valid++
		name := http.CanonicalHeaderKey(elem)
		dup := false
		for _, have := range dst {
			if have == name {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, name)
		}
	}
	return dst, valid
}
