package larder

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/larder-cache/larder/internal/cachekey"
	"github.com/larder-cache/larder/internal/httpsyntax"
)

// DefaultMaxObjectSize is the largest response body stored when no
// WithMaxObjectSize option is given. Larger bodies stream through unstored.
const DefaultMaxObjectSize = 8 << 20

// DefaultStaleRetention is how long a stale response is kept for
// revalidation when no WithStaleRetention option is given.
const DefaultStaleRetention = time.Hour

// DefaultMaxKeySize is the longest cache key (the request's absolute URI,
// plus its variant part) the cache stores or looks up when no WithMaxKeySize
// option is given. A request with a longer key goes to the handler and its
// response is not stored (Event.NotStored "key-too-large").
const DefaultMaxKeySize = 8 << 10

// Option configures a Cache.
type Option func(*config)

type config struct {
	shared         bool
	vary           []string
	now            func() time.Time
	logger         *slog.Logger
	maxObject      int64
	etags          bool
	name           string
	heuristicFrac  float64
	heuristicMax   time.Duration
	noHeuristic    bool
	staleRetention time.Duration
	storeTimeout   time.Duration
	targeted       []string
	observer       func(Event)
	storeSetCookie bool
	maxKey         int
	maxErrorLife   time.Duration // 0: no cap
	knownOnly      bool          // only registered unsafe methods invalidate
	writeQueue     int
	coalesce       bool
	coalesceWait   time.Duration
	hitForMiss     time.Duration
	fleet          bool            // WithFleetCoalescing (options_fleet.go)
	fleetWait      time.Duration   // its wait, and the lock's ttl
	key            cachekey.Config // options_key.go
	writeConds     bool            // preconditions.go
	client         bool            // the cache of a Transport (transport.go)
	fromCacheMark  bool            // WithFromCacheHeader (transport_options.go)
	bodyBuffer     int64           // stream_fill.go
	keepTagFields  bool            // tags.go
	maxTags        int
	maxTagLen      int
	prefixDepth    int // WithPrefixPurge; -1: off
}

func defaultConfig() config {
	return config{
		shared:         true,
		now:            time.Now,
		maxObject:      DefaultMaxObjectSize,
		name:           "Larder",
		maxKey:         DefaultMaxKeySize,
		storeTimeout:   DefaultStoreTimeout,
		writeQueue:     DefaultWriteQueue,
		coalesce:       true,
		coalesceWait:   DefaultCoalesceWait,
		hitForMiss:     DefaultHitForMiss,
		staleRetention: DefaultStaleRetention,
		bodyBuffer:     DefaultBodyBuffer,
		targeted:       []string{"Cdn-Cache-Control"}, // canonical form of CDN-Cache-Control
		maxTags:        DefaultMaxTags,
		maxTagLen:      DefaultMaxTagLength,
		prefixDepth:    -1,
	}
}

// PrivateCache makes the cache a private cache (RFC 9111 §1): responses marked
// private are stored, s-maxage and CDN-Cache-Control are ignored, and responses to
// requests with Authorization are stored. Use it only where one cache serves one
// user. The default is a shared cache.
func PrivateCache() Option {
	return func(c *config) {
		c.shared = false
		c.targeted = nil
	}
}

// WithVary sets the request header fields that every cached response varies on
// (the seed's cache-wide cache_vary). They are merged into the response's Vary
// field. A route's Vary option replaces this default for that route.
func WithVary(names ...string) Option {
	return func(c *config) { c.vary = fieldNames(names) }
}

// WithClock sets the clock the cache reads; tests pass a fake one so that
// nothing sleeps to expire entries. Nil means time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets the logger for store errors and other failures the cache
// recovers from. Nil (the default) discards them.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithMaxObjectSize sets the largest body stored, in bytes. Larger responses are
// streamed to the client without being held in memory, and not stored.
// Values <= 0 keep the default (DefaultMaxObjectSize).
func WithMaxObjectSize(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxObject = n
		}
	}
}

// WithETags makes the cache give a strong ETag, computed from the body, to every
// stored 200 response that has none, so that conditional requests get 304s from
// any handler. The response is then held until complete (up to the max object
// size) before its header is sent.
func WithETags() Option {
	return func(c *config) { c.etags = true }
}

// WithName sets the cache's name in the Cache-Status field (RFC 9211 §2).
// The default is "Larder".
func WithName(name string) Option {
	return func(c *config) {
		if name != "" && httpsyntax.IsToken(name) {
			c.name = name
		}
	}
}

// WithHeuristic sets heuristic freshness (RFC 9111 §4.2.2): a response with no
// explicit expiry but a Last-Modified is fresh for fraction of its age at
// storage, at most max. fraction <= 0 disables heuristic freshness.
func WithHeuristic(fraction float64, max time.Duration) Option {
	return func(c *config) {
		c.heuristicFrac, c.heuristicMax = fraction, max
		c.noHeuristic = fraction <= 0
	}
}

// WithStaleRetention sets how long a response is kept once stale (beyond
// what its stale-while-revalidate or stale-if-error ask for), so that it can
// be revalidated with a conditional request instead of fetched again, or
// served to a request with max-stale. Negative means zero.
func WithStaleRetention(d time.Duration) Option {
	return func(c *config) { c.staleRetention = max(d, 0) }
}

// WithStoreTimeout bounds every call to a store that is not a
// NonBlockingStore. A call that runs longer counts as a store failure: the request
// goes to the handler, or the response is not stored. Zero or negative keeps
// the default, DefaultStoreTimeout.
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.storeTimeout = d
		}
	}
}

// WithWriteQueue sets how many store writes may wait, behind the responses
// that made them, for a store that is not a NonBlockingStore (write-behind): a client
// gets its whole response before its response is stored. A write that finds
// the queue full is dropped and counted (Cache.DroppedWrites). Values <= 0
// keep the default, DefaultWriteQueue. Close waits for the queue to drain.
func WithWriteQueue(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.writeQueue = n
		}
	}
}

// WithTargetedFields sets the targeted cache-control fields (RFC 9213) the cache
// obeys, in order of precedence, in place of Cache-Control when present. The
// default for a shared cache is CDN-Cache-Control. No arguments disables them.
func WithTargetedFields(fields ...string) Option {
	return func(c *config) {
		c.targeted = c.targeted[:0:0]
		for _, f := range fields {
			c.targeted = append(c.targeted, http.CanonicalHeaderKey(f))
		}
	}
}

// WithObserver sets a function called once per request the cache handled, after
// the response, with what the cache did. It must be fast and safe for concurrent
// use; metrics are its purpose.
func WithObserver(fn func(Event)) Option {
	return func(c *config) { c.observer = fn }
}

// WithSetCookieStorage lets a shared cache store responses that carry
// Set-Cookie. By default a shared cache does not, so that one user's cookie is
// never sent to another. A private cache always may.
func WithSetCookieStorage() Option {
	return func(c *config) { c.storeSetCookie = true }
}

// fieldNames returns the non-empty names in canonical form.
func fieldNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = http.CanonicalHeaderKey(strings.TrimSpace(n))
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// WithMaxKeySize sets the longest cache key, in bytes, that the cache looks
// up or stores: the request's absolute URI and, for a response that varies,
// the request field values it varies on. A request whose key is longer goes
// to the handler and nothing is stored for it (Event.NotStored
// "key-too-large"), so that long URLs cannot fill memory beyond the store's
// budget. Values <= 0 keep the default (DefaultMaxKeySize).
func WithMaxKeySize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxKey = n
		}
	}
}

// WithMaxErrorLifetime caps how long an error response (status 400 to 599)
// is kept: both its freshness lifetime and the time it is kept stale. A
// cacheable error that an attacker provoked then denies service for at most
// d. Zero (the default) sets no cap beyond the response's own directives;
// the larder proxy sets one (--max-error-ttl).
func WithMaxErrorLifetime(d time.Duration) Option {
	return func(c *config) { c.maxErrorLife = max(d, 0) }
}

// WithKnownMethodInvalidation makes only the registered unsafe methods
// (POST, PUT, DELETE, PATCH and the WebDAV methods of the IANA HTTP Method
// Registry) invalidate on success. By default any method other than GET,
// HEAD, OPTIONS and TRACE does, as RFC 9111 §4.4 says of methods of unknown
// safety: a client can then invalidate a URL with an invented method.
func WithKnownMethodInvalidation() Option {
	return func(c *config) { c.knownOnly = true }
}

// WithCoalescing sets request coalescing: concurrent misses (and
// revalidations) of one URL make one request to the handler, and the
// others wait for it at most wait, each also within its own context, to be
// served its response when it was stored and is their variant. A URL whose
// response was not storable goes uncoalesced for hitForMiss (what Varnish
// calls hit-for-miss), so that its requests do not queue behind each other.
// Zero keeps a default (DefaultCoalesceWait, DefaultHitForMiss); a negative
// wait turns coalescing off. Coalescing is on by default.
func WithCoalescing(wait, hitForMiss time.Duration) Option {
	return func(c *config) {
		switch {
		case wait < 0:
			c.coalesce = false
		case wait > 0:
			c.coalesce, c.coalesceWait = true, wait
		}
		if hitForMiss > 0 {
			c.hitForMiss = hitForMiss
		}
	}
}

// WithKeepTagFields keeps the tag fields of responses (Surrogate-Key,
// Cache-Tag, xkey) in what clients receive and in stored responses. By
// default the cache reads them (tags.go) and removes them, as a CDN does:
// they describe the origin's content model, which clients need not see.
// Keep them when another cache downstream purges by tag too.
func WithKeepTagFields() Option {
	return func(c *config) { c.keepTagFields = true }
}

// WithTagLimits bounds the tags of a stored response: at most maxTags
// distinct tags (default DefaultMaxTags), each at most maxLen bytes
// (default DefaultMaxTagLength). A response over a bound is not stored
// (Event.NotStored "tags-over-limit"), so that no stored response escapes a
// purge of a tag it should have carried. Values ≤ 0 keep the default.
func WithTagLimits(maxTags, maxLen int) Option {
	return func(c *config) {
		if maxTags > 0 {
			c.maxTags = maxTags
		}
		if maxLen > 0 {
			c.maxTagLen = maxLen
		}
	}
}

// WithPrefixPurge enables Cache.PurgePrefix: every response stored is
// indexed under its host and its directories down to depth path segments
// (depth 0: the host alone), in the store's tag index (TagStore), which
// costs depth+1 index records per stored URL. A prefix at most depth
// segments deep that ends with "/" is purged from its directory's index
// records; any other prefix from those of the deepest indexed directory
// that contains it, keeping the URLs that start with the prefix. Negative
// depth disables it (the default).
func WithPrefixPurge(depth int) Option {
	return func(c *config) { c.prefixDepth = max(depth, -1) }
}
