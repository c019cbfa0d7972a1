package larder

import (
	"context"
	"sync"
	"time"

	"github.com/larder-cache/larder/internal/freshness"
)

// Fleet-wide coalescing (WithFleetCoalescing). The leader of a flight
// (flight.go) takes the flight's lock in the store (FillLocker) before it
// fetches. Holding it, it fetches, and the lock goes once the writes of the
// response have run (fleetLock, handed to exchange.write), or at once when
// nothing is stored. Not holding it, it waits for the process that does:
// it looks the request up again, as the first lookup did (lookup: the
// Vary index and the variant, generations, purge records; then freshness,
// as fromCache), until it finds a response it may serve, the lock comes
// free (it then takes it and fetches), the wait runs out, or the store
// fails. Having taken the lock, at once or after waiting, it reads once
// more before it fetches: the holder may have stored its response and
// released the lock between the last read and the lock. A fleet miss so
// costs the lookup, a lock and a second read before the fetch. The waits are in real time, not on the cache's clock
// (WithClock): the lock expires on the store's.

// The intervals at which a leader waiting for another process reads the
// store again: the first, doubling up to the last.
const (
	fleetPollMin = 5 * time.Millisecond
	fleetPollMax = 100 * time.Millisecond
)

// fleetLock is a fill lock the cache holds: released once, by the store
// writes of the response fetched under it, or when there are none.
type fleetLock struct {
	once    sync.Once
	release func()
}

func (u *fleetLock) done() { u.once.Do(u.release) }

// fleetWait is how long a leader waits for another process, and the ttl
// of its own lock.
func (c *Cache) fleetWait() time.Duration {
	return min(c.cfg.fleetWait, c.cfg.coalesceWait)
}

// fleetCoalesces reports whether the request, the leader of a flight,
// takes the flight's lock: with WithFleetCoalescing over a FillLocker, for
// a request that may be served what another process stored.
func (x *exchange) fleetCoalesces() bool {
	return x.c.fillLock != nil && !x.reqCC.NoCache
}

// awaitFleet takes the lock of the flight key, or waits for the process
// holding it (see above). It returns the response it served, stored by
// that process; or nil, and the request is to fetch, holding the lock
// (x.unlock) or not.
func (x *exchange) awaitFleet(key string) *Entry {
	ctx := x.r.Context()
	wait := x.c.fleetWait()
	start := time.Now()
	poll := fleetPollMin
	var t *time.Timer
	for {
		held, err := x.lockFleet(ctx, key)
		if err != nil {
			return nil
		}
		if held {
			// The holder may have stored and released between the last
			// read (the request's lookup, or a poll) and the lock: read
			// once more before fetching.
			if e := x.lookAgain(); e != nil {
				x.releaseFleet()
				return e
			}
			return nil
		}
		left := wait - time.Since(start)
		if left <= 0 {
			return nil
		}
		if t == nil {
			t = time.NewTimer(min(poll, left))
			defer t.Stop()
		} else {
			poll = min(2*poll, fleetPollMax)
			t.Reset(min(poll, left))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if e := x.lookAgain(); e != nil {
			return e
		}
	}
}

// lockResult is what LockFill returned.
type lockResult struct {
	release func()
	held    bool
}

// lockFleet tries to take the lock of the flight key, under the store
// timeout, and reports whether it did (x.unlock then holds it).
func (x *exchange) lockFleet(ctx context.Context, key string) (bool, error) {
	c := x.c
	ttl := c.fleetWait()
	res, err := storeCall(c, ctx, "lockfill", key, func(ctx context.Context) (lockResult, error) {
		release, held, err := c.fillLock.LockFill(ctx, key, ttl)
		if held && (err != nil || ctx.Err() != nil) {
			// Taken as the caller gave up on the call (its deadline):
			// no one would release it.
			release()
			return lockResult{}, err
		}
		return lockResult{release, held}, err
	})
	if err != nil {
		x.record(err)
		return false, err
	}
	if res.held {
		if res.release == nil {
			res.release = func() {}
		}
		x.unlock = &fleetLock{release: res.release}
	}
	return res.held, nil
}

// releaseFleet releases the lock the exchange holds, if the writes of its
// response did not take it (nothing stored): in the background, tracked
// as a store write (Close waits for it), not on the request's goroutine.
func (x *exchange) releaseFleet() {
	u := x.unlock
	if u == nil {
		return
	}
	x.unlock = nil
	c := x.c
	c.pending.Add(1)
	go func() {
		defer c.pending.Done()
		u.done()
	}()
}

// lookAgain looks the request up again, as the first lookup did. When it
// finds a response the request may be given now, it serves it (collapsed,
// as from this process's own flight) and returns it. Otherwise the
// exchange takes what it read (what its own fetch, if any, revalidates and
// stores over), unless the store failed, and it returns nil.
func (x *exchange) lookAgain() *Entry {
	c := x.c
	y := *x
	y.body, y.index, y.seen, y.stale, y.storedKey = nil, nil, nil, nil, ""
	y.ev.StoreErr = nil
	y.lookedAt = c.cfg.now()
	e := y.lookup()
	if y.ev.StoreErr != nil {
		y.closeBody()
		return nil
	}
	outcome := x.ev.Outcome
	x.closeBody()
	*x = y
	if e == nil {
		return nil
	}
	age := freshness.CurrentAge(e.InitialAge, e.ResponseTime, c.cfg.now())
	m := c.metaOf(e)
	switch freshness.Check(age, e.Lifetime, x.reqCC, m.cc, x.shared) {
	case freshness.Fresh, freshness.StaleAllowed:
		if e.BodyKey != "" && !x.bodyReady(e, m) {
			x.ev.Outcome = OutcomeMiss
			return nil
		}
		x.ev.Outcome, x.ev.Collapsed = outcome, true
		x.writeStored(e, m, age, c.cfg.name+"; fwd="+fwdParam(outcome)+"; collapsed; ttl="+itoa(ttlSeconds(e.Lifetime, age))+"; detail=fleet")
		return e
	}
	x.stale = e
	x.ev.Outcome = OutcomeStale
	return nil
}
