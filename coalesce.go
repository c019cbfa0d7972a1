package larder

import (
	"context"
	"net/http"
	"time"

	"github.com/larder-cache/larder/internal/freshness"
	"github.com/larder-cache/larder/internal/vary"
)

// fetchCoalesced is the miss path with request coalescing (flight.go): the
// request leads the flight of its URL (and user, on per-user routes), waits
// for its leader, or, when neither applies, fetches alone.
func (x *exchange) fetchCoalesced() {
	if !x.c.cfg.coalesce || !x.mayWait() {
		x.fetch()
		return
	}
	key := x.key + "\x00" + x.user
	if x.index != nil {
		// The URL's variants are known: one flight per variant.
		key += "\x00" + vary.Key(x.index.VaryNames, x.r.Header)
	}
	other, done := x.join(key)
	if done {
		return
	}
	if other != nil && x.index == nil {
		// The leader's response varies, and this request selects another
		// variant: one flight per variant.
		key += "\x00" + vary.Key(other.VaryNames, x.r.Header)
		if _, done = x.join(key); done {
			return
		}
	}
	x.fetch()
}

// join leads or waits for the flight of key. done reports that the request
// was answered: by its own fetch as the leader, or with the leader's stored
// response. Otherwise the request is to fetch alone; other is the leader's
// response when it selects another variant.
func (x *exchange) join(key string) (other *Entry, done bool) {
	c := x.c
	ctx := x.r.Context()
	if lk, _ := ctx.Value(leadingKey{}).(leading); lk.c == c && lk.key == key {
		// The handler of this flight's leader asks the same cache for the
		// same URL (a cache nested in itself): it must not wait for itself.
		return nil, false
	}
	now := c.cfg.now()
	fl, leader := c.flights.join(key, now, x.mayLead())
	if fl == nil {
		return nil, false
	}
	if leader {
		var stored *Entry
		var sec string
		uncacheable := false
		defer func() {
			var until time.Time
			if uncacheable {
				until = c.cfg.now().Add(c.cfg.hitForMiss)
			}
			c.flights.land(key, fl, stored, sec, now, until)
		}()
		x.r = x.r.WithContext(context.WithValue(ctx, leadingKey{}, leading{c, key}))
		if x.fleetCoalesces() {
			defer x.releaseFleet()
			if stored = x.awaitFleet(key); stored != nil {
				// Fetched by another process (fleet.go).
				sec = vary.Key(stored.VaryNames, x.r.Header)
				return nil, true
			}
		}
		stored = x.fetch()
		if stored != nil {
			sec = vary.Key(stored.VaryNames, x.r.Header)
		} else {
			uncacheable = x.ev.NotStored != "" && !transient(x.ev.NotStored)
		}
		return nil, true
	}
	e := fl.wait(ctx, c.cfg.coalesceWait)
	if e == nil {
		return nil, false
	}
	if len(e.VaryNames) > 0 && vary.Key(e.VaryNames, x.r.Header) != fl.sec {
		return e, false
	}
	if e.BodyKey != "" && !x.bodyReady(e, c.metaOf(e)) {
		return nil, false
	}
	x.ev.Collapsed = true
	age := freshness.CurrentAge(e.InitialAge, e.ResponseTime, c.cfg.now())
	x.writeStored(e, c.metaOf(e), age, c.cfg.name+"; fwd="+fwdParam(x.ev.Outcome)+"; collapsed; ttl="+itoa(ttlSeconds(e.Lifetime, age)))
	return nil, true
}

// mayWait reports whether the request, a miss or a validation, may be
// answered with the response another request fetched: a GET or HEAD.
func (x *exchange) mayWait() bool {
	return x.r.Method == http.MethodGet || x.r.Method == http.MethodHead
}

// mayLead reports whether the response to the request is one the others
// can be given: a GET without Range, whose validators, if any, the cache
// answers itself (it has a stored response to validate), and that asks for
// its response to be stored.
func (x *exchange) mayLead() bool {
	if x.r.Method != http.MethodGet || x.rf.rangeV != nil || x.reqCC.NoStore {
		return false
	}
	if x.stale == nil {
		if _, ok := x.r.Header["If-None-Match"]; ok {
			return false
		}
		if _, ok := x.r.Header["If-Modified-Since"]; ok {
			return false
		}
	}
	return true
}

// transient reports whether a response was not stored for a reason of that
// one exchange (cut short, the queue full), not because of what it is: the
// URL is then not marked hit-for-miss.
func transient(reason string) bool {
	switch reason {
	case reasonIncomplete, reasonShortBody, reasonQueueFull, reasonInvalidated:
		return true
	}
	return false
}

// leadingKey is the context key under which a flight's leader marks the
// request it passes to the handler.
type leadingKey struct{}

type leading struct {
	c   *Cache
	key string
}
