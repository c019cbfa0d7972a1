package larder

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
	"time"
)

// Consistent invalidation. Every entry the cache stores at a primary key
// (a response, a Vary index, a tombstone) has a fresh generation in its
// Nonce. A lookup remembers the entry it found there (or none), and the
// response it leads to is stored only over that same entry: with a
// ConditionalStore, by one atomic SetIf on the primary key; variants are
// written only after their index was. An invalidation or a purge, with such
// a store, writes a tombstone (KindTombstone, a fresh Nonce) at each key
// instead of deleting it, so that
//
//   - a fill whose fetch started before the invalidation finds the tombstone
//     in place of what it read, and is not stored;
//   - a 304 that was under way during it does not store the old body again;
//   - a fill of one variant cannot write back the index the invalidation
//     replaced, nor bring back the variants under its nonce, which no later
//     index reuses.
//
// The generation lives in the store, so this holds for every process that
// shares it. A tombstone is kept for TombstoneTTL; a fill that read nothing
// at the key and takes longer than that, from its lookup to its write, is
// not stored, since the tombstone it would have met may be gone.
//
// A store without SetIf gets the same protocol from a Get and a Set, which
// leaves a window between them, and invalidation deletes (the seed's
// "collect"): a fill that found nothing stored before an invalidation of
// such a store may still be stored after it.

// TombstoneTTL is how long an invalidated or purged URL keeps its
// tombstone in a ConditionalStore.
const TombstoneTTL = time.Minute

// newGen returns a fresh generation: a random prefix of this Cache and a
// counter, unique across the processes sharing a store.
func (c *Cache) newGen() string {
	n := c.genSeq.Add(1)
	b := make([]byte, 0, 24)
	b = append(b, c.genPrefix...)
	b = appendBase62(b, n)
	return string(b)
}

// newGenPrefix returns a Cache's generation prefix: 64 random bits in
// base 62 (at most 11 digits) and a dot.
func newGenPrefix() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return string(appendBase62(nil, binary.LittleEndian.Uint64(r[:]))) + "."
}

// base62 are the digits of appendBase62.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendBase62 appends n in base 62 (the digits, then the upper- and
// lower-case letters) to b: shorter than base 36, and still a string any
// store keeps as a key part.
func appendBase62(b []byte, n uint64) []byte {
	var d [11]byte
	i := len(d)
	for {
		i--
		d[i] = base62[n%62]
		n /= 62
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// seenGen is the generation of what the lookup found at the primary key:
// "" for nothing.
func (x *exchange) seenGen() string {
	if x.seen == nil {
		return ""
	}
	return x.seen.Nonce
}

// setPrimary stores e at key over the entry of generation gen that a lookup
// at looked found there, and reports whether it did (see above).
func (c *Cache) setPrimary(ctx context.Context, key string, e *Entry, ttl time.Duration, gen string, looked time.Time) (bool, error) {
	if c.cond != nil {
		if gen == "" && c.cfg.now().Sub(looked) >= TombstoneTTL {
			return false, nil
		}
		return storeCall(c, ctx, "setif", key, func(ctx context.Context) (bool, error) {
			return c.cond.SetIf(ctx, key, e, ttl, gen)
		})
	}
	cur, err := c.get(ctx, key)
	if err != nil {
		return false, err
	}
	if cur != nil && cur.Nonce != gen || cur == nil && gen != "" {
		return false, nil
	}
	return true, c.set(ctx, key, e, ttl)
}

// A new Vary index records, after a "~" in its nonce, the head of the
// generation it replaced: its base. Two fills of different variants that
// both found the same thing at the key (nothing, say) race to index the
// URL; the loser finds an index whose base is what it found, and stores its
// variant under that index, which no invalidation came between. An index
// written after an invalidation has the tombstone as its base, so a fill
// that started before the invalidation finds no sibling there.

// genHead is a generation without its base.
func genHead(gen string) string {
	if i := strings.IndexByte(gen, '~'); i >= 0 {
		return gen[:i]
	}
	return gen
}

// siblingIndex returns the nonce of the Vary index now at key when it was
// written over generation gen, for the same names; "" when it was not.
func (c *Cache) siblingIndex(ctx context.Context, key string, names []string, gen string, looked time.Time) (string, error) {
	if gen == "" && c.cfg.now().Sub(looked) >= TombstoneTTL {
		return "", nil
	}
	cur, err := c.get(ctx, key)
	if err != nil || cur == nil || cur.Kind != KindVary || !slices.Equal(cur.VaryNames, names) {
		return "", err
	}
	base := ""
	if i := strings.IndexByte(cur.Nonce, '~'); i >= 0 {
		base = cur.Nonce[i+1:]
	}
	if base != genHead(gen) {
		return "", nil
	}
	return cur.Nonce, nil
}

// tombstone returns a tombstone entry for an invalidation at now.
func (c *Cache) tombstone(now time.Time) *Entry {
	h := c.tombstoneHead(now)
	return h.Entry()
}

// tombstoneHead is the head of a new tombstone (all it has).
func (c *Cache) tombstoneHead(now time.Time) EntryHead {
	return EntryHead{Kind: KindTombstone, Nonce: c.newGen(), ResponseTime: now, Expires: now.Add(TombstoneTTL)}
}
