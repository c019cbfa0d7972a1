package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/tiered"
)

// The tiered store (store/tiered):
//
//	tiered:memory?size=SIZE[&max_ttl=DUR][&lease=DUR][&channel=NAME]+L2-URL
//
// An in-memory L1 of SIZE bytes (default 64MiB) in front of the store L2-URL,
// a Redis URL (redis://, redis+cluster://, redis+sentinel://, and over TLS)
// or disk://. With Redis, the L1s of the daemons sharing it are kept
// consistent through pub/sub on the same Redis, on the channel NAME (default:
// the store's prefix followed by "tiered", so that caches with prefixes of
// their own do not hear one another). A disk L2 belongs to one process, so
// there is no bus. max_ttl (default 2s) bounds how long the L1 keeps an
// entry, lease (default 1s) how long a daemon keeps using its L1 without
// hearing from Redis (see store/tiered).

// tieredConfig is a parsed tiered: --store URL.
type tieredConfig struct {
	opts  tiered.Options // without Bus and Clock
	inner storeConfig    // the L2
}

const defaultTieredL1 = 64 << 20

// parseTieredStore parses a tiered: --store URL (see above).
func parseTieredStore(s string) (storeConfig, error) {
	rest := s[len("tiered:"):]
	l1, l2, ok := strings.Cut(rest, "+")
	if !ok || l2 == "" {
		return storeConfig{}, errors.New("--store: tiered: wants tiered:memory?size=SIZE+L2-URL")
	}
	kind, query, _ := strings.Cut(l1, "?")
	if !strings.EqualFold(kind, "memory") {
		return storeConfig{}, errors.New("--store: tiered: the L1 must be memory (tiered:memory?size=SIZE+L2-URL)")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return storeConfig{}, fmt.Errorf("--store: tiered: bad query: %v", err)
	}
	tc := &tieredConfig{opts: tiered.Options{L1: memory.Options{MaxBytes: defaultTieredL1}}}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "size":
			n, err := parseSize(v)
			if err != nil || n <= 0 {
				return storeConfig{}, fmt.Errorf("--store: tiered: size: want a positive size, like 64MiB")
			}
			tc.opts.L1.MaxBytes = n
		case "max_ttl", "lease":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return storeConfig{}, fmt.Errorf("--store: tiered: %s: want a positive duration, like 2s", k)
			}
			if k == "max_ttl" {
				tc.opts.MaxL1TTL = d
			} else {
				if d < 20*time.Millisecond {
					return storeConfig{}, errors.New("--store: tiered: lease: at least 20ms")
				}
				tc.opts.Lease = d
			}
		case "channel":
			if v == "" {
				return storeConfig{}, errors.New("--store: tiered: empty channel")
			}
			tc.opts.Channel = v
		default:
			return storeConfig{}, fmt.Errorf("--store: tiered: unknown L1 parameter %q (size, max_ttl, lease, channel)", k)
		}
	}
	if strings.HasPrefix(strings.ToLower(l2), "tiered:") {
		return storeConfig{}, errors.New("--store: tiered: the L2 cannot be tiered")
	}
	inner, err := parseStore(l2)
	if err != nil {
		return storeConfig{}, err
	}
	switch {
	case inner.redis != nil:
		if tc.opts.Channel == "" {
			prefix := inner.redis.store.Prefix
			if prefix == "" {
				prefix = "larder:"
			}
			tc.opts.Channel = prefix + "tiered"
		}
	case inner.disk != nil:
		if tc.opts.Channel != "" || tc.opts.Lease != 0 {
			return storeConfig{}, errors.New("--store: tiered: channel and lease are for a Redis L2 (a disk L2 has no bus)")
		}
	default:
		return storeConfig{}, fmt.Errorf("--store: tiered: the L2 must be Redis or disk, not %s (other nodes' L1s could not be told of its writes)", inner.scheme)
	}
	tc.inner = inner
	return storeConfig{scheme: "tiered+" + inner.scheme, size: tc.opts.L1.MaxBytes, tiered: tc}, nil
}

// openTieredStore opens the L2, then the tiered store on it, with the L2's
// Redis client for the bus.
func openTieredStore(tc *tieredConfig, clock func() time.Time) (larder.Store, func() memory.Stats, func(), error) {
	opts := tc.opts
	opts.Clock = clock
	var (
		l2         tiered.L2
		stats      func() memory.Stats
		closeInner func()
	)
	if tc.inner.redis != nil {
		s, client, closeClient, err := openRedisStore(tc.inner.redis)
		if err != nil {
			return nil, nil, nil, err
		}
		l2, closeInner = s, closeClient
		opts.Bus = client
	} else {
		s, st, c, err := openStore(tc.inner, clock)
		if err != nil {
			return nil, nil, nil, err
		}
		cs, ok := s.(tiered.L2)
		if !ok {
			c()
			return nil, nil, nil, fmt.Errorf("tiered: the %s store has no SetIf", tc.inner.scheme)
		}
		l2, stats, closeInner = cs, st, c
	}
	t, err := tiered.New(l2, opts)
	if err != nil {
		closeInner()
		return nil, nil, nil, err
	}
	return t, stats, func() { t.Close(); closeInner() }, nil
}
