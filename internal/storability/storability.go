// Package storability decides whether a response may be stored by a cache
// (RFC 9111 §3) and which header fields must not be stored or reused
// (RFC 9111 §3.1, §5.2.2.4, §5.2.2.7).
//
// Choices where the RFCs allow options (each covered by a test):
//
//   - Only GET responses are stored ("" counts as GET, as in net/http);
//     HEAD and POST responses are not (RFC 9111 §3 lets a cache decide which
//     methods it understands).
//   - 206 (Partial Content) and 304 (Not Modified) responses are not stored
//     here (RFC 9111 §3, §3.3); status codes outside 200-599 are not final or
//     not valid and are refused.
//   - Understood status codes (for must-understand, RFC 9111 §5.2.2.3) are the
//     final codes defined by RFC 9110 §15, except 206 and 304.
//   - The Authorization rule (RFC 9111 §3.5) applies to shared caches only; a
//     valid s-maxage, public or must-revalidate allows storing.
//   - An Expires field counts as explicit freshness even when invalid (it is
//     then already expired, RFC 9111 §5.3), but not when the directives come
//     from a targeted field, which replaces Expires (RFC 9213 §2.2). An
//     invalid max-age / s-maxage still counts as present.
//   - A qualified private (shared cache) or qualified no-cache does not
//     prevent storing; the listed fields are returned by StripFields.
//   - A shared cache does not store a response to a request with Cookie
//     unless the response is explicitly cacheable (Explicit): with no
//     public, max-age, s-maxage or Expires, nothing says the origin meant a
//     response to one user's cookie for everyone (RFC 9111 §3 leaves
//     heuristic storage to the cache; §3.5's Authorization rule, applied
//     to the other credential a browser sends).
package storability

import (
	"net/http"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/httpsyntax"
)

// Reasons returned by Decide. "" means storable.
const (
	ReasonMethod         = "method"           // request method not GET (RFC 9111 §3)
	ReasonStatus         = "status"           // not a final status, 304, or not 200-599 (RFC 9111 §3)
	ReasonPartial        = "partial"          // 206 Partial Content (RFC 9111 §3.3)
	ReasonMustUnderstand = "must-understand"  // must-understand with a status not understood (RFC 9111 §5.2.2.3)
	ReasonRequestNoStore = "request-no-store" // request no-store (RFC 9111 §5.2.1.5)
	ReasonNoStore        = "no-store"         // response no-store (RFC 9111 §5.2.2.5)
	ReasonPrivate        = "private"          // unqualified private in a shared cache (RFC 9111 §5.2.2.7)
	ReasonAuthorization  = "authorization"    // Authorization without permission, shared cache (RFC 9111 §3.5)
	ReasonCookie         = "cookie"           // Cookie, response not explicitly cacheable, shared cache
	ReasonVaryStar       = "vary-star"        // Vary: * (RFC 9110 §12.5.5, RFC 9111 §4.1)
	ReasonNoFreshness    = "no-freshness"     // nothing makes the response storable (RFC 9111 §3)
)

// Request is the request that produced a response.
type Request struct {
	Method string
	Header http.Header
	CC     cachecontrol.Directives // from cachecontrol.ParseRequest
}

// Response is a response a cache might store.
type Response struct {
	Status int
	Header http.Header
	CC     cachecontrol.Directives // Cache-Control, or the targeted field in use (cachecontrol.ParseTargeted)
}

// Decide reports whether a response may be stored (RFC 9111 §3). If not,
// reason is one of the Reason constants, checked in this order:
//
//   - the method is GET (§3: "the request method is understood");
//   - the status is final (§3) and not 304, and not 206 (§3.3);
//   - with must-understand, the status is understood (§5.2.2.3);
//   - the request has no no-store (§5.2.1.5);
//   - the response has no no-store (§5.2.2.5), unless must-understand is
//     present with an understood status (§5.2.2.3);
//   - shared cache: no unqualified private (§5.2.2.7);
//   - shared cache: no Authorization in the request, unless the response has
//     must-revalidate, public or s-maxage (§3.5);
//   - shared cache: no Cookie in the request, unless the response is
//     explicitly cacheable (Explicit);
//   - Vary is not "*" (RFC 9110 §12.5.5: such a response can never match);
//   - the response has public, private (private cache), an Expires field,
//     max-age, s-maxage (shared cache), or a heuristically cacheable status
//     (§3, RFC 9110 §15.1).
//
// Storing a response with a qualified private (shared cache) or no-cache
// requires dropping the fields listed by StripFields.
func Decide(req Request, resp Response, shared bool) (ok bool, reason string) {
	if req.Method != http.MethodGet && req.Method != "" {
		return false, ReasonMethod
	}
	st := resp.Status
	switch {
	case st < 200 || st > 599 || st == http.StatusNotModified:
		return false, ReasonStatus
	case st == http.StatusPartialContent:
		return false, ReasonPartial
	}
	cc := &resp.CC
	if cc.MustUnderstand && !Understood(st) {
		return false, ReasonMustUnderstand
	}
	if req.CC.NoStore {
		return false, ReasonRequestNoStore
	}
	if cc.NoStore && !cc.MustUnderstand { // must-understand here implies Understood(st)
		return false, ReasonNoStore
	}
	if shared && cc.PrivateUnqualified() {
		return false, ReasonPrivate
	}
	if shared && len(req.Header.Values("Authorization")) > 0 &&
		!(cc.MustRevalidate || cc.Public || cc.SMaxAge.Set) {
		return false, ReasonAuthorization
	}
	if shared && len(req.Header["Cookie"]) > 0 && !Explicit(resp.CC, resp.Header, shared) {
		return false, ReasonCookie
	}
	if varyStar(resp.Header.Values("Vary")) {
		return false, ReasonVaryStar
	}
	if cc.Public ||
		(cc.Private && !shared) ||
		(!cc.Targeted && len(resp.Header.Values("Expires")) > 0) ||
		cc.MaxAge.Present() ||
		(shared && cc.SMaxAge.Present()) ||
		HeuristicallyCacheable(st) {
		return true, ""
	}
	return false, ReasonNoFreshness
}

// Explicit reports whether a response is explicitly cacheable: it has
// public, a valid max-age or s-maxage (shared cache) or, when its directives do not
// come from a targeted field, an Expires field (RFC 9111 §3, §5.3; RFC 9213
// §2.2). A response that is not can still be stored heuristically.
func Explicit(cc cachecontrol.Directives, h http.Header, shared bool) bool {
	return cc.Public || cc.MaxAge.Set || (shared && cc.SMaxAge.Set) ||
		(!cc.Targeted && len(h["Expires"]) > 0)
}

// StripFields returns the canonical names of the header fields a cache must
// not store, or must not reuse without successful validation: for a shared
// cache the fields of a qualified private (RFC 9111 §5.2.2.7), and for any
// cache those of a qualified no-cache (RFC 9111 §5.2.2.4, §3.1). It returns
// nil when there are none. The result is a new slice.
func StripFields(cc cachecontrol.Directives, shared bool) []string {
	var out []string
	if shared && cc.Private {
		out = append(out, cc.PrivateFields...)
	}
	if cc.NoCache {
	next:
		for _, f := range cc.NoCacheFields {
			for _, have := range out {
				if have == f {
					continue next
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// HeuristicallyCacheable reports whether status is defined as heuristically
// cacheable (RFC 9110 §15.1; RFC 9111 §4.2.2): 200, 203, 204, 206, 300, 301,
// 308, 404, 405, 410, 414 and 501.
func HeuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// Understood reports whether the cache understands the status code, i.e.
// recognizes it and implements all its caching-related behaviour (RFC 9111
// §3, §5.2.2.3): the final status codes defined in RFC 9110 §15, except 206
// and 304, which this cache does not store.
func Understood(status int) bool {
	switch {
	case status >= 200 && status <= 205, // 206 excluded
		status >= 300 && status <= 303, status == 305, status == 307, status == 308, // 304 excluded, 306 unused
		status >= 400 && status <= 417, status == 421, status == 422, status == 426,
		status >= 500 && status <= 505:
		return true
	}
	return false
}

// varyStar reports whether a Vary field value list contains "*".
func varyStar(lines []string) bool {
	for elem := range httpsyntax.ListElements(lines) {
		if elem == "*" {
			return true
		}
	}
	return false
}
