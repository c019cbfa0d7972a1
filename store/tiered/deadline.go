package tiered

import (
	"github.com/larder-cache/larder"
	redisstore "github.com/larder-cache/larder/store/redis"
)

var _ larder.DeadlineStore = (*Store)(nil)

// HonoursDeadline reports whether the store's calls return by their
// context's deadline (larder.DeadlineStore): whether the L2's do (it is a
// larder.DeadlineStore that says so) and, with a bus, whether the bus's
// client does too (redis.ClientHonoursDeadline), since writes publish on
// it before they return. L1 reads never wait.
func (s *Store) HonoursDeadline() bool {
	d, ok := s.l2.(larder.DeadlineStore)
	if !ok || !d.HonoursDeadline() {
		return false
	}
	return s.bus == nil || redisstore.ClientHonoursDeadline(s.bus.client)
}
