package tiered

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// bus is a node's end of the pub/sub channel: it publishes the keys this
// node writes, and a goroutine of its own receives the keys the others
// write and evicts them from the L1. The node uses its L1 only while the
// goroutine hears from Redis (see live and the package doc).
type bus struct {
	s       *Store
	client  goredis.UniversalClient
	ps      *goredis.PubSub
	channel string
	id      string
	lease   time.Duration

	// heard is the clock's time, in Unix nanoseconds, at which the
	// subscription last delivered something, or 0 while it is down.
	heard atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newBus(s *Store, client goredis.UniversalClient, channel, id string, lease time.Duration) *bus {
	ctx, cancel := context.WithCancel(context.Background())
	b := &bus{
		s: s, client: client, channel: channel, id: id, lease: lease,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	// Subscribe remembers the channel even when it cannot connect yet, and
	// subscribes again on every new connection.
	b.ps = client.Subscribe(ctx, channel)
	go b.run()
	return b
}

func (b *bus) close() {
	b.once.Do(func() {
		b.cancel()
		_ = b.ps.Close()
		<-b.done
	})
}

// live reports whether the node may use its L1 at now: subscribed, and
// heard from within the lease.
func (b *bus) live(now time.Time) bool {
	h := b.heard.Load()
	return h != 0 && now.UnixNano()-h < int64(b.lease)
}

// publish tells the other nodes that this one wrote key. It returns once
// Redis has the message, which it then pushes to every subscriber.
func (b *bus) publish(ctx context.Context, key string) error {
	return b.client.Publish(ctx, b.channel, message(b.id, key)).Err()
}

// run receives until the store is closed. It pings every lease/4 when
// nothing else comes, so that a silent connection shows as one.
func (b *bus) run() {
	defer close(b.done)
	interval := b.lease / 4
	const minBackoff = 10 * time.Millisecond
	backoff := minBackoff
	for {
		msg, err := b.ps.ReceiveTimeout(b.ctx, interval)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) {
				if b.ps.Ping(b.ctx) == nil {
					continue
				}
			}
			// The connection broke (go-redis makes a new one, and
			// subscribes again, on the next call): what was published
			// meanwhile is lost.
			b.down()
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, b.lease/2)
			continue
		}
		backoff = minBackoff
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				// A new subscription: evictions published before it may
				// have been missed: hear empties the L1 first.
				b.heard.Store(0)
				b.hear()
			}
		case *goredis.Message:
			b.hear()
			if id, key, ok := parseMessage(m.Payload); ok && id != b.id {
				b.s.evict(key)
				b.s.stats.evictions.Add(1)
			}
		case *goredis.Pong:
			b.hear()
		}
	}
}

// down marks the subscription down, and empties the L1 the first time.
func (b *bus) down() {
	if b.heard.Swap(0) != 0 {
		b.s.flush()
	}
}

// hear records that the subscription delivered something now. After a
// silence of a lease or more, during which the node did not use its L1,
// the L1 is emptied first: evictions may have been lost.
func (b *bus) hear() {
	now := b.s.now().UnixNano()
	if h := b.heard.Load(); h == 0 || now-h >= int64(b.lease) {
		b.s.flush()
	}
	b.heard.Store(max(now, 1))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
