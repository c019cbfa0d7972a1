package larder

import (
	"net/http"

	"github.com/larder-cache/larder/internal/conditional"
	"github.com/larder-cache/larder/internal/freshness"
)

// Preconditions of state-changing requests (the seed's lost-update
// protection). A cache does not evaluate preconditions for a request it
// cannot answer from storage (RFC 9111 §4.3.2), and by default Larder
// forwards every unsafe request as it is. A middleware sits inside the
// origin, though: for a route it caches, a fresh stored response that the
// application produced is the current representation as far as the cache
// knows, since the cache invalidates it on every successful unsafe request
// it sees. With WritePreconditions (a route) or WithWritePreconditions (the
// whole cache), an unsafe request's If-Match, If-None-Match and
// If-Unmodified-Since are evaluated against that response as an origin
// server would (RFC 9110 §13.2.2), and a failed one is answered 412 without
// calling the handler. With nothing stored, or a stale response, the
// handler is called: the application stays the authority.

// WritePreconditions makes the cache evaluate the preconditions of unsafe
// requests to the route against the fresh stored response of their target
// (see WithWritePreconditions).
func WritePreconditions() RouteOption { return func(r *route) { r.writeConds = true } }

// WithWritePreconditions makes the cache evaluate the If-Match,
// If-None-Match and If-Unmodified-Since of unsafe requests (POST, PUT,
// PATCH, DELETE, ...) against the fresh stored response of their target, as
// an origin server would (RFC 9110 §13.2.2): when they fail, the cache
// answers 412 (Precondition Failed) without calling the handler, as the
// seed does to protect handlers from lost updates. With nothing stored, or
// a stale response, the handler is called and decides. A weak entity-tag
// never matches If-Match (RFC 9110 §13.1.1). Off by default: a cache in
// front of another origin (the proxy) must not evaluate them (RFC 9111
// §4.3.2). Use it only where the cache sees every write of the resources
// it stores.
func WithWritePreconditions() Option { return func(c *config) { c.writeConds = true } }

// writePreconditionFailed answers an unsafe request with 412 when its
// preconditions fail against the fresh stored response of its target, and
// reports whether it did.
func (x *exchange) writePreconditionFailed() bool {
	r := x.r
	if !x.c.cfg.writeConds && (x.rt == nil || !x.rt.writeConds) {
		return false
	}
	h := r.Header
	if h["If-Match"] == nil && h["If-None-Match"] == nil && h["If-Unmodified-Since"] == nil {
		return false
	}
	if len(x.key) > x.c.cfg.maxKey {
		return false
	}
	if x.user = x.rt.userKey(r); x.user != "" && x.user != anonymous {
		x.shared = false
	}
	x.user = x.c.keyFields(x.user, r)
	e := x.lookup()
	x.ev.Outcome = OutcomeMethod
	if e == nil {
		return false
	}
	now := x.c.cfg.now()
	age := freshness.CurrentAge(e.InitialAge, e.ResponseTime, now)
	if age >= e.Lifetime {
		return false // stale: the handler decides
	}
	if conditional.EvaluateValidators(r.Method, h, e.Status, x.c.metaOf(e).validators()) != conditional.PreconditionFailed {
		return false
	}
	x.ev.Outcome, x.ev.Status = OutcomePreconditionFailed, http.StatusPreconditionFailed
	wh := x.w.Header()
	wh["Content-Type"] = []string{"text/plain; charset=utf-8"}
	wh["Cache-Status"] = []string{x.c.cfg.name + "; hit; detail=precondition-failed"}
	x.w.WriteHeader(http.StatusPreconditionFailed)
	_, _ = x.w.Write([]byte("412 precondition failed\n"))
	return true
}
