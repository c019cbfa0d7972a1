package larder

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/larder-cache/larder/internal/vary"
)

// One store round trip per hit, Vary included. A URL whose responses vary
// keeps a Vary index at its primary key and each variant under a key made
// from the index's nonce (RFC 9111 §4.1), so a lookup reads the index before
// it knows the variant's key: two round trips. With a store over the
// network that has MultiGetter, the cache remembers the index it last read
// for each URL (a hint) and reads the index and the variant the hint
// designates together; when the index read is still the hint's (the same
// nonce and names), the variant read with it is the right one. A wrong or
// missing hint costs the second round trip, as without hints.

// maxVaryHints bounds the URLs whose Vary index is remembered.
const maxVaryHints = 1 << 16

type varyHints struct {
	mu sync.Mutex
	m  map[string]*Entry
	// n is len(m), written under mu: a lookup reads it first, and takes
	// no lock while no URL has a hint (a stale read costs a hint, never
	// correctness: a hint is checked against the index read with it).
	n atomic.Int64
}

func (h *varyHints) get(key string) *Entry {
	if h.n.Load() == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[key]
}

// set remembers idx as key's Vary index, or forgets key's when idx is nil.
func (h *varyHints) set(key string, idx *Entry) {
	if idx == nil && h.n.Load() == 0 {
		return // every hit of a URL without Vary: nothing to forget
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() { h.n.Store(int64(len(h.m))) }()
	if idx == nil {
		delete(h.m, key)
		return
	}
	if h.m == nil {
		h.m = make(map[string]*Entry)
	}
	if len(h.m) >= maxVaryHints {
		clear(h.m) // crude, bounded; hints are only an optimisation
	}
	h.m[key] = idx
}

// readPrimary reads the entry at the request's primary key and, when a hint
// designates one, the variant of the request with it in one call. variant
// is the entry read under vkey ("" when none was read).
func (x *exchange) readPrimary(ctx context.Context) (e, variant *Entry, vkey string, err error) {
	c := x.c
	if c.multi == nil {
		e, err = x.getAt(ctx, x.key)
		return e, nil, "", err
	}
	hint := c.hints.get(x.key)
	if hint == nil {
		e, err = x.getAt(ctx, x.key)
		return e, nil, "", err
	}
	vk := variantKey(x.key, hint.Nonce, x.user, vary.Key(hint.VaryNames, x.r.Header))
	if len(vk) > c.cfg.maxKey {
		e, err = x.getAt(ctx, x.key)
		return e, nil, "", err
	}
	// The closure below takes copies: capturing x, or a named result,
	// would move it to the heap on every lookup, hits included.
	key := x.key
	var es []*Entry
	if c.localGet != nil {
		if e0, ok := c.getLocal(key); ok {
			if v, ok := c.getLocal(vk); ok {
				es = []*Entry{e0, v}
			}
		}
	}
	if es == nil {
		es, err = storeCall(c, ctx, "getmulti", key, func(ctx context.Context) ([]*Entry, error) {
			return c.multi.GetMulti(ctx, []string{key, vk})
		})
		if err != nil || len(es) != 2 {
			return nil, nil, "", err
		}
	}
	if c.lostFields(es[0]) || c.lostFields(es[1]) {
		return nil, nil, "", c.storeError("getmulti", key, ctx, errLostFields)
	}
	e = es[0]
	if e == nil || e.Kind != KindVary || e.Nonce != hint.Nonce || !slices.Equal(e.VaryNames, hint.VaryNames) {
		return e, nil, "", nil // the hint is stale: the variant read is not the one
	}
	return e, es[1], vk, nil
}

// remember updates the hint of the request's URL after a lookup found e at
// its primary key.
func (x *exchange) remember(e *Entry) {
	if x.c.multi == nil {
		return
	}
	if e != nil && e.Kind == KindVary {
		if h := x.c.hints.get(x.key); h == nil || h.Nonce != e.Nonce || !slices.Equal(h.VaryNames, e.VaryNames) {
			x.c.hints.set(x.key, e)
		}
		return
	}
	x.c.hints.set(x.key, nil)
}
