package larder

import (
	"net/http"
	"slices"
	"time"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/freshness"
	"github.com/larder-cache/larder/internal/storability"
	"github.com/larder-cache/larder/internal/vary"
)

// What a stored response may hold, and for how long. Every path that writes
// a response entry goes through the two functions of this file: the fill of
// a miss, the update of a stored response by a 304 (RFC 9111 §4.3.4) or by
// a HEAD response (§4.3.5), and the background revalidation of
// stale-while-revalidate, which runs the same fill and update.

// Reasons in Event.NotStored besides storability's.
const (
	reasonSetCookie   = "set-cookie"    // shared cache, Set-Cookie, WithSetCookieStorage not given
	reasonTrailer     = "trailer"       // the response announces trailer fields
	reasonTooLarge    = "too-large"     // Content-Length over the max object size
	reasonStale       = "stale"         // nothing left of its lifetime nor of a stale window
	reasonKeyTooLong  = "key-too-large" // its key would exceed the max key size
	reasonQueueFull   = "queue-full"    // the write-behind queue was full (WithWriteQueue)
	reasonIncomplete  = "incomplete"    // cut short: client gone, write failed, over the size limit
	reasonShortBody   = "short-body"    // fewer bytes than Content-Length
	reasonInvalidated = "invalidated"   // the URL was invalidated or purged while it was fetched
)

// admit decides whether a response to x's request (sent with method) with
// this status, header and directives, of initial age age (RFC 9111 §4.2.3)
// and received at respTime, may be stored (RFC 9111 §3), and for how long
// (§4.2); a non-empty reason says why not. h is the header as it would be stored: on
// an update, after storedFields, so that a 304's Set-Cookie, which is not
// stored, does not refuse the update.
func (x *exchange) admit(method string, status int, h http.Header, cc cachecontrol.Directives, age time.Duration, respTime time.Time) (storePlan, string) {
	cfg := &x.c.cfg
	ok, reason := storability.Decide(
		storability.Request{Method: method, Header: x.r.Header, CC: x.reqCC},
		storability.Response{Status: status, Header: h, CC: cc},
		x.shared)
	switch {
	case !ok:
		return storePlan{}, reason
	case x.shared && !cfg.storeSetCookie && h["Set-Cookie"] != nil:
		return storePlan{}, reasonSetCookie
	case h["Trailer"] != nil:
		return storePlan{}, reasonTrailer
	}
	if n, ok := contentLength(h); ok && n > cfg.maxObject {
		return storePlan{}, reasonTooLarge
	}
	names, star := vary.Names(h)
	if star {
		return storePlan{}, storability.ReasonVaryStar
	}
	if !x.keyFits(names) {
		return storePlan{}, reasonKeyTooLong
	}
	lifetime, _ := freshness.Lifetime(status, h, cc, x.shared, respTime, x.c.heuristic())
	if status >= 400 && lifetime <= age && !storability.Explicit(cc, h, x.shared) {
		// An error that nothing makes fresh (a 404 without Cache-Control
		// or Last-Modified) would be stored stale only: never served, it
		// would fill the store, one entry per URL a scanner tries.
		return storePlan{}, storability.ReasonNoFreshness
	}
	ttl := x.c.keepFor(lifetime, age, cc)
	if status >= 400 && cfg.maxErrorLife > 0 {
		// An error is kept at most maxErrorLife, fresh or stale.
		lifetime = min(lifetime, cfg.maxErrorLife+age)
		ttl = min(ttl, cfg.maxErrorLife)
	}
	if ttl <= 0 {
		return storePlan{}, reasonStale
	}
	return storePlan{lifetime: lifetime, initialAge: age, ttl: ttl, varyNames: names}, ""
}

// keyFits reports whether the keys a response varying on names would be
// stored under stay within the max key size.
func (x *exchange) keyFits(names []string) bool {
	n := len(x.key)
	if len(names) > 0 || x.user != "" {
		n = len(variantKey(x.key, nonceSize, x.user, vary.Key(names, x.r.Header)))
	}
	return n <= x.c.cfg.maxKey
}

// nonceSize stands for a Vary index nonce (rand.Text) in key lengths.
const nonceSize = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// storedFields returns the copy of h that a stored response holds
// (RFC 9111 §3.1): without hop-by-hop fields and those Connection names,
// without the fields a qualified private (shared cache) or no-cache names
// (§5.2.2.7, §5.2.2.4), without Age and Cache-Status, which the cache
// writes itself, and, in a shared cache, without Set-Cookie unless
// WithSetCookieStorage was given: one client's cookie is never stored for
// another. cc are the directives of the response h is or becomes part of.
//
// Its slices are copies clipped to their length, so appending to a served
// header never writes into the stored entry's memory.
func (x *exchange) storedFields(h http.Header, cc cachecontrol.Directives) http.Header {
	conn := connectionFields(h)
	strip := storability.StripFields(cc, x.shared)
	dropCookie := x.shared && !x.c.cfg.storeSetCookie
	out := make(http.Header, len(h))
	for k, v := range h {
		if skipField(k, conn, strip) || dropCookie && k == "Set-Cookie" {
			continue
		}
		out[k] = slices.Clip(append([]string(nil), v...))
	}
	return out
}
