package larder

import (
	"context"
	"errors"
	"time"
)

// Store calls: each bounded by the store timeout, a panic-free failure mode.

func (c *Cache) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.cfg.storeTimeout > 0 {
		return context.WithTimeoutCause(ctx, c.cfg.storeTimeout, ErrStoreTimeout)
	}
	return ctx, nil
}

func (c *Cache) get(ctx context.Context, key string) (*Entry, error) {
	ctx, cancel := c.storeCtx(ctx)
	if cancel != nil {
		defer cancel()
	}
	e, err := c.store.Get(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, c.storeError("get", key, ctx, err)
	}
	if e == nil {
		return nil, nil
	}
	return e, nil
}

func (c *Cache) set(ctx context.Context, key string, e *Entry, ttl time.Duration) error {
	ctx, cancel := c.storeCtx(ctx)
	if cancel != nil {
		defer cancel()
	}
	if err := c.store.Set(ctx, key, e, ttl); err != nil {
		return c.storeError("set", key, ctx, err)
	}
	return nil
}

func (c *Cache) delete(ctx context.Context, key string) error {
	ctx, cancel := c.storeCtx(ctx)
	if cancel != nil {
		defer cancel()
	}
	if err := c.store.Delete(ctx, key); err != nil {
		return c.storeError("delete", key, ctx, err)
	}
	return nil
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
