package memcache

import (
	"context"
	"errors"
	"fmt"
	"time"

	gm "github.com/bradfitz/gomemcache/memcache"

	"github.com/larder-cache/larder"
)

// GetMulti returns the entries stored under keys, in order, nil at the index
// of each key that holds none (see larder.MultiGetter). It is one gomemcache
// GetMulti: one "gets" request per server that holds any of the keys, the
// servers in parallel. A repeated key is asked for once, and gets the same
// *Entry at each of its indexes. If any server fails, or any item does not
// decode, the whole call fails. It returns the context's error, without
// calling memcached, if the context is done.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	out := make([]*larder.Entry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	mk := make([]string, len(keys))
	uniq := make([]string, 0, len(keys))
	seen := make(map[string]struct{}, len(keys))
	for i, k := range keys {
		mk[i] = s.key(k)
		if _, ok := seen[mk[i]]; !ok {
			seen[mk[i]] = struct{}{}
			uniq = append(uniq, mk[i])
		}
	}
	items, err := s.c.GetMulti(uniq)
	if err != nil {
		return nil, fmt.Errorf("memcache: get multi: %w", err)
	}
	decoded := make(map[string]*larder.Entry, len(items))
	for i, k := range mk {
		it, ok := items[k]
		if !ok {
			continue
		}
		e, ok := decoded[k]
		if !ok {
			if e, err = decode(it.Value); err != nil {
				s.dropCorrupt(it)
				return nil, err
			}
			decoded[k] = e
		}
		out[i] = e
	}
	return out, nil
}

// SetIf stores e under key for ttl if the entry stored under key has
// Nonce == gen, or if none is (or one without a Nonce is) and gen is "" (see
// larder.ConditionalStore, and "What SetIf guarantees" in the package doc).
//
// With gen "", SetIf first tries memcached's add, which stores only on an
// absent key: a fill of a key that holds nothing costs one round trip.
// Otherwise, or when add finds an item, it reads the item with its CAS id,
// compares the Nonce of its entry with gen, and writes e with cas, which
// fails if the item changed since it was read; it then reads again, at most
// 8 times in all. An item whose entry does not decode is an error. When the
// comparison holds but e is not kept (ttl ≤ 0, or too large as for Set, which
// is counted in Skipped), SetIf removes the item with a cas, so only if it
// is still the one compared, and returns false. A nil e is an error. The
// context is checked before each call to memcached.
func (s *Store) SetIf(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	if e == nil {
		return false, errors.New("memcache: SetIf of a nil entry")
	}
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	k := s.key(key)
	var (
		v    []byte
		keep = ttl > 0 // e is to be stored, not the item removed
		big  = false   // e is not kept because it is too large
		exp  int32
	)
	if keep {
		var err error
		if v, keep, err = s.encode(e); err != nil {
			return false, err
		}
		big = !keep
		exp = expiration(ttl, s.now())
	}
	add := func() (stored, retry bool, err error) {
		err = s.c.Add(&gm.Item{Key: k, Value: v, Expiration: exp})
		switch {
		case err == nil:
			return true, false, nil
		case errors.Is(err, gm.ErrNotStored):
			return false, true, nil // an item is there: compare with it
		case tooLarge(err):
			keep, big = false, true
			return false, true, nil
		}
		return false, false, fmt.Errorf("memcache: add: %w", err)
	}
	if keep && gen == "" {
		if stored, retry, err := add(); !retry {
			return stored, err
		}
	}
	for range maxCASAttempts {
		if err := ctxErr(ctx); err != nil {
			return false, err
		}
		it, err := s.c.Get(k)
		if errors.Is(err, gm.ErrCacheMiss) {
			if gen != "" {
				return false, nil
			}
			if !keep {
				// The comparison holds, and there is nothing to remove.
				if big {
					s.skipped.Add(1)
				}
				return false, nil
			}
			if err := ctxErr(ctx); err != nil {
				return false, err
			}
			if stored, retry, err := add(); !retry {
				return stored, err
			}
			continue
		}
		if err != nil {
			return false, fmt.Errorf("memcache: get: %w", err)
		}
		cur, err := nonce(it.Value)
		if err != nil {
			return false, err
		}
		if cur != gen {
			return false, nil
		}
		if err := ctxErr(ctx); err != nil {
			return false, err
		}
		// The comparison holds: write e, or remove the item (a negative
		// expiration expires it at once), if it is still the one read.
		next := &gm.Item{Key: k, CasID: it.CasID, Value: v, Expiration: exp}
		if !keep {
			next.Value, next.Expiration = nil, -1
		}
		err = s.c.CompareAndSwap(next)
		switch {
		case err == nil:
			if !keep {
				if big {
					s.skipped.Add(1)
				}
				return false, nil
			}
			return true, nil
		case errors.Is(err, gm.ErrCASConflict), errors.Is(err, gm.ErrNotStored), errors.Is(err, gm.ErrCacheMiss):
			// Changed, or gone, since it was read: read again.
		case tooLarge(err):
			keep, big = false, true
		default:
			return false, fmt.Errorf("memcache: cas: %w", err)
		}
	}
	return false, nil
}
