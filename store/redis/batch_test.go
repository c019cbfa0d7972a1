package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/redis"
)

// TestBatchedGets: many concurrent Gets (read in batches, the default)
// each get their own key's entry, or ErrNotFound for a key with none, on
// one server and on a cluster (whose pipelines span hash slots); with
// batching off (MaxBatch -1) too.
func TestBatchedGets(t *testing.T) {
	for _, sv := range servers {
		for _, maxBatch := range []int{0, 8, -1} {
			t.Run(fmt.Sprintf("%s/maxbatch=%d", sv.name, maxBatch), func(t *testing.T) {
				c := sv.client(t)
				s := newStore(t, c, redis.Options{MaxBatch: maxBatch})
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				const n = 300
				for i := range n {
					if i%3 == 0 {
						continue // no entry
					}
					e := &larder.Entry{Kind: larder.KindResponse, Status: 200, Body: fmt.Appendf(nil, "body %d", i)}
					if err := s.Set(ctx, fmt.Sprintf("http://b.test/%d", i), e, time.Minute); err != nil {
						t.Fatal(err)
					}
				}
				var wg sync.WaitGroup
				errs := make(chan error, 4*n)
				for range 4 {
					for i := range n {
						wg.Go(func() {
							e, err := s.Get(ctx, fmt.Sprintf("http://b.test/%d", i))
							switch {
							case i%3 == 0 && !errors.Is(err, larder.ErrNotFound):
								errs <- fmt.Errorf("key %d: %v, %v; want ErrNotFound", i, e, err)
							case i%3 != 0 && err != nil:
								errs <- fmt.Errorf("key %d: %v", i, err)
							case i%3 != 0 && string(e.Body) != fmt.Sprintf("body %d", i):
								errs <- fmt.Errorf("key %d: body %q", i, e.Body)
							}
						})
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
			})
		}
	}
}

// TestBatchedGetDeadline: a Get whose context ends returns its context's
// error, while the other Gets of the store go on.
func TestBatchedGetDeadline(t *testing.T) {
	c := standalone.client(t)
	s := newStore(t, c, redis.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Set(ctx, "k", &larder.Entry{Kind: larder.KindResponse, Status: 200, Body: []byte("v")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if _, err := s.Get(done, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v, want context.Canceled", err)
	}
	past, cancelPast := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancelPast()
	if _, err := s.Get(past, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if e, err := s.Get(ctx, "k"); err != nil || string(e.Body) != "v" {
		t.Errorf("Get: %v, %v", e, err)
	}
}
