package larder

import (
	"context"
	"sync"
	"time"
)

// Request coalescing. Concurrent misses (or revalidations) of the same URL
// make one request to the handler: the first, the leader, goes; the others
// wait for its result and are served the response it stored, when it is
// one they may be given (the same variant, RFC 9111 §4.1). Otherwise they go
// to the handler themselves, those of one variant again behind one leader.
// A response that was not stored (uncacheable, private, with Set-Cookie, too
// large, cut short) is never handed to a waiter, and such a URL is marked
// hit-for-miss for a while: its requests then go to the handler at once, side
// by side, instead of queuing behind each other.
//
// golang.org/x/sync/singleflight does not fit: its Do has no per-waiter
// context or bound on the wait, and DoChan runs the function on a goroutine
// of its own, where a panicking handler would crash the process instead of
// reaching net/http's recovery on the leader's goroutine.

// DefaultCoalesceWait is how long a request waits for the leader of its
// flight when no WithCoalescing option is given.
const DefaultCoalesceWait = 10 * time.Second

// DefaultHitForMiss is how long a URL whose response was not storable goes
// uncoalesced when no WithCoalescing option is given.
const DefaultHitForMiss = 10 * time.Second

// maxHitForMiss bounds the URLs remembered as hit-for-miss.
const maxHitForMiss = 16384

type flights struct {
	mu  sync.Mutex
	m   map[string]*flight
	hfm map[string]time.Time // hit-for-miss until
}

// flight is one request to the handler that others wait for.
type flight struct {
	done    chan struct{}
	tainted bool   // an invalidation of the URL came while it was under way: under flights.mu
	entry   *Entry // set before done is closed: the stored response, or nil
	sec     string // the leader's secondary key for entry (RFC 9111 §4.1)
}

// join returns the flight of key and whether the caller leads it (and must
// land it), or nil when key is hit-for-miss, or when there is no flight and
// the caller may not lead one.
func (f *flights) join(key string, now time.Time, lead bool) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if until, ok := f.hfm[key]; ok {
		if now.Before(until) {
			return nil, false
		}
		delete(f.hfm, key)
	}
	if fl, ok := f.m[key]; ok {
		return fl, false
	}
	if !lead {
		return nil, false
	}
	if f.m == nil {
		f.m = make(map[string]*flight)
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// land ends the flight of key with the leader's stored response e (nil if
// none) and its secondary key sec, and marks key hit-for-miss until until when the response was
// uncacheable (until not zero). When the URLs marked are too many, those
// expired at now are forgotten, or all of them.
func (f *flights) land(key string, fl *flight, e *Entry, sec string, now, until time.Time) {
	f.mu.Lock()
	delete(f.m, key)
	if !until.IsZero() {
		if f.hfm == nil {
			f.hfm = make(map[string]time.Time)
		}
		if len(f.hfm) >= maxHitForMiss {
			for k, t := range f.hfm {
				if !t.After(now) {
					delete(f.hfm, k)
				}
			}
			if len(f.hfm) >= maxHitForMiss {
				clear(f.hfm)
			}
		}
		f.hfm[key] = until
	}
	if fl.tainted {
		e = nil
	}
	f.mu.Unlock()
	fl.entry, fl.sec = e, sec
	close(fl.done)
}

// wait waits for fl to land, at most d and while ctx lasts, and returns its
// entry (nil when there is none or the wait ended first).
func (fl *flight) wait(ctx context.Context, d time.Duration) *Entry {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-fl.done:
		return fl.entry
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// taint marks the flights of the primary key key (its own, its users' and
// its variants'), so that they give their response to no waiter: an
// invalidation of the URL came while they were under way.
func (f *flights) taint(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, fl := range f.m {
		if len(k) > len(key) && k[:len(key)] == key && k[len(key)] == 0 {
			fl.tainted = true
		}
	}
}
