// Package tiered is a larder.Store in two tiers: a small in-process L1 (a
// store/memory Store) in front of a shared L2 (store/redis, or any other
// larder.ConditionalStore), so that the hottest entries of a fleet are
// served from each node's memory while every node shares one cache.
//
//	l2, _ := redis.New(client, redis.Options{})
//	s, _ := tiered.New(l2, tiered.Options{
//		L1:  memory.Options{MaxBytes: 64 << 20},
//		Bus: client, // the nodes' L1s are kept consistent through Redis pub/sub
//	})
//	defer s.Close()
//	cache := larder.New(s)
//
// The daemon, cmd/larder, takes it as
// --store 'tiered:memory?size=64MiB+redis://host:6379/0'.
//
// # Reads and writes
//
// Get looks in the L1 first; on a miss it reads the L2 and keeps what it read
// in the L1, for at most Options.MaxL1TTL and never past the entry's Expires
// (each up to memory.CoarseResolution, 10 ms, later with the L1's default
// clock, which reads the time every 10 ms; the cache judges freshness with
// its own clock).
// The L1 takes Expires for the time the L2 drops the entry, as it is for
// the entries the cache stores (it stores each for Expires minus now); an
// entry without an Expires is not kept in the L1, and one stored by hand with
// a ttl shorter than its Expires may be served by an L1 up to MaxL1TTL after
// the L2 dropped it.
// GetMulti does the same, reading all the keys the L1 lacks in one L2 call.
// Every write (Set, SetIf, Delete) goes to the L2, then evicts the key from
// this node's L1 and, before it returns, publishes the key on the bus, so that
// every other node evicts it from its L1 too. A write never fills the L1: the
// next Get reads the entry back from the L2. SetIf, which the cache's
// invalidation protocol relies on (larder.ConditionalStore), is the L2's:
// its comparison is made where every node's writes meet.
//
// A fill that raced with an eviction must not leave the old entry behind: a
// Get that read the L2 before another node's write, and whose fill of the L1
// lands after that node's eviction arrived, would keep the old entry. So
// each eviction first bumps a counter of the key's stripe (one of 256), and a
// fill reads the counter before reading the L2 and again after storing in the
// L1, and takes back its fill if the counter moved.
//
// # The bus: Redis pub/sub, not client-side caching
//
// The L1s are kept consistent by Redis pub/sub on one channel
// (Options.Channel): each write publishes "node-id key", and each node
// subscribes and evicts the keys other nodes publish. Redis's server-assisted
// client-side caching (CLIENT TRACKING) was the alternative. It was not
// chosen because (1) it tracks Redis keys, so it works only with an L2 on
// Redis, and only if the L1 is keyed by the Redis keys the L2 reads, where
// pub/sub works with any L2 (a disk, memcached) and any key layout; (2) it
// needs either RESP3 push messages on the very connections that read, which
// go-redis's pooled client does not expose, or the REDIRECT mode with a
// subscription, which is pub/sub again with more server state per client; and
// (3) in BCAST mode it tracks prefixes for every client, at a cost on the
// server for every write, where pub/sub costs one PUBLISH per write. On a
// Redis Cluster, PUBLISH reaches the subscribers connected to any node.
//
// # The consistency window
//
// After a write through one node returns, another node's L1 may serve the
// entry it held before, for as long as the eviction takes to arrive: the
// PUBLISH has reached Redis when the write returns, and Redis pushes the
// message to every subscriber at once; what remains is the network and the
// subscriber's goroutine. TestEvictionAcrossNodes measures it, from the
// write's return on one node to the other node's first read of the new
// state: on loopback, on a loaded 2-CPU VM, p50 0.14–0.21 ms and p99 under
// 6 ms with a standalone Redis, p50 0.2–1.2 ms and p99 8–37 ms (max 44 ms)
// with a 3-master Redis Cluster, where the message crosses the cluster bus.
//
// Pub/sub delivers at most once: a message is lost if the subscriber's
// connection breaks. So a node uses its L1 only while it hears from the bus:
// it pings Redis on the subscription every Options.Lease/4, and when it has
// heard nothing (no message, no pong) for Options.Lease it stops using the L1,
// and reads every key from the L2, until the subscription is back. When the
// subscription breaks or is made again, and when it comes back after a silence
// of a Lease or more, the L1 is emptied before it is used again, since
// evictions may have been missed meanwhile. The window is therefore bounded:
//
//   - normally, by the delivery of one pub/sub message;
//   - when messages are lost (a broken or silent connection), by Options.Lease
//     (default 1 s) after the last thing the node heard;
//   - in every case by Options.MaxL1TTL (default 2 s), how long the L1 keeps
//     anything (plus up to 10 ms with the L1's default, coarse clock).
//
// A write whose PUBLISH fails returns an error, though the L2 was written:
// the cache then reports the invalidation or purge as failed, since it cannot
// know that every node heard of it (the nodes that cannot hear from Redis
// either stop using their L1 within a Lease).
//
// With no bus (Options.Bus nil) the store is for one process: an L2 no other
// process writes (a disk store), where there is no other L1 to keep
// consistent.
//
// # Capabilities
//
// The store is a larder.ConditionalStore (the L2's SetIf), a
// larder.MultiGetter (one L1 pass, then one L2 call for the misses) and a
// larder.LocalGetter: the cache asks the L1 first, directly, as it calls the
// memory store, so that an L1 hit costs what a memory store's hit costs. It
// is not a larder.NonBlockingStore: an L1 miss waits on the L2's network, so
// the cache calls Get and GetMulti under its store timeout. It is not a larder.BodyStreamer:
// the L1 holds whole bodies.
//
// For purge by tag and prefix it is a larder.TagStore (the L2's tag index
// and purge records, where every node sees them), a larder.MultiSetter and
// a larder.MetaRewriter: a purge's tombstones go to the L2 in one call when
// the L2 has SetMulti (a soft purge's rewrites when it has RewriteMeta),
// and their keys are published in pipelines, so that a purge by tag evicts
// every node's L1 as any write does, within the window above
// (TestPurgeTagsAcrossNodes). Over an L2 without a tag index, tagged
// responses are stored and a purge by tag fails with
// larder.ErrTagsUnsupported.
//
// It is a larder.FillLocker, for fleet-wide coalescing: the L2's locks when
// the L2 has them (store/redis), so that the nodes sharing the L2 share
// them; over another L2 it reports every lock held, and each node fetches
// for itself.
package tiered
