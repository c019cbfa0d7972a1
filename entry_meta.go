package larder

import (
	"sync/atomic"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

// entryMeta is what the cache derives from a stored response once, so that a
// hit does not parse header fields again.
type entryMeta struct {
	cc           cachecontrol.Directives // the directives the cache obeys (targeted or Cache-Control)
	etag         string                  // the ETag field, for validation
	lastModified string                  // the Last-Modified field, for validation

	// hit caches the Cache-Status field of the latest hit: hits within the
	// same second share it instead of formatting their own.
	hit atomic.Pointer[hitMember]
}

type hitMember struct {
	ttl   int64
	field []string
}

func (c *Cache) newMeta(e *Entry) *entryMeta {
	m := &entryMeta{}
	m.cc, _ = cachecontrol.ParseTargeted(e.Header, c.cfg.targeted)
	if v := e.Header["Etag"]; len(v) == 1 {
		m.etag = v[0]
	} else if v := e.Header["ETag"]; len(v) == 1 {
		m.etag = v[0]
	}
	if v := e.Header["Last-Modified"]; len(v) == 1 {
		m.lastModified = v[0]
	}
	return m
}

// metaOf returns e's derived state, computing it when e came from a store
// that decoded it (such entries are not shared, but the cache does not rely
// on that: it never writes to an entry it got from a store).
func (c *Cache) metaOf(e *Entry) *entryMeta {
	if e.meta != nil {
		return e.meta
	}
	return c.newMeta(e)
}
