package larder

// SharedCache makes a cache a shared cache (RFC 9111 §1): it does not store
// responses marked private (§5.2.2.7) nor, without public, s-maxage or
// must-revalidate, responses to requests with Authorization (§3.5), and it
// obeys s-maxage and CDN-Cache-Control (RFC 9213). A Cache made by New is
// shared already; a Transport is private unless given SharedCache, as a
// client that fetches for many users (a crawler, a gateway calling an API
// on their behalf) needs.
func SharedCache() Option {
	return func(c *config) {
		c.shared = true
		if c.targeted == nil {
			c.targeted = []string{"Cdn-Cache-Control"} // as defaultConfig
		}
	}
}

// WithFromCacheHeader makes a Transport mark the responses it serves from
// storage (hits, responses revalidated with a 304, stale responses served
// in place of an error, and responses another request fetched) with
// "X-From-Cache: 1", as github.com/gregjones/httpcache does, for code
// migrating from it. Cache-Status (RFC 9211) says the same and more. The
// middleware ignores this option.
func WithFromCacheHeader() Option {
	return func(c *config) { c.fromCacheMark = true }
}
