package larder

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store's Get when it holds no entry for the key.
// It is the only error a Store may return for a plain miss; any other error is a
// store failure, which the cache records and then treats as a miss (fail open).
var ErrNotFound = errors.New("larder: entry not found")

// ErrStoreTimeout is recorded when a store call runs past the cache's store timeout.
var ErrStoreTimeout = errors.New("larder: store call timed out")

// Store is where a Cache keeps its entries. Anyone can implement it; the
// store/storetest package checks an implementation in one call.
//
// Every method takes a context carrying the per-call deadline the cache sets
// (see WithStoreTimeout); a networked store must honour it. A Store must be safe
// for concurrent use.
//
// Keys are opaque strings built by the cache. A response without Vary is
// stored under its URI in normal form ("https://example.com/users/1"); a URL
// whose responses vary (or that a per-user route serves) keeps a KindVary
// index there, and each variant under that URI followed by NUL-separated
// parts. A store that needs a restricted key alphabet (memcached) hashes keys.
// Delete is called for invalidation and purge, also for keys that were never
// stored; it is the seed's "collect".
//
// Entries passed to Set are never modified by the cache afterwards, and entries
// returned by Get are never modified by the cache, so an in-process store may keep
// and hand out the same pointer. A store that serialises entries uses
// Entry.MarshalBinary and Entry.UnmarshalBinary.
type Store interface {
	// Get returns the entry stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores e under key for ttl (ttl > 0), replacing any previous entry.
	// After ttl the entry must no longer be returned by Get.
	Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error
	// Delete removes the entry under key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}
