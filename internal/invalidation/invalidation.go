// Package invalidation decides which stored responses an unsafe request
// invalidates (RFC 9111 §4.4).
//
// Every function is pure, safe for concurrent use, and never panics.
package invalidation

import (
	"net/http"
	"net/url"
	"strings"
)

// Unsafe reports whether method is unsafe or of unknown safety, which is what
// triggers invalidation (RFC 9111 §4.4, RFC 9110 §9.2.1). Only GET, HEAD,
// OPTIONS and TRACE are safe. Methods are case-sensitive (RFC 9110 §9.1), so
// "get" is an unknown, hence unsafe, method; so is "".
func Unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// Registered reports whether method is an unsafe method of the IANA HTTP
// Method Registry (RFC 9110 §18.2): POST, PUT, DELETE, PATCH, CONNECT and
// the WebDAV, versioning and binding methods that are not safe. A cache
// that invalidates only on these (a choice RFC 9111 §4.4 does not offer
// for methods of unknown safety, which it says to invalidate on) keeps a
// client from invalidating with an invented method.
func Registered(method string) bool {
	switch method {
	case "POST", "PUT", "DELETE", "PATCH", "CONNECT",
		"ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "COPY", "LABEL", "LOCK",
		"MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE", "MOVE",
		"ORDERPATCH", "PROPPATCH", "REBIND", "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK",
		"UPDATE", "UPDATEREDIRECTREF", "VERSION-CONTROL", "LINK":
		return true
	}
	return false
}

// Invalidates reports whether a response with the given status code permits
// invalidation: only a "non-error response", one with a 2xx (Successful) or
// 3xx (Redirection) status code, does (RFC 9111 §4.4).
func Invalidates(status int) bool {
	return status >= 200 && status <= 399
}

// Targets returns the URIs to invalidate after a non-error response to an
// unsafe request for target (RFC 9111 §4.4), each in the normal form of
// Normalize:
//
//  1. the target URI itself, which MUST be invalidated;
//  2. the URI-references in the response's Location and Content-Location
//     fields (each field line is one reference; RFC 9110 §10.2.2, §8.7),
//     resolved against target (RFC 3986 §5), when they have the same origin
//     as target (RFC 9110 §4.3.1: scheme, host and port, compared after
//     normalising case and default ports). Other origins MUST NOT be
//     invalidated (RFC 9111 §4.4). Unparsable references are skipped.
//
// Duplicates are removed; order is target, Location, Content-Location.
// Targets returns nil when target is nil or not absolute (no scheme or no
// host), since its origin is then unknown. Callers check Unsafe and
// Invalidates first.
func Targets(target *url.URL, respHeader http.Header) []string {
	self, ok := Normalize(target)
	if !ok {
		return nil
	}
	out := make([]string, 1, 3)
	out[0] = self
	for _, key := range [...]string{"Location", "Content-Location"} {
		for _, v := range respHeader[key] {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			ref, err := url.Parse(v)
			if err != nil {
				continue
			}
			abs := target.ResolveReference(ref)
			if !sameOrigin(target, abs) {
				continue
			}
			s, ok := Normalize(abs)
			if !ok {
				continue
			}
			dup := false
			for _, have := range out {
				if have == s {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, s)
			}
		}
	}
	return out
}

// Normalize returns the normal form of the absolute URI u used for
// invalidation, and false when u is nil, opaque, or lacks a scheme or host.
// Whatever builds primary cache keys should use the same form, or compare
// through Normalize, so that invalidations find the stored responses.
//
// The form is scheme "://" host [ ":" port ] path [ "?" query ], after the
// syntax- and scheme-based normalisation of RFC 9110 §4.2.3 and RFC 3986 §6.2:
//
//   - scheme and host are lowercased;
//   - the port is omitted when empty or the scheme's default (80 for http,
//     443 for https), and leading zeros are dropped from other ports;
//   - an empty path becomes "/" (and a rootless one gets a leading "/");
//   - in path and query, percent-encoded unreserved characters are decoded
//     and other percent-encodings get upper-case hex digits (RFC 3986
//     §6.2.2.1, §6.2.2.2); "." and ".." segments are removed (§6.2.2.3);
//   - userinfo (deprecated, RFC 9110 §4.2.4), the fragment, and an empty
//     query ("?" alone) are dropped.
func Normalize(u *url.URL) (string, bool) {
	if u == nil || u.Opaque != "" || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	host, port, ok := splitHostPort(u.Host)
	if !ok {
		return "", false
	}
	port = normPort(u.Scheme, port)
	path := u.EscapedPath()
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	path = normPercent(path)
	if hasDotSegment(path) {
		path = removeDotSegments(path)
	}
	query := normPercent(u.RawQuery)

	var b strings.Builder
	b.Grow(len(u.Scheme) + 3 + len(host) + 1 + len(port) + len(path) + 1 + len(query))
	writeLower(&b, u.Scheme)
	b.WriteString("://")
	writeLower(&b, host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(path)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	return b.String(), true
}

// sameOrigin reports whether a and b have the same origin (RFC 9110 §4.3.1):
// scheme and host compared case-insensitively, ports after applying the
// scheme's default.
func sameOrigin(a, b *url.URL) bool {
	if b == nil || !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	ah, ap, aok := splitHostPort(a.Host)
	bh, bp, bok := splitHostPort(b.Host)
	return aok && bok && strings.EqualFold(ah, bh) && normPort(a.Scheme, ap) == normPort(b.Scheme, bp)
}

// splitHostPort splits an authority's host [ ":" port ] (userinfo already
// removed by net/url), keeping IPv6 literals in brackets. It fails unless
// host is a non-empty IP-literal or reg-name (RFC 3986 §3.2.2; an IPv4
// address is a reg-name syntactically) and port is all digits (§3.2.3).
func splitHostPort(hostport string) (host, port string, ok bool) {
	host = hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		host, port = hostport[:i], hostport[i+1:]
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return "", "", false
		}
	}
	if host == "" {
		return "", "", false
	}
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return "", "", false
		}
		for i := 1; i < len(host)-1; i++ {
			if c := host[i]; !isUnreserved(c) && !isSubDelim(c) && c != ':' && c != '%' {
				return "", "", false
			}
		}
		return host, port, true
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isUnreserved(c) && !isSubDelim(c) && c != '%' {
			return "", "", false
		}
	}
	return host, port, true
}

// isSubDelim reports whether c is a sub-delims character (RFC 3986 §2.2).
func isSubDelim(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// normPort drops leading zeros and returns "" for an empty or default port
// (RFC 9110 §4.2.3, §4.2.1, §4.2.2).
func normPort(scheme, port string) string {
	for len(port) > 1 && port[0] == '0' {
		port = port[1:]
	}
	switch port {
	case "":
		return ""
	case "80":
		if strings.EqualFold(scheme, "http") {
			return ""
		}
	case "443":
		if strings.EqualFold(scheme, "https") {
			return ""
		}
	}
	return port
}

// normPercent decodes percent-encoded unreserved characters and upper-cases
// the hex digits of the remaining percent-encodings (RFC 3986 §6.2.2.1,
// §6.2.2.2). Malformed escapes are kept. s is returned as is, without
// allocating, when nothing changes.
func normPercent(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	changed := false
	for j := i; j+2 < len(s); j++ {
		if s[j] != '%' || !isHex(s[j+1]) || !isHex(s[j+2]) {
			continue
		}
		if isUnreserved(unhex(s[j+1])<<4|unhex(s[j+2])) || isLowerHex(s[j+1]) || isLowerHex(s[j+2]) {
			changed = true
			break
		}
	}
	if !changed {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for j := i; j < len(s); j++ {
		c := s[j]
		if c != '%' || j+2 >= len(s) || !isHex(s[j+1]) || !isHex(s[j+2]) {
			b.WriteByte(c)
			continue
		}
		d := unhex(s[j+1])<<4 | unhex(s[j+2])
		if isUnreserved(d) {
			b.WriteByte(d)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex(s[j+1]))
			b.WriteByte(upperHex(s[j+2]))
		}
		j += 2
	}
	return b.String()
}

// hasDotSegment reports whether path has a "." or ".." segment.
func hasDotSegment(path string) bool {
	for i := 0; i < len(path); i++ {
		if path[i] != '.' || (i > 0 && path[i-1] != '/') {
			continue
		}
		j := i + 1
		if j < len(path) && path[j] == '.' {
			j++
		}
		if j == len(path) || path[j] == '/' {
			return true
		}
	}
	return false
}

// removeDotSegments implements RFC 3986 §5.2.4 for an absolute path.
func removeDotSegments(path string) string {
	segs := strings.Split(path, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func writeLower(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

// isUnreserved reports whether c is ALPHA / DIGIT / "-" / "." / "_" / "~"
// (RFC 3986 §2.3).
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

func upperHex(c byte) byte {
	if isLowerHex(c) {
		return c - ('a' - 'A')
	}
	return c
}
