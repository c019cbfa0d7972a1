package larder

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// engine is the Cache's machinery for stores over a network: how it calls
// the store (storecall.go), the write-behind queue of store writes
// (this file) and the coalescing of concurrent misses (flight.go).
type engine struct {
	local  bool         // a NonBlockingStore: called directly, written inline
	direct bool         // a DeadlineStore: called on the request's goroutine, under the store timeout
	calls  atomic.Int64 // store calls in flight (not local)

	// Write-behind: jobs wait in queue for up to maxWriters workers,
	// started on demand, each leaving when the queue is empty.
	queue   chan func()
	writers atomic.Int32
	pending sync.WaitGroup // queued and running jobs
	dropped atomic.Int64   // jobs refused because the queue was full

	flights  flights
	fillLock FillLocker // the store's, with WithFleetCoalescing (fleet.go)

	multi    MultiGetter  // the store's, if it has one and is not local
	localGet LocalGetter  // the store's, if it has one and is not local
	memo     *localMemo   // its entries' derived state (localmemo.go)
	decoded  *decodedMemo // the derived state of entries read over the network (decodedmeta.go)
	hints    varyHints    // Vary indexes last read, for multi (hints.go)

	keeps    bool         // an EntryKeeper: responses go to it in compact form
	streamer BodyStreamer // the store's, if it has one and is not local (stream_read.go)
	fills    sync.Map     // body key → *fill: bodies being streamed into the store (stream_fill.go)

	cond      ConditionalStore // the store's, if it has one (generation.go)
	tagStore  TagStore         // the store's, if it has one (purge.go)
	multiSet  MultiSetter      // the store's, if it has one (invalidate_keys.go)
	rewriter  MetaRewriter     // the store's, if it has one and is not local (purge_soft.go)
	purgeRec  PurgeRecorder    // the store's, if it has one and no TagStore (purge_records.go)
	genPrefix string
	genSeq    atomic.Uint64
}

// DefaultWriteQueue is the number of store writes that may wait behind the
// responses that made them when no WithWriteQueue option is given.
const DefaultWriteQueue = 4096

// maxWriters bounds the goroutines that run queued store writes.
const maxWriters = 8

func (c *Cache) initEngine() {
	c.genPrefix = newGenPrefix()
	c.cond, _ = c.store.(ConditionalStore)
	if k, ok := c.store.(EntryKeeper); ok {
		c.keeps = k.KeepsEntries()
	}
	c.tagStore, _ = c.store.(TagStore)
	if c.cfg.fleet && c.cfg.coalesce {
		c.fillLock, _ = c.store.(FillLocker)
	}
	c.multiSet, _ = c.store.(MultiSetter)
	if c.tagStore == nil {
		c.purgeRec, _ = c.store.(PurgeRecorder)
	}
	if nb, ok := c.store.(NonBlockingStore); ok {
		c.local = nb.NonBlocking()
	}
	if d, ok := c.store.(DeadlineStore); ok && !c.local {
		c.direct = d.HonoursDeadline()
	}
	if !c.local {
		c.queue = make(chan func(), c.cfg.writeQueue)
		c.multi, _ = c.store.(MultiGetter)
		c.rewriter, _ = c.store.(MetaRewriter)
		c.localGet, _ = c.store.(LocalGetter)
		if c.localGet != nil {
			c.memo = &localMemo{seed: maphash.MakeSeed()}
		}
		c.streamer, _ = c.store.(BodyStreamer)
		c.decoded = &decodedMemo{seed: maphash.MakeSeed()}
	}
}

// writeBehind queues job, a sequence of store writes, for a writer
// goroutine (the store is not local). It reports false, and runs nothing,
// when the queue is full: the write is then dropped and counted
// (Cache.DroppedWrites).
func (c *Cache) writeBehind(job func()) bool {
	c.pending.Add(1)
	select {
	case c.queue <- job:
	default:
		c.pending.Done()
		c.dropped.Add(1)
		return false
	}
	if n := c.writers.Load(); n < maxWriters && c.writers.CompareAndSwap(n, n+1) {
		go c.writer()
	}
	return true
}

// writer runs queued jobs until the queue is empty.
func (c *Cache) writer() {
	for {
		select {
		case job := <-c.queue:
			job()
			c.pending.Done()
		default:
			c.writers.Add(-1)
			// A job queued between the empty receive and the decrement
			// may have found every writer busy: take it.
			if len(c.queue) == 0 {
				return
			}
			if n := c.writers.Load(); n < maxWriters && c.writers.CompareAndSwap(n, n+1) {
				continue
			}
			return
		}
	}
}

// flush waits until every queued store write has run.
func (c *Cache) flush() { c.pending.Wait() }

// DroppedWrites reports how many store writes were dropped because the
// write-behind queue was full (WithWriteQueue): the responses were served,
// but not stored.
func (c *Cache) DroppedWrites() int64 { return c.dropped.Load() }
