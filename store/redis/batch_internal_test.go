package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// countHook counts the GETs go-redis sends alone, and how many went in each
// pipeline (not the commands of a connection's set-up).
type countHook struct {
	mu        sync.Mutex
	single    int
	pipelines []int
}

func (h *countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == "get" {
			h.mu.Lock()
			h.single++
			h.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		gets := 0
		for _, c := range cmds {
			if c.Name() == "get" {
				gets++
			}
		}
		if gets > 0 {
			h.mu.Lock()
			h.pipelines = append(h.pipelines, gets)
			h.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

// TestBatcherSendsQueuedReadsTogether: the reads queued when a reader
// starts go out in pipelines of at most MaxBatch, each caller given its own
// key's reply; a read whose caller is gone is left out.
func TestBatcherSendsQueuedReadsTogether(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: standaloneAddr(t), ContextTimeoutEnabled: true})
	defer c.Close()
	h := &countHook{}
	c.AddHook(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prefix := fmt.Sprintf("larder-test:batch:%d:", time.Now().UnixNano())
	defer func() {
		for i := range 20 {
			c.Del(context.Background(), fmt.Sprint(prefix, i))
		}
	}()
	for i := range 20 {
		if err := c.Set(ctx, fmt.Sprint(prefix, i), fmt.Sprint("v", i), time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	h.mu.Lock()
	h.single, h.pipelines = 0, nil
	h.mu.Unlock()

	b := newBatcher(c, 8)
	gone, cancelGone := context.WithCancel(ctx)
	cancelGone()
	var reqs []*getReq
	for i := range 20 {
		r := &getReq{ctx: ctx, key: fmt.Sprint(prefix, i), done: make(chan getRes, 1)}
		if i == 5 {
			r.ctx = gone
		}
		reqs = append(reqs, r)
		b.queue <- r
	}
	b.readers.Add(1)
	b.read() // until the queue is empty
	for i, r := range reqs {
		if i == 5 {
			if len(r.done) != 0 {
				t.Errorf("read %d, whose caller is gone, was answered", i)
			}
			continue
		}
		res := <-r.done
		if res.err != nil || res.v != fmt.Sprint("v", i) {
			t.Errorf("read %d: %q, %v", i, res.v, res.err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// 20 reads, one left out: pipelines of 7 (8 taken, one gone), 8 and 4.
	if fmt.Sprint(h.pipelines) != "[7 8 4]" || h.single != 0 {
		t.Errorf("pipelines %v and %d single commands; want [7 8 4] and 0", h.pipelines, h.single)
	}
	if n := b.readers.Load(); n != 0 {
		t.Errorf("%d readers left", n)
	}
}
