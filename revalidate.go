package larder

import (
	"net/http"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/conditional"
	"github.com/larder-cache/larder/internal/freshness"
	"github.com/larder-cache/larder/internal/storability"
)

// freshen handles a 304 answering the cache's validation request: the stored
// response is updated with the 304's header fields and served
// (RFC 9111 §4.3.3, §4.3.4, §3.2).
func (x *exchange) freshen(cw *capture) {
	old := x.stale
	if tag, ok := conditional.ParseETag(firstValue(cw.header, "Etag")); ok && !tag.Weak {
		if stored, ok := conditional.ParseETag(x.c.metaOf(old).etag); !ok || !conditional.StrongMatch(tag, stored) {
			// §4.3.4: the 304 selects a representation the cache does not
			// hold, so it updates nothing. Fetch the current one in full.
			x.drop(x.storedKey)
			x.stale = nil
			x.fetch()
			return
		}
	}
	ne, stored := x.refresh(cw)
	age := freshness.CurrentAge(ne.InitialAge, ne.ResponseTime, x.c.cfg.now())
	if x.ev.Outcome != OutcomeRequest {
		x.ev.Outcome = OutcomeRevalidated
	}
	x.writeStored(ne, ne.meta, age, x.revalidatedStatus(ne, age, stored))
}

// headUpdate handles a 200 to a HEAD request while a stale GET response is
// stored: matching validators update it, others make it unusable
// (RFC 9111 §4.3.5).
func (x *exchange) headUpdate(cw *capture) {
	m := x.c.metaOf(x.stale)
	tag, lm := firstValue(cw.header, "Etag"), firstValue(cw.header, "Last-Modified")
	// Validators the HEAD response carries must match; with none on either
	// side, nothing tells them apart, and the HEAD response updates.
	match := (tag == m.etag || tag == "" && m.etag == "") &&
		(lm == m.lastModified || lm == "" && m.lastModified == "")
	if n, ok := contentLength(cw.header); ok && n != int64(len(x.stale.Body)) {
		match = false
	}
	if !match {
		x.drop(x.storedKey)
		return
	}
	x.refresh(cw)
}

// refresh stores the stale response updated with the header of a newer
// response to the same request, and returns it.
func (x *exchange) refresh(cw *capture) (*Entry, bool) {
	old := x.stale
	merged := mergeHeader(old.Header, cw.header)
	cc, _ := cachecontrol.ParseTargeted(merged, x.c.cfg.targeted)
	ne := &Entry{
		Kind:         KindResponse,
		Status:       old.Status,
		Header:       merged,
		Body:         old.Body,
		RequestTime:  x.reqTime,
		ResponseTime: cw.respTime,
		InitialAge:   freshness.InitialAge(cw.header, x.reqTime, cw.respTime),
		VaryNames:    old.VaryNames,
	}
	ne.Lifetime, _ = freshness.Lifetime(old.Status, merged, cc, x.shared, cw.respTime, x.c.heuristic())
	ne.meta = x.c.newMeta(ne)
	ok, reason := storability.Decide(
		storability.Request{Method: http.MethodGet, Header: x.r.Header, CC: x.reqCC},
		storability.Response{Status: old.Status, Header: merged, CC: cc},
		x.shared)
	ttl := x.c.keepFor(ne.Lifetime, ne.InitialAge, cc)
	if !ok || ttl <= 0 {
		if reason == "" {
			reason = "stale"
		}
		x.ev.NotStored = reason
		x.drop(x.storedKey)
		return ne, false
	}
	ne.Expires = cw.respTime.Add(ttl)
	x.put(ne)
	return ne, x.ev.Stored
}

func firstValue(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
