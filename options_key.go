package larder

import "github.com/larder-cache/larder/internal/cachekey"

// Key options: what the cache key is made of beyond the request's URL
// (internal/cachekey). The key is always derived from exactly what the
// handler receives: a query parameter the key drops is dropped from the
// request too, and a sorted query is passed on sorted.

// WithKeyDropQuery removes query parameters from the cache key and from the
// request the handler gets, so that URLs differing only in them share one
// entry. Each name is a parameter's name, compared after decoding (as
// url.ParseQuery decodes it, case-sensitively), or, ending in "*", a prefix
// of names ("*" alone drops every parameter):
//
//	larder.WithKeyDropQuery("utm_*", "fbclid", "gclid")
//
// The handler never sees a dropped parameter, on any request: if it did, a
// page that reflected one would be stored under the key of the URL without
// it and served to everyone (cache poisoning). Unsafe requests lose them
// too, so POST /a?utm_source=x invalidates /a (RFC 9111 §4.4), and
// Purge of /a?utm_source=x purges /a. When some parameter is dropped,
// empty ones ("a=1&&b=2") go too. Calls add up.
func WithKeyDropQuery(names ...string) Option {
	names = append([]string(nil), names...)
	return func(c *config) {
		k := keyConfig(c)
		k.DropQuery = append(k.DropQuery, names...)
	}
}

// WithKeySortQuery sorts the query parameters by name, in the cache key and
// in the request the handler gets, so that /a?b=1&a=2 and /a?a=2&b=1 are one
// entry, one URL to invalidate or purge. The sort is stable: the values of
// one name keep their order (/a?x=2&x=1 stays so), as most handlers read
// them in order. Empty parameters ("a=1&&b=2") are removed.
func WithKeySortQuery() Option {
	return func(c *config) { keyConfig(c).SortQuery = true }
}

// WithKeyCookie keys responses by the values of the named cookies, as if
// every response had Vary on them (RFC 9111 §4.1): each value (and the
// absence of the cookie) has its own copy of a URL's response, and
// invalidating or purging the URL drops every copy at once. The values are
// hashed in the key: a session cookie is never stored or logged in clear.
// Use it for cookies that select a representation (a language, a currency,
// an A/B group). A shared cache still stores a response to a request with
// Cookie only when the response is explicitly cacheable (SECURITY.md). Calls
// add up.
func WithKeyCookie(names ...string) Option {
	names = append([]string(nil), names...)
	return func(c *config) {
		k := keyConfig(c)
		k.Cookies = append(k.Cookies, names...)
	}
}

// WithKeyHeader keys responses by the values of the named request header
// fields, as if every response had Vary on them (RFC 9111 §4.1, with the
// same normalisation of list values as Vary), but without adding them to
// the Vary field sent downstream: each value has its own copy of a URL's
// response, and invalidating or purging the URL drops every copy at once.
// The values are hashed in the key. Calls add up.
func WithKeyHeader(names ...string) Option {
	names = append([]string(nil), names...)
	return func(c *config) {
		k := keyConfig(c)
		k.Headers = append(k.Headers, names...)
	}
}

// keyConfig is the key configuration the options build.
func keyConfig(c *config) *cachekey.Config { return &c.key }
