// Package redis is a larder.Store on Redis, through
// github.com/redis/go-redis/v9: one code path for a standalone server, a
// Sentinel-managed master and a Redis Cluster, since the store takes a
// redis.UniversalClient. Several larder processes (a fleet of proxies, a
// service's replicas) that share a Redis share one cache, invalidations and
// purges included.
//
//	client := goredis.NewClient(&goredis.Options{
//		Addr:                  "127.0.0.1:6379",
//		ContextTimeoutEnabled: true, // the cache's store deadline then bounds each call
//	})
//	defer client.Close()
//	store, err := redis.New(client, redis.Options{Prefix: "shop:"})
//	...
//	cache := larder.New(store)
//
// The daemon, cmd/larder, takes it as --store redis://host:port/db,
// redis+cluster://host:port,host:port or
// redis+sentinel://host:port/master, with ?prefix= and ?max_value_size=
// among go-redis's options.
//
// Besides larder.Store the store is a larder.ConditionalStore (SetIf is a
// Lua script, atomic on the server), a larder.MultiGetter (GetMulti is
// one MGET for the keys of one URL, which share a hash slot; of one hash
// slot of a cluster; of all on one server), for purges a larder.TagStore,
// a larder.MultiSetter and a larder.MetaRewriter (a soft purge rewrites
// the heads of many entries, larder.EntryHead, splicing each new head
// with the rest of the stored value on the server: no body is read or
// sent, no header field decoded), a larder.FillLocker (see
// "Fill locks") and, with a client made with ContextTimeoutEnabled, a
// larder.DeadlineStore. It is not a
// larder.NonBlockingStore, so the cache calls it under its store timeout, and
// not a larder.BodyStreamer: bodies travel whole, bounded by
// Options.MaxValueSize.
//
// A purge's writes go a few keys a round trip (SetMulti 4, RewriteMeta
// 8), to one server at a time: through a cluster client, to one node
// after the other, through the node's own client (ClusterClient.MasterForKey), so
// that hooks added to the cluster client do not see them and hooks added
// to its nodes (ClusterClient.OnNewNode) do. A unit of SetMulti that a
// node refuses (its slot moved) goes again through the cluster client; a
// RewriteMeta that a node refuses fails, and the cache then soft-purges
// each of its keys on its own.
//
// # Key layout
//
// A larder key k is stored under the Redis key
//
//	<Prefix> "{" <tag> "}" <k>
//
// where tag is the first 8 bytes of SHA-256(primary), in 16 lowercase hex
// digits, and primary is the part of k before its first NUL byte: the
// primary key, the URL (see larder.Store; the cache builds a variant's key
// as the primary key, a NUL, then "v=" and the Vary index's nonce and the
// variant's parts, none of which a primary key in normal form contains).
// The braces make tag the key's Redis Cluster hash tag, so a URL's primary
// key (its response, its Vary index or its tombstone) and all its variants
// hash to one slot:
// GetMulti reads an index and its variant with one MGET, on one node, even
// in a cluster. The whole larder key follows the tag, so two keys never share
// a Redis key whatever their hashes, and `redis-cli --scan --pattern
// 'larder:*example.com/*'` finds a site's entries. The default Prefix is
// "larder:"; it must not contain "{" or "}" (a brace in it would move the
// hash tag), and each store sharing a Redis database with other data (or
// with another cache) should have its own.
//
// # Fill locks
//
// The store is also a larder.FillLocker, for fleet-wide coalescing
// (larder.WithFleetCoalescing): the lock named k is the Redis key
//
//	<Prefix> "fill:{" <tag> "}" <k>
//
// apart from every entry's key (those follow the prefix with "{"), with
// the tag of the entry k. LockFill is one SET NX PX of a random token,
// which expires with the lock, so a process that dies holding a lock
// holds it at most its ttl; release is a script that deletes the key only
// while it holds the caller's token.
//
// # Value format
//
// The value under a key is
//
//	version   1 byte, 1
//	nonceLen  2 bytes, big-endian: the length of the entry's Nonce
//	nonce     nonceLen bytes: Entry.Nonce
//	entry     the entry encoded by Entry.MarshalBinary (format version 2)
//
// The copy of the Nonce up front lets the SetIf script compare it with two
// GETRANGE calls, without reading or decoding the entry, whatever its size.
// Every value is a plain Redis string with an expiry (SET ... PX): the ttl
// given to Set and SetIf, in whole milliseconds (rounded down; a ttl under
// 1 ms stores nothing, as a ttl ≤ 0 does). The store writes no other key
// (but its tag index and fill locks, which expire too), so everything it
// writes expires. Get and GetMulti fail with an error
// wrapping larder.ErrEntryFormat on a value they cannot read (another
// program's data under the prefix, a format from a later version, a value
// cut short or altered), which the cache takes for a miss, and delete it if
// it is still that value (a script compares it), so it is never served and
// costs one failed read. SetIf fails, with the same error, on a value whose
// header is not this format's (it leaves the value as it is). The prefix is
// the store's: keep other programs' data out of it.
//
// # Size
//
// An entry whose value would be larger than Options.MaxValueSize (default
// DefaultMaxValueSize, 9 MiB: the cache's default largest body,
// larder.DefaultMaxObjectSize, plus 1 MiB of header fields and metadata) is
// not stored: Set deletes the key and returns nil, SetIf (when its
// comparison holds) deletes it and returns false, as the memory store does
// with an entry larger than its bound. The store does not split values in
// chunks. Redis serves each command on one thread, and a value travels whole
// in one reply: a 9 MiB value takes about 75 ms on a 1 Gbit/s link, well
// within the cache's default store timeout (250 ms), while a value of
// hundreds of MiB would hold up every other client of the server and could
// never be read within the timeout. MaxValueSize may be raised up to
// MaxMaxValueSize, 64 MiB (Redis itself takes strings up to 512 MiB).
//
// # Consistency
//
//   - Each call is one Redis command (GET, SET, DEL, or one EVALSHA for
//     SetIf) on one key, atomic on the server. GetMulti reads the keys of one
//     hash slot (all of them, on one server) with one MGET, atomic too;
//     keys of different slots are read by separate MGETs (sent in one
//     pipeline), not at one instant, which larder.MultiGetter allows.
//     RewriteMeta compares each key's Nonce and writes its new head in one
//     Lua script (several keys of one slot a call), as SetIf does.
//   - SetIf compares the Nonce and writes in one Lua script, so of
//     concurrent SetIf calls with the same generation, from any number of
//     processes, at most one stores: the cache's invalidation tombstones and
//     conditional fills (see larder.ConditionalStore) hold across a fleet.
//   - The guarantees hold as long as Redis keeps the writes it acknowledged.
//     Replication is asynchronous: after a failover (Sentinel, Cluster) the
//     new master may have lost the last writes, a tombstone among them, and
//     a fill that started before that invalidation may then be stored. An
//     eviction policy that removes keys before their expiry (maxmemory with
//     allkeys-* or volatile-*) can likewise remove a tombstone early, with
//     the same effect; an evicted response is only a miss. Every key has an
//     expiry, so volatile-lru, volatile-lfu and volatile-ttl all apply.
//   - Reads must reach the server: do not give the store a client with
//     client-side caching (go-redis's ClientSideCacheConfig), whose local
//     copies lag behind other processes' writes.
//
// # Deadlines
//
// Every method takes the context the cache gives it, with the cache's store
// deadline, and returns at once with the context's error if it is done
// already. go-redis bounds a command's network I/O by the context's deadline
// only on a client made with ContextTimeoutEnabled (Options, ClusterOptions,
// FailoverOptions, UniversalOptions): set it. Without it a command that has
// started waits for the client's ReadTimeout and WriteTimeout instead (the
// cache still stops waiting at its deadline, but the call goes on in the
// background). cmd/larder sets it. With it the store is a
// larder.DeadlineStore, which the cache calls on the request's goroutine.
//
// # Reads in batches
//
// Concurrent Gets are sent together: each is queued, and a reader
// goroutine sends what is queued, up to Options.MaxBatch (64) reads, in one
// pipeline of GETs (automatic pipelining; still one command per hit).
// Under load this saves most of a round trip's system calls and context
// switches per hit; a caller still waits no longer than its context allows.
// MaxBatch 1 or -1 turns it off.
//
// # Not done
//
//   - Sentinel: the conformance suite runs through one sentinel in front of
//     one master (TestSentinel starts both), but no failover is tested: a
//     master switch, and what the store does while it happens, are left to
//     go-redis. Nor is a cluster's resharding (MOVED, ASK) tested.
//   - No chunking of large values, and no BodyStreamer: a body is read and
//     written whole.
//   - No statistics: the store cannot count its entries or bytes cheaply
//     (DBSIZE counts every key of the database, not the prefix's), so the
//     daemon's larder_stored_* gauges are absent with a Redis store.
//   - The store does not own the client: closing it is the caller's job.
package redis
