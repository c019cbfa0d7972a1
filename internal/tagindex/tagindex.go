// Package tagindex is an in-process index from tags to keys with a purge
// record per tag: the larder.TagStore of stores that live in one process
// (store/memory). Times come from the caller, so that the index follows the
// cache's clock.
//
// It forgets a key recorded under a tag once that record's expiry has passed,
// and a purge record once its keep has: a sweep of the whole index runs when
// the number of records has doubled since the last sweep, so that the index
// holds at most about twice the records that are live, at a constant
// amortised cost per record added.
package tagindex

import (
	"sync"
	"time"
)

// minSweep is the number of records below which the index does not sweep.
const minSweep = 1024

// Index maps tags to keys. The zero value is ready to use; it is safe for
// concurrent use.
type Index struct {
	mu    sync.Mutex
	tags  map[string]*tag
	n     int // records: keys under tags, and purge records
	swept int // n after the last sweep
}

type tag struct {
	keys        map[string]int64 // key -> expiry, UnixNano
	purgedAt    int64            // UnixNano of the latest purge; 0: none
	purgedUntil int64            // when the purge record may be forgotten
}

// Add records key under each of tags until expires, unless one of the tags
// was purged at or after since, in which case it reports false (and records the
// key under none of them). now dates the sweep of expired records.
func (x *Index) Add(key string, tags []string, since, expires, now time.Time) bool {
	s, exp := since.UnixNano(), expires.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.tags == nil {
		x.tags = make(map[string]*tag)
	}
	for _, name := range tags {
		if t := x.tags[name]; t != nil && t.purgedAt >= s {
			return false
		}
	}
	for _, name := range tags {
		t := x.tags[name]
		if t == nil {
			t = &tag{}
			x.tags[name] = t
		}
		if t.keys == nil {
			t.keys = make(map[string]int64)
		}
		old, ok := t.keys[key]
		if !ok {
			x.n++
		}
		if exp > old {
			t.keys[key] = exp
		}
	}
	x.maybeSweep(now)
	return true
}

// Purge records a purge of each tag at now, kept until now+keep, and returns
// the keys recorded under any of them that expire after now, each once.
func (x *Index) Purge(tags []string, now time.Time, keep time.Duration) []string {
	at, until := now.UnixNano(), now.Add(keep).UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.tags == nil {
		x.tags = make(map[string]*tag)
	}
	var out []string
	var seen map[string]struct{}
	if len(tags) > 1 {
		seen = make(map[string]struct{})
	}
	for _, name := range tags {
		t := x.tags[name]
		if t == nil {
			t = &tag{}
			x.tags[name] = t
		}
		if t.purgedAt == 0 {
			x.n++
		}
		t.purgedAt = max(t.purgedAt, at)
		t.purgedUntil = max(t.purgedUntil, until)
		if out == nil {
			out = make([]string, 0, len(t.keys))
		}
		for k, exp := range t.keys {
			if exp <= at {
				continue
			}
			if seen != nil {
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
			}
			out = append(out, k)
		}
	}
	x.maybeSweep(now)
	return out
}

// Len returns the number of records the index holds: keys under tags, and
// purge records.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}

// Sweep forgets every record that has expired at now.
func (x *Index) Sweep(now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sweep(now.UnixNano())
}

func (x *Index) maybeSweep(now time.Time) {
	if x.n >= minSweep && x.n >= 2*x.swept {
		x.sweep(now.UnixNano())
	}
}

func (x *Index) sweep(now int64) {
	n := 0
	for name, t := range x.tags {
		for k, exp := range t.keys {
			if exp <= now {
				delete(t.keys, k)
			}
		}
		if t.purgedAt != 0 && t.purgedUntil <= now {
			t.purgedAt, t.purgedUntil = 0, 0
		}
		if len(t.keys) == 0 && t.purgedAt == 0 {
			delete(x.tags, name)
			continue
		}
		n += len(t.keys)
		if t.purgedAt != 0 {
			n++
		}
	}
	x.n, x.swept = n, n
}
