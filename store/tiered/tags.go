package tiered

import (
	"context"
	"fmt"
	"time"

	"github.com/larder-cache/larder"
	goredis "github.com/redis/go-redis/v9"
)

// Purge by tag (larder.TagStore, larder.MultiSetter) is the L2's: the tag
// index and the purge records live where every node sees them, and a purge
// writes its tombstones through this store, so each purged key is evicted
// from every node's L1 as any other write is (the window of the package
// doc applies).

// AddTags is the L2's AddTags when the L2 is a larder.TagStore. Over an L2
// without one it records nothing and reports true, and PurgeTags fails:
// the entry is stored, and a purge by its tags says it cannot be done.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, since, expires time.Time) (bool, error) {
	ts, ok := s.l2.(larder.TagStore)
	if !ok {
		return true, nil
	}
	return ts.AddTags(ctx, key, tags, since, expires)
}

// PurgeTags is the L2's PurgeTags, or an error wrapping
// larder.ErrTagsUnsupported when the L2 has none.
func (s *Store) PurgeTags(ctx context.Context, tags []string, now time.Time, keep time.Duration) ([]string, error) {
	ts, ok := s.l2.(larder.TagStore)
	if !ok {
		return nil, fmt.Errorf("tiered: the L2 (%T) keeps no tag index: %w", s.l2, larder.ErrTagsUnsupported)
	}
	return ts.PurgeTags(ctx, tags, now, keep)
}

// publishBatch is how many evictions SetMulti publishes in one pipeline.
const publishBatch = 1000

// SetMulti stores e under each of keys in the L2 (in one call when the L2
// is a larder.MultiSetter, else key by key), then evicts the keys from
// every node's L1, publishing them in pipelines of publishBatch messages.
func (s *Store) SetMulti(ctx context.Context, keys []string, e *larder.Entry, ttl time.Duration) error {
	if ms, ok := s.l2.(larder.MultiSetter); ok {
		err := ms.SetMulti(ctx, keys, e, ttl)
		if err != nil {
			for _, k := range keys {
				s.evict(k) // the L2 may have changed
			}
			return err
		}
	} else {
		for _, k := range keys {
			if err := s.l2.Set(ctx, k, e, ttl); err != nil {
				s.evict(k)
				return err
			}
		}
	}
	for _, k := range keys {
		s.evict(k)
	}
	if s.bus == nil {
		return nil
	}
	for len(keys) > 0 {
		n := min(len(keys), publishBatch)
		batch := keys[:n]
		keys = keys[n:]
		_, err := s.bus.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range batch {
				p.Publish(ctx, s.bus.channel, message(s.bus.id, k))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("tiered: the L2 was written, but the other nodes' L1s were not told: %w", err)
		}
	}
	return nil
}
