package larder

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/freshness"
	"github.com/larder-cache/larder/internal/vary"
)

// storePlan is what the cache worked out, from the response header alone,
// about storing a response (RFC 9111 §3, §4.2).
type storePlan struct {
	lifetime   time.Duration
	initialAge time.Duration
	ttl        time.Duration // how long the store keeps it, from the response time
	varyNames  []string
}

// fetch is the miss path: one call of the handler whose response goes to the
// client and, when RFC 9111 allows, into the store. With a stale stored
// response it is a validation request (RFC 9111 §4.3.1). It returns the
// response stored (or queued to be), as the store holds it, or nil.
func (x *exchange) fetch() *Entry {
	r := x.r
	out := r
	_, inm := r.Header["If-None-Match"]
	_, ims := r.Header["If-Modified-Since"]
	var etag, lm string
	if x.stale != nil {
		m := x.c.metaOf(x.stale)
		etag, lm = m.etag(), m.lastModified()
	}
	validating := etag != "" || lm != ""
	// With a stored response the cache asks for a full response (or a 304
	// for its own validators) and answers the client's validators itself.
	// With none it must not evaluate them: they go to the origin
	// (RFC 9111 §4.3.2).
	x.ownConds = (inm || ims) && x.stale != nil
	if x.ownConds || validating {
		out = r.Clone(r.Context())
		delete(out.Header, "If-None-Match")
		delete(out.Header, "If-Modified-Since")
		if etag != "" {
			out.Header["If-None-Match"] = []string{etag}
		}
		if lm != "" {
			out.Header["If-Modified-Since"] = []string{lm}
		}
	}
	cw := &capture{x: x, rw: x.w, header: x.w.Header(), limit: x.c.memLimit(), validating: validating}
	defer x.endFill(nil) // a fill not stored by then (a panic, too) stores nothing (stream_fill.go)
	if validating {
		cw.header = make(http.Header)
	}
	x.reqTime = x.c.cfg.now()
	x.next.ServeHTTP(cw, out)
	return x.finish(cw)
}

// forward passes a request the cache does not answer (other methods,
// upgrades) to the handler, invalidating on success when it is unsafe.
func (x *exchange) forward(r *http.Request) {
	cw := &capture{x: x, rw: x.w, header: x.w.Header(), fate: fatePass}
	x.next.ServeHTTP(cw, r)
	if !cw.wrote && !cw.hijacked {
		// Nothing written: net/http sends a 200 once the handler returns,
		// which is a success, so the request invalidates as one would;
		// a framework rendering an error page instead makes that an
		// invalidation too many, never one too few.
		cw.status = http.StatusOK
		x.decide(cw)
		x.noResponse(cw)
	}
}

// decide runs when the handler sets its status: the header is complete, so
// the cache knows what becomes of the response (its fate).
func (x *exchange) decide(cw *capture) fate {
	h := cw.header
	if cw.fate == fatePass {
		if x.pass == passMethod && x.invalidates() && invalidatesStatus(cw.status) {
			x.invalidate(h)
		}
		return fatePass
	}
	tags, tagsOK := x.takeTags(h)
	if cw.validating && cw.status == http.StatusNotModified {
		return fateRefresh
	}
	if x.stale != nil && cw.status >= 500 {
		m := x.c.metaOf(x.stale)
		age := freshness.CurrentAge(x.stale.InitialAge, x.stale.ResponseTime, cw.respTime)
		if x.ifError(x.stale, m, age) || (cw.unreachable && !freshness.StaleProhibited(m.cc, x.shared)) {
			return fateStale
		}
	}
	x.decorate(h, cw.status)
	cw.cc, _ = cachecontrol.ParseTargeted(h, x.c.cfg.targeted)
	plan, reason := x.admit(x.r.Method, cw.status, h, cw.cc, freshness.InitialAge(h, x.reqTime, cw.respTime), cw.respTime)
	if reason != "" {
		x.ev.NotStored = reason
		return fateStream
	}
	if !tagsOK {
		x.ev.NotStored = reasonTags
		return fateStream
	}
	cw.plan, cw.tags = plan, tags
	cw.stored = x.storedFields(h, cw.cc)
	hold := x.c.cfg.etags && cw.status == http.StatusOK && !hasETag(h)
	if n, ok := contentLength(h); ok && (hold || !x.startFill(cw, n)) {
		cw.body = make([]byte, 0, min(n, cw.limit))
	}
	if hold {
		return fateHold
	}
	return fateStore
}

// decorate applies the route's policy and the cache-wide Vary to a response
// header before anything reads it.
func (x *exchange) decorate(h http.Header, status int) {
	rt := x.rt
	names := x.c.cfg.vary
	if rt != nil && rt.hasVary {
		names = rt.vary
	}
	if len(names) > 0 {
		h["Vary"] = []string{vary.Merge(h, names)}
	}
	if rt != nil && h["Cache-Control"] == nil {
		if cc := rt.cacheControlFor(status); cc != "" {
			h["Cache-Control"] = []string{cc}
		}
	}
}

// sendHeader sends the response header to the client, answering the
// client's own validators when the cache took them over.
func (x *exchange) sendHeader(cw *capture) {
	h := x.w.Header()
	if cw.validating {
		for k, v := range cw.header {
			h[k] = v
		}
	}
	status := cw.status
	if x.ownConds {
		switch evaluate(x.r, status, h) {
		case http.StatusNotModified:
			status = http.StatusNotModified
			trimTo304(h)
		}
	}
	h["Cache-Status"] = append(h["Cache-Status"][:len(h["Cache-Status"]):len(h["Cache-Status"])],
		x.forwardStatus(cw, status))
	x.ev.Status = status
	x.w.WriteHeader(status)
	cw.toClient = status != http.StatusNotModified
}

// finish runs after the handler returned normally (a panic never reaches it,
// so a panicking handler's response is never stored). It returns the
// response stored, or nil.
func (x *exchange) finish(cw *capture) *Entry {
	if !cw.wrote && !cw.hijacked {
		// The handler produced no response: nothing to store, nor to
		// validate with, nor to replace a stale response with.
		x.ev.NotStored = reasonEmpty
		x.noResponse(cw)
		return nil
	}
	switch {
	case cw.hijacked:
		return nil
	case cw.fate == fateRefresh:
		return x.freshen(cw)
	case cw.fate == fateStale:
		x.serveStaleOnError(cw)
		return nil
	case cw.fate == fateHold:
		tag := strongETag(cw.body)
		cw.header["Etag"] = []string{tag}
		cw.stored["Etag"] = []string{tag}
		_ = cw.release(cw.body)
	}
	if x.r.Method == http.MethodHead && x.stale != nil && cw.status == http.StatusOK {
		x.headUpdate(cw)
		return nil
	}
	if cw.fate == fateStore && x.complete(cw) {
		return x.store(cw)
	}
	if x.stale != nil && x.r.Method == http.MethodGet && cw.status < 500 {
		// A full response that is not stored replaces the stale one (§4.3.3).
		x.drop(x.storedKey)
	}
	return nil
}

// reasonEmpty is the Event.NotStored reason of a handler that returned
// without writing anything (no WriteHeader, no Write, no Flush).
const reasonEmpty = "empty-handler"

// noResponse ends an exchange whose handler returned without writing: the
// cache writes nothing either, so that the client gets what it would get
// without the cache, net/http's implicit 200 with no body or the response a
// framework writes after its handler returned (an error page), and a write
// after this goes straight to the client (capture.pass). The response
// header gets the cache's Cache-Status member, and the event the status
// net/http would send.
func (x *exchange) noResponse(cw *capture) {
	cw.pass()
	h := x.w.Header()
	member := x.c.cfg.name + "; fwd=" + fwdParam(x.ev.Outcome)
	if x.ev.NotStored == reasonEmpty {
		member += "; detail=empty-handler"
	}
	h["Cache-Status"] = append(h["Cache-Status"][:len(h["Cache-Status"]):len(h["Cache-Status"])], member)
	x.ev.Status = http.StatusOK
}

// complete reports whether the handler delivered the whole response: no
// client gone, no short body, nothing over the size limit.
func (x *exchange) complete(cw *capture) bool {
	if cw.err != nil || cw.over || (x.r.Context().Err() != nil && !cw.whole) {
		x.ev.NotStored = reasonIncomplete
		return false
	}
	if n, ok := contentLength(cw.header); ok && n != cw.n {
		x.ev.NotStored = reasonShortBody
		return false
	}
	return true
}

// store stores the response the handler completed, and returns it.
func (x *exchange) store(cw *capture) *Entry {
	h, body, n, bkey := cw.stored, cw.body, int64(len(cw.body)), ""
	if x.fill != nil { // streamed into the store (stream_fill.go)
		body, n, bkey = nil, cw.n, x.fill.key
	}
	if bodyAllowed(cw.status) {
		h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	}
	if cap(body)-len(body) > len(body)/8 {
		body = bytes.Clone(body)
	}
	e := x.c.newStored(&Entry{
		Kind:         KindResponse,
		Status:       cw.status,
		Header:       h,
		Body:         body,
		RequestTime:  x.reqTime,
		ResponseTime: cw.respTime,
		InitialAge:   cw.plan.initialAge,
		Lifetime:     cw.plan.lifetime,
		Expires:      cw.respTime.Add(cw.plan.ttl),
		VaryNames:    cw.plan.varyNames,
		BodyKey:      bkey,
		Tags:         cw.tags,
	})
	if !x.put(e) {
		return nil
	}
	return e
}

// put stores a response under its key, through the URL's Vary index when the
// response varies (RFC 9111 §4.1), over what the lookup found there
// (generation.go), and reports whether it did (or queued the writes: see
// writeBehind).
func (x *exchange) put(e *Entry) bool {
	ttl := e.Expires.Sub(x.c.cfg.now())
	if ttl <= 0 {
		return false
	}
	c, ctx, key, gen, looked := x.c, x.background(), x.key, x.seenGen(), x.lookedAt
	tags := c.indexTags(key, e.Tags)
	if len(e.VaryNames) == 0 && x.user == "" {
		e.Nonce = c.newGenFor(e)
		return x.write(func() (bool, error) {
			if ok, err := c.addTags(ctx, key, tags, looked, e.Expires); !ok || err != nil {
				return false, err
			}
			return c.setPrimary(ctx, key, e, ttl, gen, looked)
		})
	}
	idx := x.index
	var ni *Entry // a new index to write first, if any
	if idx == nil || !slices.Equal(idx.VaryNames, e.VaryNames) || idx.Expires.Before(e.Expires) {
		ni = &Entry{Kind: KindVary, VaryNames: e.VaryNames, Expires: e.Expires}
		if idx != nil && slices.Equal(idx.VaryNames, e.VaryNames) {
			ni.Nonce = idx.Nonce               // its variants stay reachable
			ni.ResponseTime = idx.ResponseTime // and those soft-purged stale (purge_soft.go)
		} else {
			ni.Nonce = c.newGen() + "~" + genHead(gen)
		}
		idx = ni
	}
	user, sec := x.user, vary.Key(e.VaryNames, x.r.Header)
	return x.write(func() (bool, error) {
		if ok, err := c.addTags(ctx, key, tags, looked, e.Expires); !ok || err != nil {
			return false, err
		}
		nonce := idx.Nonce
		if ni != nil {
			ok, err := c.setPrimary(ctx, key, ni, ttl, gen, looked)
			if err != nil {
				return false, err
			}
			if !ok {
				// Another fill may have indexed the URL over what this
				// lookup found: its variants are this one's siblings.
				if nonce, err = c.siblingIndex(ctx, key, e.VaryNames, gen, looked); nonce == "" || err != nil {
					return false, err
				}
			}
		}
		return true, c.set(ctx, variantKey(key, nonce, user, sec), e, ttl)
	})
}

// write runs a sequence of store writes: at once with a local store, else
// behind the response (write-behind). It reports whether they stored (or
// were queued).
func (x *exchange) write(job func() (bool, error)) bool {
	u := x.unlock
	if u != nil {
		// The fleet's lock goes once the writes have run (fleet.go).
		inner := job
		job = func() (bool, error) {
			defer u.done()
			return inner()
		}
	}
	if x.fill != nil {
		// Once the body is stored. A fill that fails after this leaves
		// the lock to its expiry.
		ok := x.commitFill(job)
		if ok {
			x.unlock = nil
		}
		return ok
	}
	if x.c.local {
		x.unlock = nil
		ok, err := job()
		if err != nil {
			x.record(err)
			return false
		}
		if !ok {
			x.ev.NotStored = reasonInvalidated
			return false
		}
		x.record(nil)
		return true
	}
	if !x.c.writeBehind(func() { _, _ = job() }) { // failures are logged
		x.ev.NotStored = reasonQueueFull
		return false
	}
	x.unlock = nil
	x.ev.Stored = true
	return true
}

func (x *exchange) record(err error) {
	if err != nil {
		if x.ev.StoreErr == nil {
			x.ev.StoreErr = err
		}
		return
	}
	x.ev.Stored = true
}

// keepFor returns how long, from its response time, a response is kept: its
// remaining freshness, then the longest of the stale windows its
// stale-while-revalidate or stale-if-error allows (RFC 5861) and the stale
// retention, during which it can be revalidated (RFC 9111 §4.3), updated by
// a HEAD (§4.3.5) or served to a request that accepts it stale (§4.2.4).
func (c *Cache) keepFor(lifetime, age time.Duration, cc cachecontrol.Directives) time.Duration {
	grace := max(cc.StaleWhileRevalidate.Duration(), cc.StaleIfError.Duration(), c.cfg.staleRetention)
	return lifetime - age + grace
}

func (x *exchange) drop(key string) {
	if key != "" {
		x.dropKey(x.background(), key)
	}
}

func (x *exchange) dropKey(ctx context.Context, key string) {
	if err := x.c.delete(ctx, key); err != nil && x.ev.StoreErr == nil {
		x.ev.StoreErr = err
	}
}

func (c *Cache) heuristic() freshness.Heuristic {
	if c.cfg.noHeuristic {
		return freshness.Heuristic{Disabled: true}
	}
	if c.cfg.heuristicFrac > 0 {
		return freshness.Heuristic{Fraction: c.cfg.heuristicFrac, Max: c.cfg.heuristicMax}
	}
	return freshness.DefaultHeuristic
}

func contentLength(h http.Header) (int64, bool) {
	v := h["Content-Length"]
	if len(v) != 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	return n, err == nil && n >= 0
}

// bodyAllowed reports whether a response with this status has content
// (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// hasETag reports an ETag field, also one a handler set as h["ETag"],
// bypassing canonicalization.
func hasETag(h http.Header) bool {
	//lint:ignore SA1008 handlers may set h["ETag"] directly, bypassing canonicalization
	return h["Etag"] != nil || h["ETag"] != nil
}
