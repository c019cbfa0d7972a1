package larder

import (
	"net/http"
	"slices"
	"strings"

	"github.com/larder-cache/larder/internal/httpsyntax"
)

// unstored lists the fields never stored nor copied by a 304 update: hop-by-hop
// fields (RFC 9110 §7.6.1), proxy-specific ones (RFC 9111 §3.1), and the
// fields the cache writes itself on every response (Age, Cache-Status).
var unstored = map[string]bool{
	"Connection":                true,
	"Keep-Alive":                true,
	"Proxy-Connection":          true,
	"Te":                        true,
	"Trailer":                   true,
	"Transfer-Encoding":         true,
	"Upgrade":                   true,
	"Proxy-Authenticate":        true,
	"Proxy-Authentication-Info": true,
	"Proxy-Authorization":       true,
	"Age":                       true,
	"Cache-Status":              true,
}

// skipField reports whether a field must not be stored: always-unstored ones,
// those named by Connection, and those a qualified private / no-cache names.
func skipField(k string, connection []string, strip []string) bool {
	if unstored[k] {
		return true
	}
	for _, c := range connection {
		if strings.EqualFold(c, k) {
			return true
		}
	}
	for _, s := range strip {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// connectionFields returns the field names listed in Connection
// (RFC 9110 §7.6.1).
func connectionFields(h http.Header) []string {
	var out []string
	for f := range httpsyntax.ListElements(h["Connection"]) {
		out = append(out, f)
	}
	return out
}

// mergeHeader returns stored updated with the fields of a newer response, as
// RFC 9111 §3.2 says: each field replaces the stored one, except unstored
// fields and Content-Length.
func mergeHeader(stored, newer http.Header) http.Header {
	conn := connectionFields(newer)
	out := make(http.Header, len(stored)+len(newer))
	for k, v := range stored {
		out[k] = v
	}
	for k, v := range newer {
		if k == "Content-Length" || skipField(k, conn, nil) {
			continue
		}
		out[k] = slices.Clip(append([]string(nil), v...))
	}
	return out
}

// trimTo304 keeps in h only what a 304 carries (RFC 9110 §15.4.5), plus the
// fields the cache adds itself.
func trimTo304(h http.Header) {
	keep := make(http.Header, 8)
	copy304(keep, h)
	clear(h)
	for k, v := range keep {
		h[k] = v
	}
}
