package memcache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gm "github.com/bradfitz/gomemcache/memcache"

	"github.com/larder-cache/larder"
)

var _ larder.PurgeRecorder = (*Store)(nil)

// Purge records (larder.PurgeRecorder). memcached cannot list the keys of
// a tag, so a purge by tag (or prefix) leaves a record per tag, and the
// cache reads the records of an entry's tags when it serves the entry. A
// record is the item "<Prefix>t:" followed by the hashed tag (as keys are
// hashed), whose value is "<hard> <soft>", two Unix nanosecond times.
//
// A record must outlive the entries it purges: the cache keeps it for the
// longest time memcached takes relative to now, 30 days. An entry that is
// kept longer than that after a purge, or whose record memcached evicts or
// loses (a restart, a change of the server list), is served again: purge
// records are as durable as memcached is.

func (s *Store) tagKey(tag string) string { return s.key("\x00tag\x00" + tag) }

func parseRecord(v []byte) (hard, soft int64) {
	a, b, _ := strings.Cut(string(v), " ")
	hard, _ = strconv.ParseInt(a, 10, 64)
	soft, _ = strconv.ParseInt(b, 10, 64)
	return hard, soft
}

// RecordPurges records a purge of each tag at now (soft or not), kept for
// keep: a read, then an add or a compare-and-swap per tag, retried when
// another purge changed the record meanwhile.
func (s *Store) RecordPurges(ctx context.Context, tags []string, now time.Time, soft bool, keep time.Duration) error {
	at := now.UnixNano()
	exp := expiration(keep, s.now())
	for _, t := range tags {
		k := s.tagKey(t)
		for try := 0; ; try++ {
			if err := ctxErr(ctx); err != nil {
				return err
			}
			if try == maxCASAttempts {
				return fmt.Errorf("memcache: the purge record of %q keeps changing", t)
			}
			it, err := s.c.Get(k)
			if errors.Is(err, gm.ErrCacheMiss) {
				h, sf := int64(0), int64(0)
				if soft {
					sf = at
				} else {
					h = at
				}
				err := s.c.Add(&gm.Item{Key: k, Value: []byte(strconv.FormatInt(h, 10) + " " + strconv.FormatInt(sf, 10)), Expiration: exp})
				if errors.Is(err, gm.ErrNotStored) {
					continue
				}
				if err != nil {
					return fmt.Errorf("memcache: add: %w", err)
				}
				break
			}
			if err != nil {
				return fmt.Errorf("memcache: get: %w", err)
			}
			h, sf := parseRecord(it.Value)
			if soft {
				sf = max(sf, at)
			} else {
				h = max(h, at)
			}
			it.Value = []byte(strconv.FormatInt(h, 10) + " " + strconv.FormatInt(sf, 10))
			it.Expiration = exp
			err = s.c.CompareAndSwap(it)
			if errors.Is(err, gm.ErrCASConflict) || errors.Is(err, gm.ErrNotStored) {
				continue
			}
			if err != nil {
				return fmt.Errorf("memcache: cas: %w", err)
			}
			break
		}
	}
	return nil
}

// LastPurges reads the records of tags in one GetMulti and returns their
// latest purge and soft purge times.
func (s *Store) LastPurges(ctx context.Context, tags []string) (hard, soft time.Time, err error) {
	if err := ctxErr(ctx); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if len(tags) == 0 {
		return time.Time{}, time.Time{}, nil
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = s.tagKey(t)
	}
	items, err := s.c.GetMulti(keys)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("memcache: get: %w", err)
	}
	var h, sf int64
	for _, it := range items {
		a, b := parseRecord(it.Value)
		h, sf = max(h, a), max(sf, b)
	}
	if h > 0 {
		hard = time.Unix(0, h)
	}
	if sf > 0 {
		soft = time.Unix(0, sf)
	}
	return hard, soft, nil
}
