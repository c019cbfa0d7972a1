package larder

import (
	"net/http"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/conditional"
	"github.com/larder-cache/larder/internal/freshness"
)

// freshen handles a 304 answering the cache's validation request: the stored
// response is updated with the 304's header fields and served
// (RFC 9111 §4.3.3, §4.3.4, §3.2). It returns the updated response as
// stored, or nil.
func (x *exchange) freshen(cw *capture) *Entry {
	old := x.stale
	if tag, ok := conditional.ParseETag(firstValue(cw.header, "Etag")); ok && !tag.Weak {
		if stored, ok := conditional.ParseETag(x.c.metaOf(old).etag()); !ok || !conditional.StrongMatch(tag, stored) {
			// §4.3.4: the 304 selects a representation the cache does not
			// hold, so it updates nothing. Fetch the current one in full.
			x.drop(x.storedKey)
			x.stale = nil
			return x.fetch()
		}
	}
	if !x.loadBody() {
		// The stored body cannot be had (stream_read.go): fetch it anew.
		x.drop(x.storedKey)
		x.stale = nil
		return x.fetch()
	}
	served, stored := x.refresh(cw)
	age := freshness.CurrentAge(served.InitialAge, served.ResponseTime, x.c.cfg.now())
	if x.ev.Outcome != OutcomeRequest {
		x.ev.Outcome = OutcomeRevalidated
	}
	x.writeStored(served, served.meta, age, x.revalidatedStatus(served, age, stored != nil))
	return stored
}

// headUpdate handles a 200 to a HEAD request while a stale GET response is
// stored: matching validators update it, others make it unusable
// (RFC 9111 §4.3.5).
func (x *exchange) headUpdate(cw *capture) {
	m := x.c.metaOf(x.stale)
	tag, lm := firstValue(cw.header, "Etag"), firstValue(cw.header, "Last-Modified")
	// Validators the HEAD response carries must match; with none on either
	// side, nothing tells them apart, and the HEAD response updates.
	match := (tag == m.etag() || tag == "" && m.etag() == "") &&
		(lm == m.lastModified() || lm == "" && m.lastModified() == "")
	if n, ok := contentLength(cw.header); ok && n != x.bodyLen(x.stale) {
		match = false
	}
	if !match || !x.loadBody() {
		x.drop(x.storedKey)
		return
	}
	x.refresh(cw)
}

// refresh updates the stale response with the header of a newer response
// to the same request, a 304 or a HEAD's 200 (RFC 9111 §3.2), and stores
// it. It returns the updated response for this client, which carries every
// field of the newer response, and the update as stored (nil if it was not). What is
// stored passes the rules of a fill (admit, storedFields): a Set-Cookie, or
// a field that a qualified private or no-cache names, in the newer response
// reaches this client only.
func (x *exchange) refresh(cw *capture) (served, stored *Entry) {
	old := x.stale
	merged := mergeHeader(old.Fields(), cw.header)
	cc, _ := cachecontrol.ParseTargeted(merged, x.c.cfg.targeted)
	served = &Entry{
		Kind:         KindResponse,
		Status:       old.Status,
		Header:       merged,
		Body:         old.Body,
		RequestTime:  x.reqTime,
		ResponseTime: cw.respTime,
		InitialAge:   freshness.InitialAge(cw.header, x.reqTime, cw.respTime),
		VaryNames:    old.VaryNames,
		Tags:         old.Tags,
	}
	x.retargetBody(old, served)
	sh := x.storedFields(merged, cc)
	// The stored response answered a GET, whichever request updates it.
	plan, reason := x.admit(http.MethodGet, old.Status, sh, cc, served.InitialAge, cw.respTime)
	if reason != "" {
		served.Lifetime, _ = freshness.Lifetime(old.Status, merged, cc, x.shared, cw.respTime, x.c.heuristic())
		served.meta = x.c.newMeta(served)
		x.ev.NotStored = reason
		x.drop(x.storedKey)
		return served, nil
	}
	served.Lifetime, served.InitialAge = plan.lifetime, plan.initialAge
	served.Expires = cw.respTime.Add(plan.ttl)
	served.meta = x.c.newMeta(served)
	t := *served
	x.renewBody(old, &t)
	t.Header, t.meta = sh, nil
	ne := x.c.newStored(&t)
	if !x.put(ne) {
		return served, nil
	}
	return served, ne
}

func firstValue(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
