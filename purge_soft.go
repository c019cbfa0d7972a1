package larder

import (
	"context"
	"time"

	"github.com/larder-cache/larder/internal/freshness"
)

// Soft purge: a response stored from a request sent before the purge is
// made stale, not removed. "Stale" is RFC 9111's: its freshness lifetime
// is cut to its age at the purge (§4.2.1, §4.2.3), so that from then on it is
// served only where a stale response may be (stale-while-revalidate and
// stale-if-error of RFC 5861, max-stale, an unreachable origin: §4.2.4), and
// Cache-Status shows it so (a negative ttl, fwd=stale). It keeps its
// validators, so that a revalidation can answer 304 (§4.3), and its stale
// windows, which now start at the purge.
//
//   - A response at the primary key is rewritten so, with a fresh Nonce,
//     over the generation read (SetIf): a fill that looked up before the
//     soft purge cannot store after it.
//   - The variants of a Vary index cannot be listed. The index is rewritten
//     with the purge time in its ResponseTime (unused otherwise on an
//     index, and kept by the fills that rewrite it for the same variants),
//     and a lookup makes stale every variant whose request was sent at or
//     before it (staleAt). The index keeps its Nonce, which is the
//     variants' generation; so, unlike the other purges, a fill of a
//     variant that looked up before the soft purge and stores after it
//     (or rewrites the index it read, dropping the mark) is not stopped.
//     A purge by tag or prefix still stops a tagged one (purge.go).
//
// A response whose request was sent after the purge is left as it is: it
// is newer than the purge. A key that holds nothing gets a tombstone, as
// Purge would write.

// maxSoftTries bounds the rewrites of one key that a soft purge tries when
// other writes keep replacing the entry it read.
const maxSoftTries = 4

// softenKeys soft-purges each primary key at now, returning when all are
// done, with the first error: many keys on a store over a network in
// chunks (softenMany), else one key at a time (at most maxParallelDeletes
// at once). Flights under way for the keys give their response to no
// waiter.
func (c *Cache) softenKeys(ctx context.Context, keys []string, now time.Time) error {
	for _, k := range keys {
		c.flights.taint(k)
	}
	if c.local {
		for _, k := range keys {
			if err := c.softenKey(ctx, k, now); err != nil {
				return err
			}
		}
		return nil
	}
	if (c.rewriter != nil || c.multi != nil) && len(keys) > multiSetMin {
		return c.softenMany(ctx, keys, now)
	}
	return inParallel(keys, maxParallelDeletes, func(k string) error { return c.softenKey(ctx, k, now) })
}

func (c *Cache) softenKey(ctx context.Context, key string, now time.Time) error {
	for range maxSoftTries {
		e, err := c.get(ctx, key)
		if err != nil {
			return err
		}
		if done, err := c.softenEntry(ctx, key, e, now); done || err != nil {
			return err
		}
	}
	return nil
}

// softenEntry soft-purges key, where e (nil: nothing) was read, and reports
// whether it is done; false means another write replaced e meanwhile, and
// the key is to be read again.
func (c *Cache) softenEntry(ctx context.Context, key string, e *Entry, now time.Time) (bool, error) {
	ne, ttl, write := c.softened(e, now)
	switch {
	case !write:
		return true, nil
	case ne.Kind == KindTombstone:
		// Nothing to mark: a purge of nothing, whose tombstone stops
		// a fill under way as Purge's does.
		return true, c.invalidateKey(ctx, key)
	case c.cond == nil:
		return true, c.set(ctx, key, ne, ttl)
	}
	return storeCall(c, ctx, "setif", key, func(ctx context.Context) (bool, error) {
		return c.cond.SetIf(ctx, key, ne, ttl, e.Nonce)
	})
}

// softened returns what a soft purge at now writes where e (nil: nothing)
// was read, for how long, and whether it writes anything: e made stale,
// with a fresh Nonce; a tombstone where nothing or a tombstone was; or
// nothing, where e is newer than the purge, expired, or of another kind.
// Only the head changes (softenedHead): every other field, the header
// fields and the body, is the one read.
func (c *Cache) softened(e *Entry, now time.Time) (ne *Entry, ttl time.Duration, write bool) {
	var h *EntryHead
	if e != nil {
		eh := e.Head()
		h = &eh
	}
	nh, ttl, write := c.softenedHead(h, now)
	switch {
	case !write:
		return nil, 0, false
	case e == nil || e.Kind == KindTombstone:
		return nh.Entry(), ttl, true
	}
	return e.WithHead(nh), ttl, true
}

// softenedHead is softened on the head of the entry read (nil: nothing),
// which is all a soft purge reads and changes of it: the lifetime of a
// response, cut to its age at now, and its Nonce; the ResponseTime of a
// Vary index; or a new tombstone's head.
func (c *Cache) softenedHead(h *EntryHead, now time.Time) (nh EntryHead, ttl time.Duration, write bool) {
	if h == nil || h.Kind == KindTombstone {
		return c.tombstoneHead(c.cfg.now()), TombstoneTTL, true
	}
	ttl = h.Expires.Sub(c.cfg.now())
	switch h.Kind {
	case KindResponse:
		if h.RequestTime.After(now) || ttl <= 0 {
			return EntryHead{}, 0, false
		}
		// Rewritten with a fresh Nonce even when stale already, so
		// that a revalidation under way cannot store over it.
		nh = *h
		nh.Lifetime = staleLifetime(h, now)
		nh.Nonce = c.newGen()
		return nh, ttl, true
	case KindVary:
		if !h.ResponseTime.Before(now) || ttl <= 0 {
			return EntryHead{}, 0, false
		}
		nh = *h
		nh.ResponseTime = now
		return nh, ttl, true
	}
	return EntryHead{}, 0, false
}

// softenMany is softenKeys on a store over a network with RewriteMeta or
// GetMulti, softChunk keys at a time. With RewriteMeta, one call rewrites
// a chunk, at most softParallel chunks at once: the store's calls are few
// and large, and more at once would hold a Redis server from the hits of
// other requests. With GetMulti, one call reads a chunk, then its keys are
// rewritten one by one, at most maxParallelDeletes chunks at once. A key
// another write changed meanwhile is then read again by itself.
func (c *Cache) softenMany(ctx context.Context, keys []string, now time.Time) error {
	if c.rewriter != nil {
		return inParallel(chunks(keys, softChunk), softParallel, func(chunk []string) error {
			return c.softenChunk(ctx, chunk, now)
		})
	}
	return inParallel(chunks(keys, softChunk), maxParallelDeletes, func(chunk []string) error {
		es, err := storeCall(c, ctx, "getmulti", chunk[0], func(ctx context.Context) ([]*Entry, error) {
			return c.multi.GetMulti(ctx, chunk)
		})
		if err != nil {
			return err
		}
		var first error
		for i, k := range chunk {
			done, err := c.softenEntry(ctx, k, es[i], now)
			if err == nil && !done {
				err = c.softenKey(ctx, k, now)
			}
			if err != nil && first == nil {
				first = err
			}
		}
		return first
	})
}

// softenChunk soft-purges the keys of chunk with one RewriteMeta call:
// only the heads of the entries change (softenedHead), their bodies stay
// in the store. Each key the call did not rewrite (another write replaced
// the entry read, or the store cannot rewrite it so), every key of a call
// that failed, is then soft-purged by itself, reading it again.
func (c *Cache) softenChunk(ctx context.Context, chunk []string, now time.Time) error {
	retry, err := storeCall(c, ctx, "rewritemeta", chunk[0], func(ctx context.Context) ([]string, error) {
		return c.rewriter.RewriteMeta(ctx, chunk, func(_ string, h *EntryHead) (EntryHead, time.Duration, bool) {
			return c.softenedHead(h, now)
		})
	})
	if err != nil {
		retry = chunk
	}
	var first error
	for _, k := range retry {
		if err := c.softenKey(ctx, k, now); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// softChunk is how many keys softenMany reads in one store call, and
// softParallel how many chunks it rewrites at once with RewriteMeta.
const (
	softChunk    = 128
	softParallel = 1
)

// staleAt returns e as a response stale from t on: a copy whose lifetime is
// at most its age at t (RFC 9111 §4.2.3), or e itself if it is so already.
func staleAt(e *Entry, t time.Time) *Entry {
	h := e.Head()
	l := staleLifetime(&h, t)
	if l == e.Lifetime {
		return e
	}
	ne := *e
	ne.Lifetime = l
	return &ne
}

// staleLifetime is the lifetime of the response whose head is h as a
// response stale from t on: at most its age at t.
func staleLifetime(h *EntryHead, t time.Time) time.Duration {
	return min(h.Lifetime, max(freshness.CurrentAge(h.InitialAge, h.ResponseTime, t), 0))
}
