package larder

import (
	"context"
	"net/http"
	"time"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/freshness"
	"github.com/larder-cache/larder/internal/vary"
)

// exchange is the cache's state for one request.
type exchange struct {
	c      *Cache
	w      http.ResponseWriter
	r      *http.Request
	next   http.Handler
	rt     *route
	reqCC  cachecontrol.Directives
	rf     reqFields // the request's fields that serving from the cache reads
	shared bool      // false when the request is keyed per user (private for that user)
	rfSet  bool      // rf is gathered already (a Transport gathers it first)

	key       string    // primary key: the request's absolute URI in normal form
	user      string    // per-user routes: the user's key part (or anonymous); else ""
	pass      pass      // the request is forwarded, not answered from the cache
	seen      *Entry    // what the lookup found at the primary key (generation.go)
	lookedAt  time.Time // when, at the latest
	index     *Entry    // the URL's Vary index, if one was found
	stale     *Entry    // the stored response being revalidated or replaced
	storedKey string    // where stale lives
	reqTime   time.Time
	ownConds  bool        // the client's If-None-Match/If-Modified-Since are evaluated here
	body      *storedBody // a stored body not in memory (stream_read.go)
	fill      *fill       // a body on its way into the store (stream_fill.go)
	unlock    *fleetLock  // a fill lock held for the fleet (fleet.go)
	ev        Event
}

func (c *Cache) serve(w http.ResponseWriter, r *http.Request, next http.Handler, rt *route) {
	// The exchange stays on the stack while the cache answers by itself; it
	// moves to the heap only when the handler is called. It is set field
	// by field, as a composite literal would be built in a temporary and
	// then copied (608 bytes).
	var x exchange
	x.c, x.w, x.next, x.rt, x.shared = c, w, next, rt, c.cfg.shared
	x.ev.Request = r
	x.key, x.r = c.target(r)
	if x.fromCache() {
		if x.body != nil {
			x.closeBody()
		}
		x.observe()
		return
	}
	hx := new(exchange)
	*hx = x
	defer hx.observe()
	defer hx.closeBody()
	if hx.pass != passNone {
		hx.forward(hx.r)
		return
	}
	if hx.lookedAt.IsZero() {
		hx.lookedAt = c.cfg.now()
	}
	hx.fetchCoalesced()
}

// pass says why a request goes to the handler without the cache answering
// or storing it.
type pass uint8

const (
	passNone   pass = iota // the cache answers, or fetches to store
	passMethod             // a method the cache does not answer: it invalidates on success (RFC 9111 §4.4)
	passBypass             // an upgrade, or a key too long: forwarded as is
)

// fromCache answers the request from storage when it can (a hit, or a 504
// for only-if-cached) and reports whether it did. Otherwise it leaves what
// the handler call needs: the outcome, and the stale response to validate.
func (x *exchange) fromCache() bool {
	r := x.r
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		x.ev.Outcome, x.pass = OutcomeMethod, passMethod
		return x.writePreconditionFailed()
	}
	if !x.rfSet {
		x.rf = gatherFields(r.Header)
	}
	if x.rf.upgrade {
		x.ev.Outcome, x.pass = OutcomeBypass, passBypass
		return false
	}
	if x.rf.cacheControl != nil || x.rf.pragma != nil {
		x.reqCC = cachecontrol.ParseRequestLines(x.rf.cacheControl, x.rf.pragma)
	}
	if len(x.key) > x.c.cfg.maxKey {
		// Too long to look up or store (WithMaxKeySize): forwarded as is.
		x.ev.Outcome, x.ev.NotStored, x.pass = OutcomeBypass, reasonKeyTooLong, passBypass
		return false
	}
	if x.user = x.rt.userKey(r); x.user != "" && x.user != anonymous {
		x.shared = false
	}
	x.user = x.c.keyFields(x.user, r) // WithKeyCookie, WithKeyHeader: keyed like the user
	e := x.lookup()
	if e == nil {
		if x.reqCC.OnlyIfCached {
			x.gatewayTimeout()
			return true
		}
		return false
	}
	age := freshness.CurrentAge(e.InitialAge, e.ResponseTime, x.c.cfg.now())
	m := x.c.metaOf(e)
	switch freshness.Check(age, e.Lifetime, x.reqCC, m.cc, x.shared) {
	case freshness.Fresh, freshness.StaleAllowed:
		if e.BodyKey != "" && !x.bodyReady(e, m) {
			return x.lostBody()
		}
		x.ev.Outcome = OutcomeHit
		x.writeStored(e, m, age, "")
		return true
	}
	if x.whileRevalidating(e, m, age) && !requestBound(x.next) {
		if e.BodyKey != "" && !x.bodyReady(e, m) {
			return x.lostBody()
		}
		x.ev.Outcome = OutcomeHit
		x.writeStored(e, m, age, x.c.cfg.name+"; hit; ttl="+itoa(ttlSeconds(e.Lifetime, age))+"; detail=stale-while-revalidate")
		x.revalidateLater(e)
		return true
	}
	if x.reqCC.OnlyIfCached {
		x.gatewayTimeout()
		return true
	}
	x.stale = e
	x.ev.Outcome = OutcomeStale
	if x.reqCC.NoCache {
		x.ev.Outcome = OutcomeRequest
	}
	return false
}

// lookup finds the stored response for the request, following a Vary index
// to the variant the request selects (RFC 9111 §4.1). It sets the miss
// outcome, and treats a store failure as a miss.
func (x *exchange) lookup() *Entry {
	ctx := x.r.Context()
	x.ev.Outcome = OutcomeMiss
	if !x.c.local {
		// A store over the network reads at some instant during the call:
		// take the earliest. A local store's lookup is dated on the miss
		// path (serve), off the hit path.
		x.lookedAt = x.c.cfg.now()
	}
	e, variant, vkey, err := x.readPrimary(ctx)
	if err != nil {
		x.ev.StoreErr = err
		return nil
	}
	x.seen = e
	x.remember(e)
	if e == nil {
		return nil
	}
	x.storedKey = x.key
	if e.Kind == KindVary {
		x.index = e
		x.ev.Outcome = OutcomeVaryMiss
		x.storedKey = variantKey(x.key, e.Nonce, x.user, vary.Key(e.VaryNames, x.r.Header))
		if len(x.storedKey) > x.c.cfg.maxKey {
			x.storedKey = ""
			return nil // and admit refuses to store it
		}
		if x.storedKey == vkey {
			e = variant // read with the index
		} else if e, err = x.getAt(ctx, x.storedKey); err != nil {
			x.ev.StoreErr = err
			return nil
		}
		if e == nil {
			return nil
		}
		if soft := x.index.ResponseTime; !soft.IsZero() && e.Kind == KindResponse && !e.RequestTime.After(soft) {
			e = staleAt(e, soft) // soft-purged (purge_soft.go)
		}
	}
	if e.Kind != KindResponse || (x.user != "" && x.index == nil) {
		// A per-user request only selects a response stored for its user.
		return nil
	}
	return x.checkPurged(ctx, e) // purge records (purge_records.go)
}

// gatewayTimeout answers a request with only-if-cached that the cache cannot
// satisfy (RFC 9111 §5.2.1.7).
func (x *exchange) gatewayTimeout() {
	x.ev.Outcome = OutcomeOnlyIfCached
	h := x.w.Header()
	h["Cache-Status"] = []string{x.c.cfg.name + "; fwd=miss; detail=only-if-cached"}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	x.ev.Status = http.StatusGatewayTimeout
	x.w.WriteHeader(http.StatusGatewayTimeout)
	_, _ = x.w.Write([]byte("504 gateway timeout: not in cache (only-if-cached)\n"))
}

func (x *exchange) observe() {
	if fn := x.c.cfg.observer; fn != nil {
		fn(x.ev)
	}
}

// background returns a context for store writes made after the response: it
// keeps the request's values but not its cancellation.
func (x *exchange) background() context.Context {
	return context.WithoutCancel(x.r.Context())
}
