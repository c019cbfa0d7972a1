package larder

import (
	"context"
	"sync"
)

// maxParallelDeletes bounds the store calls one invalidation or purge runs
// at once.
const maxParallelDeletes = 8

// invalidateKeys removes what is stored under each primary key (every
// variant goes with a URL's Vary index), all keys at once, at most
// maxParallelDeletes store calls in flight, each bounded by the store
// timeout. It returns when every call has ended, so that the invalidation
// is complete in the store before the response that caused it goes out,
// and reports the first error.
func (c *Cache) invalidateKeys(ctx context.Context, keys []string) error {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return c.delete(ctx, keys[0])
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
			if err := c.delete(ctx, k); err != nil {
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
