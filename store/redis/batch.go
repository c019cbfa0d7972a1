package redis

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Reads in batches (automatic pipelining). Concurrent Gets of a store do
// not each make a round trip of their own: each is queued, and a reader
// goroutine sends the queue's reads, up to Options.MaxBatch of them, in one
// pipeline (one write and one read of a connection, for the client and for
// Redis), then hands each caller its reply. Before it takes the queue, the
// reader yields once (runtime.Gosched), so that the requests ready to run
// queue their reads first: on loopback Redis answers about as fast as it is
// asked, and without that yield batches stayed at one read. Under load a
// batch so holds the Gets of the requests that were ready together, and a
// hit costs a fraction of a round trip's system calls and context switches
// (the proxy's hits through Redis on one CPU: 16.4k/s → 28.7k/s, wrk with
// 64 connections, 2026-11-30); alone, a Get is a batch of one, as before,
// plus a goroutine hand-off. A caller waits for its reply until its context ends (the
// cache's store deadline), never longer; a batch is sent with the latest
// deadline of the calls it holds. The readers are started on demand, at
// most maxReaders at once, and leave when the queue is empty: an idle store
// holds no goroutine.

// DefaultMaxBatch is the most reads sent in one pipeline when
// Options.MaxBatch is zero.
const DefaultMaxBatch = 64

// maxReaders bounds the pipelines in flight at once.
const maxReaders = 4

// getReq is one queued Get.
type getReq struct {
	ctx  context.Context
	key  string
	done chan getRes // buffered: the reader never waits for a caller gone
}

type getRes struct {
	v   string
	err error
}

// batcher queues the Gets of a store and sends them in pipelines.
type batcher struct {
	c       goredis.UniversalClient
	max     int
	queue   chan *getReq
	readers atomic.Int32
	pool    sync.Pool // of *getReq, with their channels
}

func newBatcher(c goredis.UniversalClient, max int) *batcher {
	return &batcher{c: c, max: max, queue: make(chan *getReq, 4096)}
}

// get reads the Redis key rk in the next batch: its value, goredis.Nil when
// there is none, or an error.
func (b *batcher) get(ctx context.Context, rk string) (string, error) {
	r, _ := b.pool.Get().(*getReq)
	if r == nil {
		r = &getReq{done: make(chan getRes, 1)}
	}
	r.ctx, r.key = ctx, rk
	select {
	case b.queue <- r:
	default:
		// The queue is full: read on the caller's own.
		r.ctx = nil
		b.pool.Put(r)
		return b.c.Get(ctx, rk).Result()
	}
	if n := b.readers.Load(); n < maxReaders && b.readers.CompareAndSwap(n, n+1) {
		go b.read()
	}
	select {
	case res := <-r.done:
		r.ctx = nil
		b.pool.Put(r)
		return res.v, res.err
	case <-ctx.Done():
		// The reader still sends its reply into r.done, which no one
		// reads: r is not reused.
		return "", context.Cause(ctx)
	}
}

// read sends the queued reads in batches until the queue is empty.
func (b *batcher) read() {
	batch := make([]*getReq, 0, b.max)
	for {
		batch = batch[:0]
		select {
		case r := <-b.queue:
			batch = append(batch, r)
		default:
			b.readers.Add(-1)
			// A read queued between the empty receive and the decrement
			// may have found every reader busy: take it.
			if len(b.queue) == 0 {
				return
			}
			if n := b.readers.Load(); n < maxReaders && b.readers.CompareAndSwap(n, n+1) {
				continue
			}
			return
		}
		// Let the goroutines that are ready to run (requests whose reads
		// are about to be queued) run first: their reads join this batch.
		runtime.Gosched()
	fill:
		for len(batch) < b.max {
			select {
			case r := <-b.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.send(batch)
	}
}

// send reads the keys of batch in one pipeline and answers each caller.
// Calls whose context has ended are left out (their callers are gone).
func (b *batcher) send(batch []*getReq) {
	live := batch[:0]
	var deadline time.Time
	bounded := true
	for _, r := range batch {
		if r.ctx.Err() != nil {
			continue
		}
		if d, ok := r.ctx.Deadline(); !ok {
			bounded = false
		} else if d.After(deadline) {
			deadline = d
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	if bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if len(live) == 1 {
		v, err := b.c.Get(ctx, live[0].key).Result()
		live[0].done <- getRes{v, err}
		return
	}
	cmds := make([]*goredis.StringCmd, len(live))
	_, _ = b.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, r := range live {
			cmds[i] = p.Get(ctx, r.key)
		}
		return nil
	})
	for i, r := range live {
		v, err := cmds[i].Result()
		r.done <- getRes{v, err}
	}
}
