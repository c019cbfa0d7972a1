package larder

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Purge by tag and by prefix.
//
// The store's tag index (TagStore) maps each tag to the primary keys (URLs)
// of the responses that carry it; a purge of a tag purges those URLs as Purge
// does, with a tombstone at each (generation.go), so that all the variants
// of a URL go, including those of a URL where one variant only carried the
// tag (a purge errs on the side of purging more). A prefix purge is a purge
// of the cache's own tag of a directory (tags.go, WithPrefixPurge).
//
// The race. A fill that looked a URL up before a purge, and whose key is not
// yet in the index when the purge reads it, would store its response after
// the purge returned, a response whose content may predate what the purge
// was for. So a purge first leaves a purge record for each tag, dated now,
// in the store, and reads the index in the same atomic step (TagStore); a
// fill records its key under its tags before it stores the response, in a
// step that refuses when one of its tags has a purge record dated at or
// after the fill's lookup. For each tag, then: either the fill recorded its
// key first, and the purge returns the key and tombstones it, which the
// fill's conditional write (SetIf on the generation it read) cannot
// overwrite; or the purge came first, and the fill, which looked up before
// it, is refused. A fill that looked up after the purge began fetched after
// it too, and stores.
//
// Lookup and purge times come from the clocks of the processes that share
// the store: with a store that is not local, a fill counts its lookup as
// PurgeClockSkew earlier than its clock says, so that clocks that far apart
// do not let a fill through. A purge record is kept for TombstoneTTL plus
// PurgeClockSkew, and a tagged fill that took longer than TombstoneTTL from
// its lookup to its write is not stored.

// PurgeClockSkew is how far apart the clocks of the processes sharing a
// store that is not local may be without weakening purge by tag: a fill
// counts its lookup as this much earlier (so a fill that looked up less than
// this after a purge of one of its tags is not stored).
const PurgeClockSkew = time.Second

// purgeKeep is how long a purge record is kept.
const purgeKeep = TombstoneTTL + PurgeClockSkew

// ErrTagsUnsupported is returned by a purge by tag or by prefix when the
// cache's store keeps no tag index (it is not a TagStore) nor purge records
// (PurgeRecorder).
var ErrTagsUnsupported = errors.New("larder: the store keeps no tag index (not a TagStore)")

// ErrPrefixPurgeOff is returned by a purge by prefix when the cache was not
// given WithPrefixPurge.
var ErrPrefixPurgeOff = errors.New("larder: prefix purge needs WithPrefixPurge")

// PurgeBatch is a set of purges made by one Cache.PurgeBatch call.
type PurgeBatch struct {
	// URLs are absolute URLs, purged as Purge purges one.
	URLs []string
	// Tags purges every response that carries any of them (Surrogate-Key,
	// Cache-Tag, xkey or the route's Tags).
	Tags []string
	// Prefixes are absolute URLs without query ("https://example.com/docs/v2/"):
	// every stored URL of the host (http and https) whose path starts with
	// the prefix's is purged. Needs WithPrefixPurge.
	Prefixes []string
	// Soft marks the responses stale instead of removing them (a soft
	// purge): a response stored before the purge is never again served
	// fresh, but stale-while-revalidate and stale-if-error (RFC 5861) and
	// a request's max-stale (RFC 9111 §5.2.1.2) can still serve it, while
	// a request revalidates it (RFC 9111 §4.3). Its validators stay, so the
	// revalidation can be a 304.
	Soft bool
}

// PurgeTags purges every stored response that carries any of tags, on every
// process that shares the store, and returns once the purge is complete
// in the store. It is PurgeBatch with Tags.
func (c *Cache) PurgeTags(ctx context.Context, tags ...string) error {
	return c.PurgeBatch(ctx, PurgeBatch{Tags: tags})
}

// PurgePrefix purges every stored response of the host of prefix whose
// path (and query) starts with the path of prefix, for http and https. It
// is PurgeBatch with Prefixes, and needs WithPrefixPurge.
func (c *Cache) PurgePrefix(ctx context.Context, prefix string) error {
	return c.PurgeBatch(ctx, PurgeBatch{Prefixes: []string{prefix}})
}

// SoftPurge marks every stored response for rawURL stale (PurgeBatch with
// URLs and Soft).
func (c *Cache) SoftPurge(ctx context.Context, rawURL string) error {
	return c.PurgeBatch(ctx, PurgeBatch{URLs: []string{rawURL}, Soft: true})
}

// PurgeBatch purges the URLs, tags and prefixes of b, removing the
// responses or, with b.Soft, marking them stale, and returns once every
// purge is complete in the store, reporting the first error. It checks
// every URL and prefix before it touches the store: one that is not an
// absolute http(s) URL gives an error wrapping ErrBadURL. Tags and prefixes
// need a TagStore or a PurgeRecorder (else ErrTagsUnsupported); prefixes
// need WithPrefixPurge (else ErrPrefixPurgeOff).
//
// The tag index is read with ctx alone, not under the store timeout
// (WithStoreTimeout): a tag may cover many entries. The URLs are then purged
// as Purge purges them, each store call under the timeout.
func (c *Cache) PurgeBatch(ctx context.Context, b PurgeBatch) error {
	var keys []string
	for _, u := range b.URLs {
		ks, err := c.urlKeys(u)
		if err != nil {
			return err
		}
		keys = append(keys, ks[:]...)
	}
	type prefix struct{ tag, filter string }
	var tags []string
	for _, t := range b.Tags {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	var inexact []prefix
	for _, p := range b.Prefixes {
		filter, err := c.prefixKey(p)
		if err != nil {
			return err
		}
		tag, exact := prefixDir(filter, c.cfg.prefixDepth)
		if exact {
			tags = append(tags, tag)
		} else {
			inexact = append(inexact, prefix{tag, filter})
		}
	}
	if len(b.Prefixes) > 0 && c.cfg.prefixDepth < 0 {
		return ErrPrefixPurgeOff
	}
	now := c.cfg.now()
	if c.tagStore == nil && c.purgeRec != nil {
		for _, p := range inexact {
			tags = append(tags, p.tag)
		}
		if err := c.recordPurges(ctx, tags, now, b.Soft); err != nil {
			return fmt.Errorf("larder: purge by tag: %w", err)
		}
		tags, inexact = nil, nil
	}
	if (len(tags) > 0 || len(inexact) > 0) && c.tagStore == nil {
		return ErrTagsUnsupported
	}
	if len(tags) > 0 {
		ks, err := c.tagStore.PurgeTags(ctx, tags, now, purgeKeep)
		if err != nil {
			return fmt.Errorf("larder: purge by tag: %w", err)
		}
		keys = append(keys, ks...)
	}
	for _, p := range inexact {
		ks, err := c.tagStore.PurgeTags(ctx, []string{p.tag}, now, purgeKeep)
		if err != nil {
			return fmt.Errorf("larder: purge by prefix: %w", err)
		}
		for _, k := range ks {
			if strings.HasPrefix(schemeless(k), p.filter) {
				keys = append(keys, k)
			}
		}
	}
	if len(b.URLs)+len(b.Tags)+len(b.Prefixes) > 1 {
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	if b.Soft {
		return c.softenKeys(ctx, keys, now)
	}
	return c.invalidateKeys(ctx, keys)
}

// urlKeys returns the primary keys of rawURL for http and https (see Purge).
func (c *Cache) urlKeys(rawURL string) ([2]string, error) {
	var keys [2]string
	u, err := url.Parse(rawURL)
	if err != nil {
		return keys, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path[0] != '/') {
		return keys, fmt.Errorf("%w: %q", ErrBadURL, rawURL)
	}
	for i, scheme := range [...]string{"http", "https"} {
		v := *u
		v.Scheme = scheme
		k, ok := c.key.URL(&v)
		if !ok {
			return keys, fmt.Errorf("%w: %q", ErrBadURL, rawURL)
		}
		keys[i] = k
	}
	return keys, nil
}

// prefixKey returns the schemeless form of a prefix's key: its host and
// path in the normal form of keys.
func (c *Cache) prefixKey(prefix string) (string, error) {
	u, err := url.Parse(prefix)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path[0] != '/') ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%w: prefix %q (an absolute URL without query)", ErrBadURL, prefix)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	v := *u
	v.Scheme = "https"
	k, ok := c.key.URL(&v)
	if !ok {
		return "", fmt.Errorf("%w: prefix %q", ErrBadURL, prefix)
	}
	return schemeless(k), nil
}

// indexTags returns the tags the store's index records for a response with
// tags stored at the primary key key: its own, and the prefix tags
// (WithPrefixPurge). Nil without a TagStore.
func (c *Cache) indexTags(key string, tags []string) []string {
	if c.tagStore == nil {
		return nil
	}
	if c.cfg.prefixDepth < 0 {
		return tags
	}
	out := make([]string, len(tags), len(tags)+c.cfg.prefixDepth+1)
	copy(out, tags)
	return prefixTags(out, key, c.cfg.prefixDepth)
}

// addTags records the primary key of a fill that looked up at looked under
// tags in the tag index, before the fill stores its response, and reports
// whether the fill may store (see above).
func (c *Cache) addTags(ctx context.Context, key string, tags []string, looked, expires time.Time) (bool, error) {
	if len(tags) == 0 {
		return true, nil
	}
	if c.cfg.now().Sub(looked) >= TombstoneTTL {
		return false, nil
	}
	since := looked
	if !c.local {
		since = since.Add(-PurgeClockSkew)
	}
	return storeCall(c, ctx, "addtags", key, func(ctx context.Context) (bool, error) {
		return c.tagStore.AddTags(ctx, key, tags, since, expires)
	})
}
