// Package cachekey builds the keys under which the cache stores responses
// (RFC 9111 §2, §4.1), and the request that goes with a key.
//
// A response is stored under its primary key, the absolute URI of the
// request's target in normal form (RFC 9110 §4.2.3, RFC 3986 §6.2), shaped
// by the cache's key options (query parameters dropped or sorted). A
// response that varies is stored under a variant key: the primary key, the
// nonce of the URL's Vary index, the per-user part of per-user routes, the
// key fields the options name (cookies, header fields) and the secondary key
// of RFC 9111 §4.1. Deleting the primary key (the index) so drops every
// variant: invalidation and purge need only primary keys.
//
// A primary key is derived from exactly what the handler (or the proxy's
// upstream) receives: Policy.Request returns, with the key, the request to
// pass on, whose target is the one the key names. Two requests the handler
// can tell apart by their targets never share a key.
//
// Every function is pure, safe for concurrent use, and never panics.
package cachekey

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/larder-cache/larder/internal/invalidation"
	"github.com/larder-cache/larder/internal/vary"
)

// Config is what a cache's key options add to its keys. The zero Config
// keys a request by its target URI alone.
type Config struct {
	// DropQuery names the query parameters removed from the key and from
	// the request passed on. A name matches the parameters of that name,
	// compared after decoding as url.ParseQuery decodes names; a name
	// ending in "*" is a prefix ("utm_*"; "*" alone matches every
	// parameter). Empty names are ignored.
	DropQuery []string
	// SortQuery sorts the query parameters by name, in the key and in the
	// request passed on; the values of one name keep their order.
	SortQuery bool
	// Cookies and Headers name cookies and request header fields whose
	// values select a variant, as if every response listed them in Vary
	// (RFC 9111 §4.1).
	Cookies []string
	Headers []string
}

// Policy is a compiled Config. A nil *Policy is the zero Config's: every
// method works on it.
type Policy struct {
	exact    []string // dropped parameter names
	prefixes []string // dropped parameter name prefixes
	sort     bool
	cookies  []string // sorted, deduplicated
	headers  []string // lowercase, sorted, deduplicated: vary.Names's form
}

// New compiles c. It returns nil, the default policy, for a Config that
// changes nothing.
func New(c Config) *Policy {
	p := &Policy{sort: c.SortQuery}
	for _, n := range c.DropQuery {
		switch {
		case n == "":
		case strings.HasSuffix(n, "*"):
			p.prefixes = append(p.prefixes, n[:len(n)-1])
		default:
			p.exact = append(p.exact, n)
		}
	}
	for _, n := range c.Cookies {
		if n = strings.TrimSpace(n); n != "" {
			p.cookies = append(p.cookies, n)
		}
	}
	slices.Sort(p.cookies)
	p.cookies = slices.Compact(p.cookies)
	for _, n := range c.Headers {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			p.headers = append(p.headers, n)
		}
	}
	slices.Sort(p.headers)
	p.headers = slices.Compact(p.headers)
	if !p.rewritesQuery() && !p.HasFields() {
		return nil
	}
	return p
}

// rewritesQuery reports whether the policy changes queries at all.
func (p *Policy) rewritesQuery() bool {
	return p != nil && (p.sort || len(p.exact) > 0 || len(p.prefixes) > 0)
}

// HasFields reports whether the policy keys variants on cookies or header
// fields, in which case every response is stored as a variant, under the
// URL's Vary index.
func (p *Policy) HasFields() bool {
	return p != nil && len(p.cookies)+len(p.headers) > 0
}

// Scheme returns the scheme of the request's target URI (RFC 9110 §7.1): for
// a request a server received (r.RequestURI set), "https" when it came over
// TLS, else "http"; for a request made by a client (no RequestURI), its
// URL's scheme, lowercased, "http" when it has none.
func Scheme(r *http.Request) string {
	if r.RequestURI != "" {
		if r.TLS != nil {
			return "https"
		}
		return "http"
	}
	switch s := r.URL.Scheme; s {
	case "":
		return "http"
	case "http", "https":
		return s
	default:
		return strings.ToLower(s)
	}
}

// Host returns the authority of the request's target URI: its Host field
// (RFC 9110 §7.2), or its URL's host when it has none.
func Host(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// Request returns the primary key of r (RFC 9111 §2) and the request to
// pass on: r itself when its target is in the key's form already, else a
// shallow copy whose Host, URL and RequestURI are. The key is
//
//	scheme "://" host [ ":" port ] path [ "?" query ]
//
// in the normal form of invalidation.Normalize (RFC 3986 §6.2.2, §6.2.3:
// case, default port, percent-encoding, dot segments), with the query
// shaped by the policy (dropped parameters removed, parameters sorted). A
// target with no normal form (a malformed host) keeps its path as it is;
// its query is still shaped, so a dropped parameter never reaches the
// handler.
//
// A target already in normal form, which the policy leaves alone, costs one
// allocation: the key.
func (p *Policy) Request(r *http.Request) (string, *http.Request) {
	scheme, host := Scheme(r), Host(r)
	path, query := escapedPath(r.URL), r.URL.RawQuery
	if plain(scheme, host, path, query) {
		if p.keepsQuery(query) {
			return join(scheme, host, path, query), r
		}
		q := p.Query(query)
		return join(scheme, host, path, q), retarget(r, host, r.URL.Path, r.URL.RawPath, q)
	}
	v := url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: query}
	if k, ok := invalidation.Normalize(&v); ok {
		if nh, np, nrp, nq, ok := split(k, len(scheme)); ok {
			q := p.Query(nq)
			return withQuery(k, nq, q), retarget(r, nh, np, nrp, q)
		}
	}
	// No normal form: the target goes on as it is, but for its query.
	q := p.Query(query)
	if q == query {
		return join(scheme, host, path, q), r
	}
	return join(scheme, host, path, q), retarget(r, host, r.URL.Path, r.URL.RawPath, q)
}

// AppendRequest appends the primary key of r to dst and reports true when
// r's target is in the key's form already, as most are (Request would
// then return r itself, and the same key); else it returns dst unchanged
// and false, and the caller uses Request. It lets a caller build the key
// in a buffer of its own, without an allocation.
func (p *Policy) AppendRequest(dst []byte, r *http.Request) ([]byte, bool) {
	scheme, host := Scheme(r), Host(r)
	path, query := escapedPath(r.URL), r.URL.RawQuery
	if !plain(scheme, host, path, query) || !p.keepsQuery(query) {
		return dst, false
	}
	dst = append(dst, scheme...)
	dst = append(dst, "://"...)
	dst = append(dst, host...)
	dst = append(dst, path...)
	if query != "" {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return dst, true
}

// split returns the parts of a key in normal form whose scheme is n bytes
// long: its host, its path decoded and as it is spelled (rawPath "" when it
// is the default encoding of path, as url.URL keeps it), and its query.
// The host is all up to the first "/" and the query all after the first
// "?": a host in normal form has neither, and a path has no "?".
func split(k string, n int) (host, path, rawPath, query string, ok bool) {
	rest := k[n+len("://"):]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "", "", "", "", false
	}
	host, rest = rest[:i], rest[i:]
	rawPath, query, _ = strings.Cut(rest, "?")
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return "", "", "", "", false
	}
	if (&url.URL{Path: path}).EscapedPath() == rawPath {
		rawPath = ""
	}
	return host, path, rawPath, query, true
}

// URL returns the primary key of the absolute URI u, as Request gives it
// for a request whose target u is, so that invalidation (RFC 9111 §4.4)
// and purge find what was stored. ok is false when u has no normal form
// (see invalidation.Normalize); key is then u's parts as they are, with
// the query shaped as Request shapes it.
func (p *Policy) URL(u *url.URL) (key string, ok bool) {
	path, query := u.EscapedPath(), u.RawQuery
	if u.Opaque == "" && plain(u.Scheme, u.Host, path, query) && p.keepsQuery(query) {
		return join(u.Scheme, u.Host, path, query), true
	}
	k, ok := invalidation.Normalize(u)
	if !ok {
		return join(u.Scheme, u.Host, path, p.Query(query)), false
	}
	i := strings.IndexByte(k, '?')
	if i < 0 {
		return k, true
	}
	return withQuery(k, k[i+1:], p.Query(k[i+1:])), true
}

// Query returns the query q shaped by the policy: the dropped parameters
// removed, then, with sorting, the parameters sorted by name (stably, so
// that the values of one name keep their order). Parameters are the
// "&"-separated members of q, as in application/x-www-form-urlencoded;
// names are compared after decoding (url.QueryUnescape; a name that does
// not decode is compared as it is). When the policy rewrites queries at
// all, empty parameters ("a=1&&b=2") are removed. A q that needs no change
// is returned as it is, without allocating.
func (p *Policy) Query(q string) string {
	if q == "" || !p.rewritesQuery() || p.keepsQuery(q) {
		return q
	}
	type param struct{ name, seg string }
	var buf [16]param
	params := buf[:0]
	size := 0
	forEachParam(q, func(seg, name string) bool {
		if seg == "" {
			return true
		}
		if strings.ContainsAny(name, "%+") {
			if d, err := url.QueryUnescape(name); err == nil {
				name = d
			}
		}
		if !p.drops(name) {
			params = append(params, param{name, seg})
			size += len(seg) + 1
		}
		return true
	})
	if p.sort {
		slices.SortStableFunc(params, func(a, b param) int { return strings.Compare(a.name, b.name) })
	}
	if len(params) == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(size - 1)
	for i, pr := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pr.seg)
	}
	return b.String()
}

// keepsQuery reports, without allocating, that Query leaves q as it is: the
// policy rewrites no query, or q has no empty parameter, no parameter
// dropped and, with sorting, its names in order. Names with "%" or "+"
// (which decode to something else) are not looked at: keepsQuery then
// reports false, and Query does the full work.
func (p *Policy) keepsQuery(q string) bool {
	if q == "" || !p.rewritesQuery() {
		return true
	}
	prev, keep := "", true
	forEachParam(q, func(seg, name string) bool {
		if seg == "" || strings.ContainsAny(name, "%+") || p.drops(name) || (p.sort && name < prev) {
			keep = false
			return false
		}
		prev = name
		return true
	})
	return keep
}

// drops reports whether the parameter name (decoded) is dropped.
func (p *Policy) drops(name string) bool {
	if p == nil {
		return false
	}
	if slices.Contains(p.exact, name) {
		return true
	}
	for _, pre := range p.prefixes {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	return false
}

// forEachParam calls fn with each "&"-separated member of q (empty ones
// included) and its raw name, the part before the first "=", until fn
// returns false.
func forEachParam(q string, fn func(seg, name string) bool) {
	for {
		seg, rest, more := strings.Cut(q, "&")
		name, _, _ := strings.Cut(seg, "=")
		if !fn(seg, name) || !more {
			return
		}
		q = rest
	}
}

// withQuery returns the key k, whose query is old ("" for none), with the
// query q instead.
func withQuery(k, old, q string) string {
	if q == old {
		return k
	}
	base := k
	if i := strings.IndexByte(k, '?'); i >= 0 {
		base = k[:i]
	}
	if q == "" {
		return base
	}
	return base + "?" + q
}

// join builds a key from parts in their final form, in one allocation.
func join(scheme, host, path, query string) string {
	// One allocation, as a concatenation makes, without the runtime's
	// general loop over the parts.
	n := len(scheme) + len("://") + len(host) + len(path)
	if query != "" {
		n += len("?") + len(query)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	b.WriteString(path)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	return b.String()
}

// escapedPath is u.EscapedPath(): u.Path itself when u has no RawPath and
// its path has only bytes that a path never escapes (pathSafe), as a
// client's request built from a plain URL has, without EscapedPath's scan
// through the general escaping rules.
func escapedPath(u *url.URL) string {
	if u.RawPath == "" && pathSafe(u.Path) {
		return u.Path
	}
	return u.EscapedPath()
}

// pathBytes marks the bytes url.URL.EscapedPath leaves as they are in a
// path (RFC 3986 §3.3: unreserved, sub-delimiters but for "'()*!", ":",
// "@" and "/"), as net/url's shouldEscape in its path mode does. It is
// built once and only read.
var pathBytes = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@") {
		t[c] = true
	}
	return t
}()

// pathSafe reports whether every byte of p is one EscapedPath leaves as
// it is ("*", which EscapedPath also returns as it is, is not).
func pathSafe(p string) bool {
	for i := 0; i < len(p); i++ {
		if !pathBytes[p[i]] {
			return false
		}
	}
	return true
}

// plain reports whether the parts are in normal form already, as far as a
// scan without allocating tells: scheme http or https, a lowercase host
// with no default or zero-led port, a path starting with "/" without
// percent-encoding or dot segments, and a query without percent-encoding.
func plain(scheme, host, path, query string) bool {
	if (scheme != "http" && scheme != "https") ||
		path == "" || path[0] != '/' || strings.IndexByte(path, '%') >= 0 ||
		dotSegment(path) || strings.IndexByte(query, '%') >= 0 {
		return false
	}
	for i := 0; i < len(host); i++ {
		switch hostBytes[host[i]] {
		case hostNotPlain:
			return false
		case hostColon:
			port := host[i+1:]
			if port == "" || port[0] == '0' ||
				(scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
				return false
			}
		}
	}
	return host != ""
}

// What plain makes of a byte of a host: most are plain; an uppercase
// letter, "[" (an IP literal) or "@" (userinfo) are not in normal form as
// far as plain tells; ":" starts the port.
const (
	hostPlain uint8 = iota
	hostNotPlain
	hostColon
)

// hostBytes classifies the bytes of a host for plain: one table lookup
// a byte. It is built once and only read.
var hostBytes = func() (t [256]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = hostNotPlain
	}
	t['['], t['@'], t[':'] = hostNotPlain, hostNotPlain, hostColon
	return t
}()

// dotSegment reports whether path, which starts with "/", has "/." in it
// (a dot segment, or a segment starting with a dot): strings.Contains,
// by its dots, which a path has few of.
func dotSegment(path string) bool {
	for i := strings.IndexByte(path, '.'); i > 0; {
		if path[i-1] == '/' {
			return true
		}
		j := strings.IndexByte(path[i+1:], '.')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// retarget returns a shallow copy of r whose target has the given host,
// path and query (RequestURI included, for a request a server received).
func retarget(r *http.Request, host, path, rawPath, query string) *http.Request {
	nr := new(http.Request)
	*nr = *r
	u := *r.URL
	u.Path, u.RawPath, u.RawQuery, u.ForceQuery = path, rawPath, query, false
	if u.Host != "" {
		u.Host = host
	}
	nr.URL = &u
	if r.Host != "" {
		nr.Host = host
	}
	if r.RequestURI != "" {
		nr.RequestURI = u.RequestURI()
	}
	return nr
}

// Anonymous is the user part of the keys of a per-user route's requests
// that carry no user.
const Anonymous = "-"

// User returns the per-user part of a variant key for the user id of a
// per-user route: Anonymous when the request has no user (ok false), else
// "u=" and 128 bits of the SHA-256 of id in hex, so that no user's id is
// stored or logged in clear. A per-user response is then that user's
// private response (RFC 9111 §3.5), kept apart from everyone else's.
func User(id string, ok bool) string {
	if !ok {
		return Anonymous
	}
	sum := sha256.Sum256([]byte(id))
	return "u=" + hex.EncodeToString(sum[:16])
}

// Fields returns the key fields of r: "" when the policy names no cookie
// or header field, else "k=" and 128 bits of the SHA-256 of a
// length-prefixed encoding of every named cookie's values (in the order of
// the Cookie field, as r.CookiesNamed finds them; an absent cookie marked
// apart from an empty one) and of the named header fields, as vary.Key
// encodes them for a secondary key (RFC 9111 §4.1). The values are hashed
// so that a session cookie used as a key field is neither stored nor
// logged in clear, and so that the key stays short whatever their length.
// The result is never "" when the policy names a field, even when r has
// none of them: such a request is a variant of its own.
func (p *Policy) Fields(r *http.Request) string {
	if !p.HasFields() {
		return ""
	}
	var stack [256]byte
	b := stack[:0]
	for _, name := range p.cookies {
		b = appendLen(append(b, 'c'), name)
		cs := r.CookiesNamed(name)
		if len(cs) == 0 {
			b = append(b, '-')
		}
		for _, c := range cs {
			b = appendLen(append(b, '='), c.Value)
		}
	}
	if len(p.headers) > 0 {
		b = append(b, 'h')
		b = append(b, vary.Key(p.headers, r.Header)...)
	}
	sum := sha256.Sum256(b)
	return "k=" + hex.EncodeToString(sum[:16])
}

// appendLen appends s as <decimal length> ":" s.
func appendLen(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// UserFields returns the part of a variant key that comes before the
// secondary key: the user part (User, or "" on a route that is not per
// user), then, when fields (Fields) is not "", a NUL and fields. Neither
// part has a NUL of its own, and fields starts with "k=", so the key stays
// unambiguous: the same user with and without fields, or a route without
// users and one with, never give the same parts.
func UserFields(user, fields string) string {
	if fields == "" {
		return user
	}
	return user + "\x00" + fields
}

// Variant returns the key of one variant of the URL whose primary key is
// primary (RFC 9111 §4.1): under the nonce of the URL's Vary index, the
// user and key-field part (UserFields) and the secondary key (vary.Key of
// the request fields the response varies on).
//
//	primary NUL "v=" nonce NUL userFields NUL secondary
//
// A primary key has no NUL (net/url refuses control characters in a URL).
func Variant(primary, nonce, userFields, secondary string) string {
	return primary + "\x00v=" + nonce + "\x00" + userFields + "\x00" + secondary
}
