package larder

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultStoreTimeout bounds every call to a store that is not a
// NonBlockingStore when no WithStoreTimeout option is given.
const DefaultStoreTimeout = 250 * time.Millisecond

// maxStoreCalls bounds the calls to a store that is not local in flight at
// once, those given up on at their deadline included: a store that ignores
// its context and never returns holds at most this many goroutines, and
// every call past them fails at once.
const maxStoreCalls = 4096

// errStoreBusy is the failure of a call that found maxStoreCalls in flight.
var errStoreBusy = errors.New("larder: too many store calls in flight")

// Store calls. A NonBlockingStore is called directly: it never waits; so
// is a LocalGetter's GetLocal, before its Get.
// Any other store is called on a goroutine of its own that the request waits
// for until the store timeout, and no longer: a store that blocks, even one
// that ignores its context, costs a request at most the timeout, and a
// failure or a timeout counts as a miss (or an unstored response). A call
// given up on finishes in the background, its context cancelled.

func (c *Cache) get(ctx context.Context, key string) (*Entry, error) {
	if c.local {
		// Directly, not through storeCall: its closure would escape, an
		// allocation on every hit.
		e, err := c.store.Get(ctx, key)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, nil
			}
			return nil, c.storeError("get", key, ctx, err)
		}
		if c.lostFields(e) {
			return nil, c.storeError("get", key, ctx, errLostFields)
		}
		return e, nil
	}
	if c.localGet != nil {
		if e, ok := c.getLocal(key); ok {
			return e, nil
		}
	}
	e, err := storeCall(c, ctx, "get", key, func(ctx context.Context) (*Entry, error) {
		return c.store.Get(ctx, key)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if c.lostFields(e) {
		return nil, c.storeError("get", key, ctx, errLostFields)
	}
	return c.withMeta(key, e), nil
}

// errLostFields is the store failure of an EntryKeeper that returned a
// response without its header fields.
var errLostFields = fmt.Errorf("%w: a response from an EntryKeeper has neither a Header nor its compact form (was it copied field by field?)", ErrEntryFormat)

// lostFields reports whether e, read from an EntryKeeper, is a response
// that lost its compact form: no Header and no meta. The cache never
// stores such an entry there; a store that rebuilds entries field by field
// (which EntryKeeper rules out) makes one, and serving it would drop every
// header field, Content-Type and Content-Encoding included. It is taken
// for a store failure, and so for a miss.
func (c *Cache) lostFields(e *Entry) bool {
	return c.keeps && e != nil && e.Kind == KindResponse && e.Header == nil && e.meta == nil
}

func (c *Cache) set(ctx context.Context, key string, e *Entry, ttl time.Duration) error {
	_, err := storeCall(c, ctx, "set", key, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.store.Set(ctx, key, e, ttl)
	})
	return err
}

func (c *Cache) delete(ctx context.Context, key string) error {
	_, err := storeCall(c, ctx, "delete", key, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.store.Delete(ctx, key)
	})
	return err
}

type callResult[T any] struct {
	v   T
	err error
}

// storeCall runs fn, a call of the store, as the comment above says. ErrNotFound
// passes through unlogged; any other failure is logged and returned.
func storeCall[T any](c *Cache, ctx context.Context, op, key string, fn func(context.Context) (T, error)) (T, error) {
	if c.local {
		v, err := fn(ctx)
		if err != nil && !errors.Is(err, ErrNotFound) {
			err = c.storeError(op, key, ctx, err)
		}
		return v, err
	}
	if c.direct {
		// The store returns by its context's deadline (DeadlineStore):
		// called on the request's goroutine, under the store timeout.
		if c.cfg.storeTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, c.cfg.storeTimeout, ErrStoreTimeout)
			defer cancel()
		}
		v, err := fn(ctx)
		if err != nil && !errors.Is(err, ErrNotFound) {
			err = c.storeError(op, key, ctx, err)
		}
		return v, err
	}
	var zero T
	if c.calls.Add(1) > maxStoreCalls {
		c.calls.Add(-1)
		return zero, c.storeError(op, key, ctx, errStoreBusy)
	}
	if c.cfg.storeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.cfg.storeTimeout, ErrStoreTimeout)
		defer cancel()
	}
	done := make(chan callResult[T], 1)
	go func() {
		defer c.calls.Add(-1)
		v, err := fn(ctx)
		done <- callResult[T]{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && !errors.Is(r.err, ErrNotFound) {
			r.err = c.storeError(op, key, ctx, r.err)
		}
		return r.v, r.err
	case <-ctx.Done():
		return zero, c.storeError(op, key, ctx, context.Cause(ctx))
	}
}

func (c *Cache) storeError(op, key string, ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStoreTimeout) && !errors.Is(err, ErrStoreTimeout) {
		err = errors.Join(ErrStoreTimeout, err)
	}
	c.cfg.logger.Warn("larder: store failed", "op", op, "key", key, "err", err)
	return err
}

type nopStore struct{}

func (nopStore) Get(context.Context, string) (*Entry, error)              { return nil, ErrNotFound }
func (nopStore) Set(context.Context, string, *Entry, time.Duration) error { return nil }
func (nopStore) Delete(context.Context, string) error                     { return nil }
func (nopStore) NonBlocking() bool                                        { return true }
