package larder

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/larder-cache/larder/internal/cachekey"
)

// Cache is an HTTP cache following RFC 9111, shared by default. Its
// Middleware, Route and Handler methods put it in front of an http.Handler.
// A Cache is safe for concurrent use.
type Cache struct {
	store Store
	cfg   config
	key   *cachekey.Policy // how requests are keyed (options_key.go); nil: by URL alone
	keys  *keyTable        // recent primary keys, made once (keytable.go)

	bg       sync.WaitGroup // background revalidations
	inflight sync.Map       // stored keys being revalidated in the background

	engine // write-behind, coalescing, store calls (engine.go)
}

// New returns a cache keeping its entries in store. A nil store stores nothing:
// every request goes to the handler.
func New(store Store, opts ...Option) *Cache {
	c := &Cache{store: store, cfg: defaultConfig()}
	if store == nil {
		c.store = nopStore{}
	}
	for _, o := range opts {
		if o != nil {
			o(&c.cfg)
		}
	}
	if c.cfg.logger == nil {
		c.cfg.logger = slog.New(slog.DiscardHandler)
	}
	c.key = cachekey.New(c.cfg.key)
	c.keys = newKeyTable()
	c.initEngine()
	return c
}

// Middleware returns next behind the cache, with no route policy: the
// handler's response header fields decide what is stored, as with a proxy.
// Its signature fits http.ServeMux wrapping, chi's Use and any
// func(http.Handler) http.Handler chain.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return &handler{c: c, next: next}
}

// Route returns a middleware that caches one route with the given policy.
//
//	mux.Handle("GET /users/{id}", c.Route(larder.Expiry(10*time.Second))(getUser))
//
// Use either Middleware around a whole mux or Route on routes, not both on the
// same route: each is a complete cache.
func (c *Cache) Route(opts ...RouteOption) func(http.Handler) http.Handler {
	rt := newRoute(opts)
	return func(next http.Handler) http.Handler {
		return &handler{c: c, next: next, rt: rt}
	}
}

// Handler returns h behind the cache with the given route policy; it is
// c.Route(opts...)(h).
func (c *Cache) Handler(h http.Handler, opts ...RouteOption) http.Handler {
	return c.Route(opts...)(h)
}

// Close waits for the background revalidations under way to end, then for
// the queued store writes (write-behind) to complete. The cache stays
// usable; Close is for shutdown and tests.
func (c *Cache) Close() error {
	c.bg.Wait()
	c.flush()
	return nil
}

// ErrBadURL is returned by Purge for a URL it cannot purge: one that does
// not parse, is not absolute, or whose path does not start with "/".
var ErrBadURL = errors.New("larder: not an absolute http URL with a path")

// Purge removes every stored response for rawURL (all its variants, for http
// and https) and reports the first store error. rawURL is absolute
// ("https://example.com/a?b=1"); its scheme is ignored. It is keyed as a
// request for it would be: with WithKeyDropQuery("utm_*"), purging
// /a?utm_source=x purges /a; with WithKeySortQuery, /a?b=1&a=2 is /a?a=2&b=1. A rawURL that is not
// such a URL gives an error wrapping ErrBadURL, and touches no store.
func (c *Cache) Purge(ctx context.Context, rawURL string) error {
	keys, err := c.urlKeys(rawURL)
	if err != nil {
		return err
	}
	return c.invalidateKeys(ctx, keys[:])
}

type handler struct {
	c    *Cache
	next http.Handler
	rt   *route
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.c.serve(w, r, h.next, h.rt)
}

// target returns the primary cache key of a request (RFC 9111 §2), its
// absolute URI in normal form shaped by the key options (WithKeyDropQuery,
// WithKeySortQuery), and the request the handler gets: r itself when its
// target is in that form already, else a shallow copy whose Host, URL and
// RequestURI are in it (cachekey.Policy.Request). The key is so derived
// from exactly what the handler (or the proxy's upstream) sees: no two
// requests the handler tells apart share a key, whatever the spelling of
// their targets (dot segments, needless percent-encoding, the case of a
// host or a default port), and a query parameter the key ignores never
// reaches the handler. RFC 9110 §4.2.3 lets any HTTP component normalise
// so (RFC 3986 §6.2.2, §6.2.3), and says that URIs equivalent after it
// should not identify distinct resources; the one key per resource also
// lets invalidation (RFC 9111 §4.4) and purge find every spelling.
//
// A target already in the key's form, as most are, is keyed without an
// allocation when its key was asked for recently (keyTable).
func (c *Cache) target(r *http.Request) (string, *http.Request) {
	var buf [keyBuf]byte
	if b, ok := c.key.AppendRequest(buf[:0], r); ok {
		return c.keys.intern(b), r
	}
	return c.key.Request(r)
}

// keyFields returns the per-user part of a request's variant keys (user,
// from route.userKey) with the key fields the options name (WithKeyCookie,
// WithKeyHeader) after it: the result stands in the user's place in
// variant keys, coalescing keys and so on. With key fields it is never "",
// so that every response is stored as a variant under the URL's Vary
// index, as if it had Vary on those fields (RFC 9111 §4.1): invalidating or
// purging the URL then drops every value's copy. Without, it is user.
func (c *Cache) keyFields(user string, r *http.Request) string {
	return cachekey.UserFields(user, c.key.Fields(r))
}

// variantKey is where one variant of a URL is stored: under the URL's Vary
// index nonce, the user (per-user routes) with the key fields (keyFields)
// and the secondary key (RFC 9111 §4.1).
func variantKey(primary, nonce, user, secondary string) string {
	return cachekey.Variant(primary, nonce, user, secondary)
}
