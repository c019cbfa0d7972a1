package redis_test

import (
	"testing"

	"github.com/larder-cache/larder/store/redis"
	"github.com/larder-cache/larder/store/storetest"
)

// TestGetCopiesNoBody: a Get allocates the reply go-redis reads and
// little more: the entry's body is a view of the reply (larder.DecodeEntry),
// not a second copy.
func TestGetCopiesNoBody(t *testing.T) {
	storetest.CheckGetCopiesNoBody(t, newStore(t, standalone.client(t), redis.Options{}))
}
