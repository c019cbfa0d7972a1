package larder

import (
	"net/http"
	"sync/atomic"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

// entryMeta is what the cache derives from a stored response once, so that a
// hit does not parse header fields again.
type entryMeta struct {
	cc           cachecontrol.Directives // the directives the cache obeys (targeted or Cache-Control)
	etag         string                  // the ETag field, for validation
	lastModified string                  // the Last-Modified field, for validation

	// fields are the stored header fields as a list, faster to copy than
	// the map; fields304 those a 304 carries (RFC 9110 §15.4.5).
	fields, fields304 []field
	// nfields, nfields304 count the values of fields and fields304.
	nfields, nfields304 int

	// hit caches the Cache-Status field of the latest hit: hits within the
	// same second share it instead of formatting their own.
	hit atomic.Pointer[hitMember]
}

type field struct {
	name   string
	values []string
}

func fieldList(h http.Header) []field {
	out := make([]field, 0, len(h))
	for k, v := range h {
		out = append(out, field{k, v})
	}
	return out
}

type hitMember struct {
	ttl   int64
	field string
}

// nvalues is the number of field values of a full response (or of a 304).
func (m *entryMeta) nvalues(full bool) int {
	if full {
		return m.nfields
	}
	return m.nfields304
}

func countValues(fs []field) int {
	n := 0
	for _, f := range fs {
		n += len(f.values)
	}
	return n
}

func (c *Cache) newMeta(e *Entry) *entryMeta {
	m := &entryMeta{}
	m.cc, _ = cachecontrol.ParseTargeted(e.Header, c.cfg.targeted)
	v := e.Header["Etag"]
	if v == nil {
		//lint:ignore SA1008 handlers may set h["ETag"] directly, bypassing canonicalization
		v = e.Header["ETag"]
	}
	if len(v) == 1 {
		m.etag = v[0]
	}
	if v := e.Header["Last-Modified"]; len(v) == 1 {
		m.lastModified = v[0]
	}
	m.fields = fieldList(e.Header)
	h304 := make(http.Header, 8)
	copy304(h304, e.Header)
	m.fields304 = fieldList(h304)
	m.nfields, m.nfields304 = countValues(m.fields), countValues(m.fields304)
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
