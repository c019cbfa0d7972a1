// Package storetest checks that an implementation of larder.Store behaves as
// the cache expects. A store's test calls Run once:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) larder.Store {
//			s := mystore.New(...)
//			t.Cleanup(s.Close)
//			return s
//		})
//	}
//
// Run calls newStore for every subtest, with that subtest's *testing.T, so a
// store can register its clean-up with t.Cleanup. Two stores from newStore must
// not see each other's entries (a networked store can use a fresh key prefix or
// database per call, or flush the backend), and each must have room for a 4 MiB
// entry and a few hundred small ones without evicting any. The subtests run one
// after another.
//
// # What is checked
//
//   - Get of a missing key returns an error wrapping larder.ErrNotFound.
//   - Set then Get returns an entry whose every exported field equals the one
//     stored: Kind, Status, Header (all values, in order), Body, RequestTime,
//     ResponseTime and Expires (by time.Time.Equal, a zero time staying zero),
//     InitialAge, Lifetime, VaryNames, Nonce and Tags. A nil and an empty
//     slice or map count as equal, since a serialising store may not keep the
//     difference. Set must not modify the entry it is given.
//   - Set over an existing key replaces the entry; a Get after the overwrite
//     returns the new entry, and an entry returned before is unchanged.
//   - Delete removes the entry; deleting a missing key returns nil.
//   - Entries expire: after their ttl, Get returns ErrNotFound (see below).
//   - Keys with spaces, control bytes, invalid UTF-8, unicode, and keys 300
//     bytes long (also ones differing only in their first or last byte) are
//     kept apart. A store whose backend limits keys must map them, for example
//     by hashing.
//   - A 4 MiB body is stored and returned intact.
//   - Concurrent Set, Get and Delete from many goroutines, on keys of their own
//     and on shared keys, never return a torn or foreign entry. Run the tests
//     with -race.
//   - Calls with a cancelled context, or one whose deadline has passed, must not
//     hang: each must return within a few seconds, either completing normally
//     (what an in-memory store does) or with an error wrapping
//     context.Canceled or context.DeadlineExceeded. The store must work
//     normally afterwards with a live context.
//
// # Optional capabilities
//
// For each optional capability of package larder that the stores implement,
// Run also runs a group of subtests named after the interface; a group whose
// store lacks the capability is skipped, so a store that implements none
// passes as before.
//
//   - BodyStreamer: SetStream then GetStream (and Get) returns the metadata,
//     with a nil Body and meta.Body ignored, and the body read from the
//     stream, with its size given or not (-1), empty, and of 4 MiB in uneven
//     reads; GetStream reads entries stored by Set; a SetStream whose body
//     reader fails (iotest.ErrReader, iotest.TimeoutReader) or is shorter or
//     longer than its size returns an error and stores nothing, leaving the
//     previous entry under the key as it was; a body being read is not
//     changed by a later Set, SetStream or Delete of its key; a body may be
//     closed unread; entries stored by SetStream expire; concurrent SetStream
//     and GetStream never return a body that does not match its metadata; a
//     cancelled context neither hangs nor stores a torn entry.
//   - ConditionalStore: SetIf stores on an absent key with gen "", not with
//     another gen; over a stored entry only with its Nonce as gen, the
//     previous generation then failing; an entry without a Nonce matches "";
//     a deleted or expired entry counts as absent; of 8 concurrent SetIf with
//     the same gen exactly one stores, in each of 50 rounds.
//   - MultiGetter: GetMulti returns one entry per key, in order, nil for
//     misses, expired entries and keys never set, with repeated keys, odd
//     keys, hundreds of keys in one call and none.
//   - LocalGetter: GetLocal never returns an entry that Get would not:
//     nothing for a key never stored, deleted or expired, the latest entry
//     after a Set or an overwrite (or nothing: false is always allowed).
//   - TagStore: PurgeTags returns the keys recorded under any of its tags,
//     each once, and forgets none of them; a key recorded with an expiry at
//     or before the purge's time is not returned, a later AddTags extends an
//     earlier expiry and an earlier one does not shorten it; AddTags of a tag
//     purged at or after its since reports false (a later purge record is
//     never replaced by an earlier one), of other tags true; tags with a NUL,
//     braces, spaces and unicode work; of 200 AddTags racing a PurgeTags,
//     every one that reported true has its key returned by the purge.
//   - MultiSetter: SetMulti of 2,500 keys (one of them set before) stores
//     the entry under each; of no keys does nothing; its entries expire.
//   - FillLocker: a free lock is taken, a held one not until released or
//     expired (by its ttl); locks of other keys, odd keys included, are
//     independent; a lock neither touches nor is touched by the entry of
//     its key (Set, Get, Delete); the release of a lock that expired leaves
//     the lock its next holder took; of 16 concurrent LockFill calls one
//     holds; a cancelled context fails, holding nothing. A store that
//     reports every lock held (a wrapper that cannot lock, which
//     larder.FillLocker allows) passes after that is checked.
//   - MetaRewriter: RewriteMeta hands the rewrite each entry's head (nil
//     for a key that holds none) and stores the head it returns with every
//     other field of the stored entry, header fields, Vary names, tags,
//     body key and body (a 100 kB body, a head of 2 kB, an empty and a nil
//     body, an entry with every field); where nothing was, an entry with
//     nothing but the head; a head of another Kind is not written and its
//     key is returned; a key it declines stays as it was; a
//     key written, deleted or filled between the read and the write keeps
//     that other write and is returned, as is one whose rewrite the store
//     would not keep (a ttl ≤ 0), which is removed; 300 keys in one call
//     are each rewritten with their own body; the rewritten entry expires.
//   - NonBlockingStore: NonBlocking gives the same answer every time; if it
//     is true, every call, of each capability the store has too, completes
//     normally and at once with a cancelled context.
//   - DeadlineStore: HonoursDeadline gives the same answer every time; if
//     it is true, every call (Get, Set, Delete, and GetMulti and SetIf when
//     the store has them) returns with a context whose deadline has passed,
//     and a Get with it finds nothing. (That calls return by a deadline
//     while the store's server stalls needs a fault of the server's:
//     cmd/larder's TestStoreFaults checks it for the daemon's stores.)
//   - EntryKeeper: KeepsEntries gives the same answer every time; if it is
//     true, Get returns the entry Set was given (or a shallow copy), and a
//     larder.Cache over the store serves the responses it stored there in
//     compact form with all their header fields, answers If-None-Match and
//     If-Modified-Since from them, and Entry.Fields and MarshalBinary of
//     the stored entry give those fields.
//
// # Expiry and clocks
//
// A store with an injectable clock passes WithAdvance, a hook that moves the
// store's clock forward; the expiry tests then take no real time and check the
// bounds tightly: an entry is returned 1 ms before its ttl runs out and not
// 1 ms after, and an overwrite restarts the ttl.
//
// Without WithAdvance the expiry test uses real time: it stores an entry with a
// 1 s ttl, and polls Get every 50 ms for up to 2.5 s until it is gone, while an
// entry stored with a one-hour ttl must stay. That suits networked stores whose
// ttl has a resolution of one second (memcached), and costs about 1 s of wall
// time, and as much again for each capability group with an expiry test
// (BodyStreamer, ConditionalStore, MultiGetter, FillLocker).
package storetest
