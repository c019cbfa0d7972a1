package tiered

import (
	"context"
	"time"

	"github.com/larder-cache/larder"
)

var _ larder.FillLocker = (*Store)(nil)

// LockFill is the L2's LockFill when the L2 is a larder.FillLocker
// (store/redis is): the processes sharing the L2 share its locks. With
// another L2 it reports the lock held, with a release that does nothing,
// as larder.FillLocker allows of a store that cannot lock: every caller
// then fetches.
func (s *Store) LockFill(ctx context.Context, key string, ttl time.Duration) (release func(), held bool, err error) {
	if fl, ok := s.l2.(larder.FillLocker); ok {
		return fl.LockFill(ctx, key, ttl)
	}
	return func() {}, true, nil
}
