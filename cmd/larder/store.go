package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// storeConfig is a parsed --store URL.
type storeConfig struct {
	scheme string
	size   int64 // memory: the byte bound
}

const defaultStore = "memory://?size=256MiB"

// parseStore parses a --store URL. Only memory:// is implemented; the other
// store schemes are recognised so that their error says so. Errors never echo
// the URL, which may hold a password.
func parseStore(s string) (storeConfig, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return storeConfig{}, errors.New("--store: not a URL (want memory://?size=SIZE)")
	}
	sc := storeConfig{scheme: strings.ToLower(u.Scheme)}
	switch sc.scheme {
	case "memory":
	case "redis", "rediss", "memcache", "disk":
		return storeConfig{}, fmt.Errorf("--store: the %s:// store is not supported yet (use memory://?size=SIZE)", sc.scheme)
	default:
		return storeConfig{}, fmt.Errorf("--store: unknown store scheme %q (want memory://?size=SIZE)", sc.scheme)
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return storeConfig{}, errors.New("--store: memory:// takes no host or path, only ?size=SIZE")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return storeConfig{}, fmt.Errorf("--store: bad query: %v", err)
	}
	sc.size = 256 << 20
	for k, vs := range q {
		if k != "size" {
			return storeConfig{}, fmt.Errorf("--store: unknown memory:// parameter %q (only size)", k)
		}
		n, err := parseSize(vs[len(vs)-1])
		if err != nil {
			return storeConfig{}, fmt.Errorf("--store: size: %v", err)
		}
		sc.size = n
	}
	return sc, nil
}

// openStore opens the configured store. stats, when the store can tell its
// size, feeds the larder_stored_* gauges. close releases the store.
func openStore(sc storeConfig, clock func() time.Time) (store larder.Store, stats func() memory.Stats, close func(), err error) {
	switch sc.scheme {
	case "memory":
		m, err := memory.New(memory.Options{MaxBytes: sc.size, Clock: clock})
		if err != nil {
			return nil, nil, nil, err
		}
		return m, m.Stats, m.Close, nil
	}
	return nil, nil, nil, fmt.Errorf("store scheme %q is not supported", sc.scheme)
}
