package larder

import (
	"net/http"
	"strings"
)

// Tags (surrogate keys) of stored responses, for purge by tag.
//
// A response is tagged by the fields CDNs read: Surrogate-Key (Fastly:
// tags separated by spaces), Cache-Tag (Cloudflare: separated by commas)
// and xkey (Varnish: separated by spaces; commas are accepted too), all
// their lines, and by the route's Tags option (tags computed from the
// request). The cache removes these fields from the response its clients
// receive and from the stored response, unless WithKeepTagFields is given.
//
// Limits: a response may carry at most WithTagLimits' count of distinct
// tags (DefaultMaxTags), each at most its length in bytes (DefaultMaxTagLength),
// with no control characters. A response over a limit is not stored at all
// (Event.NotStored "tags-over-limit"): dropping some of its tags instead
// would store a response that a purge of a dropped tag misses, and a purge
// that misses is worse than a miss. The fields are still removed.

// DefaultMaxTags is the most tags a stored response may carry when no
// WithTagLimits option is given.
const DefaultMaxTags = 64

// DefaultMaxTagLength is the longest tag, in bytes, when no WithTagLimits
// option is given.
const DefaultMaxTagLength = 256

// reasonTags is the Event.NotStored reason of a response whose tags exceed
// the limits (WithTagLimits).
const reasonTags = "tags-over-limit"

// tagFields are the response fields tags come from (canonical names), and
// the separators of each.
var tagFields = [...]struct {
	name string
	seps string
}{
	{"Surrogate-Key", " \t"},
	{"Cache-Tag", ","},
	{"Xkey", " \t,"},
}

// takeTags returns the tags of a response: those the route computes from
// the request, then those of its tag fields in the order above, without
// duplicates. Unless the cache keeps them, it removes the tag fields from h.
// ok is false when the tags exceed the cache's limits.
func (x *exchange) takeTags(h http.Header) (tags []string, ok bool) {
	cfg := &x.c.cfg
	ok = true
	add := func(t string) {
		t = strings.TrimSpace(t)
		if t == "" || !ok {
			return
		}
		for _, have := range tags {
			if have == t {
				return
			}
		}
		if len(t) > cfg.maxTagLen || len(tags) >= cfg.maxTags || !visible(t) {
			ok = false
			return
		}
		tags = append(tags, t)
	}
	if rt := x.rt; rt != nil && rt.tags != nil {
		for _, t := range rt.tags(x.r) {
			add(t)
		}
	}
	for _, f := range tagFields {
		vs := h[f.name]
		if vs == nil {
			continue
		}
		for _, v := range vs {
			for t := range strings.FieldsFuncSeq(v, func(r rune) bool { return strings.ContainsRune(f.seps, r) }) {
				add(t)
			}
		}
		if !cfg.keepTagFields {
			delete(h, f.name)
		}
	}
	if !ok {
		return nil, false
	}
	return tags, true
}

// visible reports whether a tag has no control characters (and so none of
// the NUL the cache's own prefix tags start with).
func visible(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Prefix tags. With WithPrefixPurge(depth), every response stored at a
// primary key is also tagged with its directories, up to depth path
// segments: https://example.com/docs/v2/a.html with depth 2 gets
// "\x00example.com/", "\x00example.com/docs/" and "\x00example.com/docs/v2/".
// The scheme is left out, so that one tag covers the http and https keys of
// the URL, as Purge does. A prefix purge purges the tag of the deepest
// directory that contains the prefix and keeps, of the keys it returns,
// those that start with the prefix. The NUL keeps these tags apart from
// any tag of a response, which has no control characters.

// prefixMark starts the cache's prefix tags.
const prefixMark = "\x00"

// schemeless returns a primary key without its scheme and "://".
func schemeless(key string) string {
	if _, rest, ok := strings.Cut(key, "://"); ok {
		return rest
	}
	return key
}

// prefixTags appends to tags the prefix tags of the primary key key, down
// to depth path segments.
func prefixTags(tags []string, key string, depth int) []string {
	s := schemeless(key)
	if q := strings.IndexByte(s, '?'); q >= 0 {
		s = s[:q]
	}
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		return tags
	}
	for i, d := slash, 0; i < len(s) && d <= depth; i++ {
		if s[i] == '/' {
			tags = append(tags, prefixMark+s[:i+1])
			d++
		}
	}
	return tags
}

// prefixDir returns the tag that covers a prefix (the schemeless form of a
// key prefix), and whether it covers exactly the prefix: the prefix ends
// its directory, at most depth segments deep.
func prefixDir(prefix string, depth int) (tag string, exact bool) {
	slash := strings.IndexByte(prefix, '/')
	last := slash
	for i, d := slash+1, 0; i < len(prefix) && d < depth; i++ {
		if prefix[i] == '/' {
			last = i
			d++
		}
	}
	dir := prefix[:last+1]
	return prefixMark + dir, dir == prefix
}
