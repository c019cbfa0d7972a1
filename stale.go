package larder

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/larder-cache/larder/internal/freshness"
)

// Serving stale responses (RFC 5861, within RFC 9111 §4.2.4: never when a
// directive prohibits it).

// whileRevalidating reports whether a stale response may be served while it
// is revalidated in the background: within its stale-while-revalidate window
// (RFC 5861 §3), and with nothing in the request asking for validation.
func (x *exchange) whileRevalidating(e *Entry, m *entryMeta, age time.Duration) bool {
	swr := m.cc.StaleWhileRevalidate
	if !swr.Set || freshness.StaleProhibited(m.cc, x.shared) {
		return false
	}
	return freshness.Check(age, e.Lifetime+swr.Duration(), x.reqCC, m.cc, x.shared) == freshness.Fresh
}

// ifError reports whether a stale response may be served in place of an
// error from the handler (RFC 5861 §4): the response's or the request's
// stale-if-error window covers its staleness.
func (x *exchange) ifError(e *Entry, m *entryMeta, age time.Duration) bool {
	if freshness.StaleProhibited(m.cc, x.shared) {
		return false
	}
	stale := age - e.Lifetime
	for _, sie := range [...]struct {
		set bool
		d   time.Duration
	}{{m.cc.StaleIfError.Set, m.cc.StaleIfError.Duration()}, {x.reqCC.StaleIfError.Set, x.reqCC.StaleIfError.Duration()}} {
		if sie.set && stale <= sie.d {
			return true
		}
	}
	return false
}

// serveStaleOnError serves the stale response in place of the handler's
// error response, which the client never saw.
func (x *exchange) serveStaleOnError(cw *capture) {
	if !cw.validating {
		clear(x.w.Header())
	}
	e := x.stale
	age := freshness.CurrentAge(e.InitialAge, e.ResponseTime, x.c.cfg.now())
	x.ev.Outcome = OutcomeStaleIfError
	detail := "stale-if-error"
	if cw.unreachable {
		detail = "origin-unreachable"
	}
	x.writeStored(e, x.c.metaOf(e), age, x.c.cfg.name+"; fwd=stale; fwd-status="+itoa(int64(cw.status))+
		"; ttl="+itoa(ttlSeconds(e.Lifetime, age))+"; detail="+detail)
}

// revalidateLater validates a stale response in the background, at most once
// at a time per stored key. The handler sees the request without the
// client's cancellation; what it answers goes to the store only.
func (x *exchange) revalidateLater(e *Entry) {
	c := x.c
	if _, busy := c.inflight.LoadOrStore(x.storedKey, struct{}{}); busy {
		return
	}
	bx := new(exchange)
	*bx = *x
	bx.w = &discard{h: make(http.Header)}
	bx.r = x.r.WithContext(context.WithoutCancel(x.r.Context()))
	if c.cfg.client {
		// A Transport's caller may reuse its request once it has its
		// response: the revalidation gets a copy, without the body.
		bx.r = backgroundRequest(bx.r)
	}
	bx.stale = e
	bx.body = x.detachBody(e)
	if bx.lookedAt.IsZero() {
		// A local store's hit is not dated (serve): date it now, just
		// after, for the checks of a tagged fill (purge.go).
		bx.lookedAt = c.cfg.now()
	}
	bx.ev = Event{Outcome: OutcomeStale, Background: true, Request: bx.r}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer c.inflight.Delete(bx.storedKey)
		defer func() {
			if v := recover(); v != nil {
				c.cfg.logger.Error("larder: handler panicked during background revalidation",
					"key", bx.key, "panic", fmt.Sprint(v))
			}
		}()
		defer bx.observe()
		defer bx.closeBody()
		bx.fetch()
	}()
}

// discard is the ResponseWriter of background revalidations.
type discard struct {
	h http.Header
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
