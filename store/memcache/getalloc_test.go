package memcache_test

import (
	"testing"

	"github.com/larder-cache/larder/store/memcache"
	"github.com/larder-cache/larder/store/storetest"
)

// TestGetCopiesNoBody: a Get allocates the item the client reads and
// little more: the entry's body is a view of the item's value
// (larder.DecodeEntry), not a second copy.
func TestGetCopiesNoBody(t *testing.T) {
	storetest.CheckGetCopiesNoBody(t, newStore(t, servers(t), memcache.Options{}))
}
