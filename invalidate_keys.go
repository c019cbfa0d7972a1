package larder

import (
	"context"
	"sync"
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
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, maxParallelDeletes)
	)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.invalidateKey(ctx, k); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func (c *Cache) invalidateKey(ctx context.Context, key string) error {
	if c.cond == nil {
		return c.delete(ctx, key)
	}
	return c.set(ctx, key, c.tombstone(c.cfg.now()), TombstoneTTL)
}
