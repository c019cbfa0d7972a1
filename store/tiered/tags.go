package tiered

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/larder-cache/larder"
	goredis "github.com/redis/go-redis/v9"
)

// Purge by tag (larder.TagStore, larder.MultiSetter, larder.MetaRewriter)
// is the L2's: the tag index and the purge records live where every node
// sees them, and a purge writes its tombstones (or, soft, its stale
// entries) through this store, so each purged key is evicted from every
// node's L1 as any other write is (the window of the package doc
// applies).

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

// publishBatch is how many evictions wroteMany publishes in one pipeline.
const publishBatch = 1000

// SetMulti stores e under each of keys in the L2 (in one call when the L2
// is a larder.MultiSetter, else key by key), then evicts the keys from
// every node's L1 (wroteMany).
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
	return s.wroteMany(ctx, keys)
}

// RewriteMeta is the L2's RewriteMeta (larder.MetaRewriter), or over an L2
// without one a Get and a SetIf of each key (the body read is written
// back), after which the keys are evicted from every node's L1
// (wroteMany).
func (s *Store) RewriteMeta(ctx context.Context, keys []string, rewrite func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	var retry []string
	var err error
	if mr, ok := s.l2.(larder.MetaRewriter); ok {
		retry, err = mr.RewriteMeta(ctx, keys, rewrite)
	} else {
		retry, err = s.rewriteEach(ctx, keys, rewrite)
	}
	if err != nil {
		for _, k := range keys {
			s.evict(k) // the L2 may have changed
		}
		return nil, err
	}
	return retry, s.wroteMany(ctx, keys)
}

// rewriteEach is RewriteMeta on the L2 one key at a time, with Get and
// SetIf.
func (s *Store) rewriteEach(ctx context.Context, keys []string, rewrite func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	var retry []string
	for _, k := range keys {
		e, err := s.l2.Get(ctx, k)
		if err != nil && !errors.Is(err, larder.ErrNotFound) {
			return nil, err
		}
		var read *larder.EntryHead
		gen := ""
		if e != nil {
			h := e.Head()
			read, gen = &h, e.Nonce
		}
		nh, ttl, write := rewrite(k, read)
		if !write {
			continue
		}
		var ne *larder.Entry
		switch {
		case e == nil:
			ne = nh.Entry()
		case nh.Kind != e.Kind:
			retry = append(retry, k)
			continue
		default:
			ne = e.WithHead(nh) // the body read, written back
		}
		ok, err := s.l2.SetIf(ctx, k, ne, ttl, gen)
		if err != nil {
			return nil, err
		}
		if !ok {
			retry = append(retry, k)
		}
	}
	return retry, nil
}

// wroteMany evicts keys from this node's L1 and from the others',
// publishing them in pipelines of publishBatch messages.
func (s *Store) wroteMany(ctx context.Context, keys []string) error {
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
