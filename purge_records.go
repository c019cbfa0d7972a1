package larder

import (
	"context"
	"time"
)

// Purge by tag on a store that cannot list the entries of a tag
// (PurgeRecorder: memcached). A purge records its time per tag; a lookup
// that finds a response carrying tags (its own, and its prefix tags with
// WithPrefixPurge) reads the records of those tags, in a second store call,
// and treats a response whose request was sent at or before a purge of one
// of them (give or take PurgeClockSkew) as purged: a miss, whose fill
// replaces it, or for a soft purge a stale response (staleAt). No fill needs
// refusing: a response fetched before a purge is caught when it is read,
// however late it was stored.
//
// A prefix purge records the tag of the deepest indexed directory that
// contains the prefix: with a prefix that does not end a directory (or is
// deeper than the index), it purges that whole directory, more than asked.

// PurgeRecordTTL is how long a PurgeRecorder keeps a purge record: 30
// days. A response kept longer than that after a purge is served again.
const PurgeRecordTTL = 30 * 24 * time.Hour

// recordPurges is PurgeBatch's work on a PurgeRecorder: tags holds the
// tags and the prefix tags (exact or not).
func (c *Cache) recordPurges(ctx context.Context, tags []string, now time.Time, soft bool) error {
	if len(tags) == 0 {
		return nil
	}
	return c.purgeRec.RecordPurges(ctx, tags, now, soft, PurgeRecordTTL)
}

// checkPurged returns e, a response found at key, as the purge records of
// its tags leave it: nil if it was purged, stale if soft-purged, else e.
// A store failure reads as no purge, which the event records.
func (x *exchange) checkPurged(ctx context.Context, e *Entry) *Entry {
	c := x.c
	if c.purgeRec == nil || (len(e.Tags) == 0 && c.cfg.prefixDepth < 0) {
		return e
	}
	tags := e.Tags
	if c.cfg.prefixDepth >= 0 {
		tags = prefixTags(append(tags[:len(tags):len(tags)], nil...), x.key, c.cfg.prefixDepth)
	}
	type times struct{ hard, soft time.Time }
	got, err := storeCall(c, ctx, "lastpurges", x.key, func(ctx context.Context) (times, error) {
		h, s, err := c.purgeRec.LastPurges(ctx, tags)
		return times{h, s}, err
	})
	if err != nil {
		if x.ev.StoreErr == nil {
			x.ev.StoreErr = err
		}
		return e
	}
	if !got.hard.IsZero() && !e.RequestTime.After(got.hard.Add(PurgeClockSkew)) {
		return nil
	}
	if !got.soft.IsZero() && !e.RequestTime.After(got.soft.Add(PurgeClockSkew)) {
		return staleAt(e, got.soft)
	}
	return e
}
