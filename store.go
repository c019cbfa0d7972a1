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
// parts. A response whose body the cache streamed into a BodyStreamer is
// stored as an entry whose BodyKey names the KindBody entry holding the
// body, under the response's key followed by NUL, "body", NUL and a
// generation. A store that needs a restricted key alphabet (memcached)
// hashes keys.
// Delete is called for invalidation and purge, also for keys that were never
// stored; it is the seed's "collect".
//
// Entries passed to Set are never modified by the cache afterwards, and entries
// returned by Get are never modified by the cache, so an in-process store may keep
// and hand out the same pointer. A store that serialises entries uses
// Entry.MarshalBinary and Entry.UnmarshalBinary; the encoding puts the
// metadata first, so that DecodeEntryMeta can read it without the body.
//
// # Optional capabilities
//
// A store may also implement any of these interfaces, which the cache finds
// by a type assertion and uses where they help:
//
//   - BodyStreamer: bodies written and read as streams (SetStream,
//     GetStream), for stores that hold bodies larger than memory and answer
//     HEAD requests, 304s and freshness checks without reading a body.
//   - ConditionalStore: compare-and-set on Entry.Nonce (SetIf), for
//     invalidation that stays consistent across processes sharing the store.
//   - MultiGetter: several keys in one call (GetMulti), one round trip for a
//     Vary index and its variant.
//   - TagStore: an index from tags to keys, for purge by tag and by
//     prefix (Cache.PurgeTags, Cache.PurgePrefix).
//   - MultiSetter: one entry under many keys in few round trips (SetMulti),
//     for the tombstones of a purge by tag or prefix.
//   - NonBlockingStore: an in-process store whose calls never wait on I/O,
//     which the cache calls directly, without a deadline or a goroutine.
//   - LocalGetter: a store over a network that keeps some entries in
//     process memory too (GetLocal), which the cache asks first, directly.
//
// A store that implements none of them works as well; the store/storetest
// package checks each one a store implements.
type Store interface {
	// Get returns the entry stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores e under key for ttl (ttl > 0), replacing any previous entry.
	// After ttl the entry must no longer be returned by Get.
	Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error
	// Delete removes the entry under key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}
