package larder

import (
	"context"
)

// maxParallelDeletes bounds the store calls one invalidation or purge runs
// at once.
const maxParallelDeletes = 8

// invalidateKeys removes what is stored under each primary key (every
// variant goes with a URL's Vary index): with a ConditionalStore it writes a
// tombstone there (generation.go), else it deletes the key. All keys at
// once, at most maxParallelDeletes store calls in flight, each bounded by
// the store timeout. It returns when every call has ended, so that the
// invalidation is complete in the store before the response that caused it
// goes out, and reports the first error. Flights of these keys under way in
// this process give their response to no waiter.
func (c *Cache) invalidateKeys(ctx context.Context, keys []string) error {
	for _, k := range keys {
		c.flights.taint(k)
	}
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return c.invalidateKey(ctx, keys[0])
	}
	if c.multiSet != nil && c.cond != nil && len(keys) > multiSetMin {
		return c.tombstoneMany(ctx, keys)
	}
	if c.local {
		// Calls that never wait: one after the other, without the cost of
		// a goroutine each (a purge by tag may cover 100,000 keys).
		var first error
		for _, k := range keys {
			if err := c.invalidateKey(ctx, k); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	return inParallel(keys, maxParallelDeletes, func(k string) error { return c.invalidateKey(ctx, k) })
}

func (c *Cache) invalidateKey(ctx context.Context, key string) error {
	if c.cond == nil {
		return c.delete(ctx, key)
	}
	return c.set(ctx, key, c.tombstone(c.cfg.now()), TombstoneTTL)
}

// multiSetMin is the number of keys above which an invalidation writes its
// tombstones with SetMulti, when the store has it; multiSetChunk is how many
// keys one SetMulti call (under the store timeout) takes: on Redis, 64 SETs
// of a tombstone (about 200 bytes each) fit in the 16 KiB that Redis reads
// from a connection at once, and so hold it for one read's commands only.
const (
	multiSetMin      = 16
	multiSetChunk    = 64
	multiSetParallel = 1
)

// tombstoneMany writes one tombstone at every key with the store's
// SetMulti, multiSetChunk keys a call, at most multiSetParallel calls at
// once, and reports the first error. Small chunks, one at a time: a chunk
// holds a Redis server for its length, and the hits of other requests wait
// behind it (see BENCHMARKS.md, purge by tag).
func (c *Cache) tombstoneMany(ctx context.Context, keys []string) error {
	ts := c.tombstone(c.cfg.now())
	return inParallel(chunks(keys, multiSetChunk), multiSetParallel, func(chunk []string) error {
		_, err := storeCall(c, ctx, "setmulti", chunk[0], func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.multiSet.SetMulti(ctx, chunk, ts, TombstoneTTL)
		})
		return err
	})
}
