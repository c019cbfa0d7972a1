package larder

import "time"

// DefaultFleetWait is the wait of WithFleetCoalescing when it is given
// zero.
const DefaultFleetWait = 5 * time.Second

// WithFleetCoalescing makes request coalescing (WithCoalescing) fleet-wide,
// over a store that is a FillLocker (store/redis, and store/tiered over it):
// of the concurrent misses of one URL in all the processes sharing the
// store, one goes to the handler, and the others are served the response it
// stored.
//
// The leader of a flight (the request of this process that fetches for the
// others, WithCoalescing) first takes a lock in the store, named by its
// flight (the URL, and the user and the variant where they apply), for
// wait. If it gets it, it fetches, and releases the lock once the
// response is stored (or found not storable). If another process holds it,
// the leader waits for that process's response: it reads the store again,
// first after 5 ms, then at intervals doubling up to 100 ms, and serves
// what it finds once a lookup would serve it (a response fresh for the
// request, of its variant, not invalidated nor purged), with the
// collapsed parameter and detail=fleet in its Cache-Status
// (Event.Collapsed); the requests waiting for it in this process get it
// too. It fetches itself when the lock comes free with no such response
// stored (the holder's response was not storable, or the holder died and
// its lock expired), when a call to the store fails, or when wait has
// passed.
//
// So a request waits for another process at most wait, plus the store
// calls of one read, each within the store timeout (WithStoreTimeout); a
// process that dies holding a lock costs the others at most wait, the
// lock's expiry; and a holder whose handler takes longer than wait has its
// lock expire, and the others fetch too. Zero means DefaultFleetWait (5 s);
// negative turns fleet-wide coalescing off. wait is capped by the
// coalescing wait (DefaultCoalesceWait unless WithCoalescing sets another),
// so that the requests waiting for this process's leader do not give up
// first.
//
// Fleet-wide coalescing is off by default. It does nothing with a store
// that is not a FillLocker, with coalescing off, and for the requests that
// do not coalesce (those that may not lead a flight), nor for a request with
// Cache-Control: no-cache, which must not be served what another process
// stored. It only saves origin requests: every process still stores a
// response only over what it read (ConditionalStore), with the lock or
// without.
func WithFleetCoalescing(wait time.Duration) Option {
	return func(c *config) {
		switch {
		case wait < 0:
			c.fleet = false
		case wait == 0:
			c.fleet, c.fleetWait = true, DefaultFleetWait
		default:
			c.fleet, c.fleetWait = true, wait
		}
	}
}
