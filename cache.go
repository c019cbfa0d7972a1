package larder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/larder-cache/larder/internal/invalidation"
)

// Cache is an HTTP cache following RFC 9111, shared by default. Its
// Middleware, Route and Handler methods put it in front of an http.Handler.
// A Cache is safe for concurrent use.
type Cache struct {
	store Store
	cfg   config

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
// ("https://example.com/a?b=1"); its scheme is ignored. A rawURL that is not
// such a URL gives an error wrapping ErrBadURL, and touches no store.
func (c *Cache) Purge(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path[0] != '/') {
		return fmt.Errorf("%w: %q", ErrBadURL, rawURL)
	}
	var keys [2]string
	for i, scheme := range [...]string{"http", "https"} {
		v := *u
		v.Scheme = scheme
		k, ok := invalidation.Normalize(&v)
		if !ok {
			return fmt.Errorf("%w: %q", ErrBadURL, rawURL)
		}
		keys[i] = k
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
// absolute URI in the normal form of invalidation.Normalize, and the request
// the handler gets: r itself when its target is in that form already, else
// a shallow copy whose Host, URL and RequestURI are in it. The key is so
// derived from exactly what the handler (or the proxy's upstream) sees: no
// two requests the handler tells apart share a key, whatever the spelling
// of their targets (dot segments, needless percent-encoding, the case of a
// host or a default port). RFC 9110 §4.2.3 lets any HTTP component
// normalise so (RFC 3986 §6.2.2, §6.2.3), and says that URIs equivalent
// after it should not identify distinct resources; the one key per resource
// also lets invalidation (RFC 9111 §4.4) and purge find every spelling.
func target(r *http.Request) (string, *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	path := r.URL.EscapedPath()
	if plainKeyParts(scheme, host, path, r.URL.RawQuery) {
		if r.URL.RawQuery == "" {
			return scheme + "://" + host + path, r
		}
		return scheme + "://" + host + path + "?" + r.URL.RawQuery, r
	}
	v := url.URL{Scheme: scheme, Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	k, ok := invalidation.Normalize(&v)
	if !ok {
		// No normal form (a malformed host): the target goes as it is, and
		// its key is as raw.
		return scheme + "://" + host + path + "?" + r.URL.RawQuery, r
	}
	n, err := url.Parse(k)
	if err != nil {
		return scheme + "://" + host + path + "?" + r.URL.RawQuery, r
	}
	nr := new(http.Request)
	*nr = *r
	u := *r.URL
	u.Path, u.RawPath, u.RawQuery, u.ForceQuery = n.Path, n.RawPath, n.RawQuery, false
	if u.Host != "" {
		u.Host = n.Host
	}
	nr.URL = &u
	if r.Host != "" {
		nr.Host = n.Host
	}
	if r.RequestURI != "" {
		nr.RequestURI = u.RequestURI()
	}
	return k, nr
}

// urlKey is the normal form of an absolute URI that primary keys use, the
// same as invalidation.Normalize gives (RFC 3986 §6.2), so that invalidated
// and purged URIs find what was stored. Most URIs are already in normal
// form; they take a short path with one allocation.
func urlKey(scheme, host string, u *url.URL) string {
	path := u.EscapedPath()
	if plainKeyParts(scheme, host, path, u.RawQuery) {
		if u.RawQuery == "" {
			return scheme + "://" + host + path
		}
		return scheme + "://" + host + path + "?" + u.RawQuery
	}
	v := url.URL{Scheme: scheme, Host: host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if k, ok := invalidation.Normalize(&v); ok {
		return k
	}
	return scheme + "://" + host + path + "?" + u.RawQuery
}

// plainKeyParts reports whether the parts are already in normal form: a
// lowercase host with no default or zero-led port, a path starting with "/"
// without percent-encoding or dot segments, a query without percent-encoding.
func plainKeyParts(scheme, host, path, query string) bool {
	if path == "" || path[0] != '/' || strings.IndexByte(path, '%') >= 0 ||
		strings.Contains(path, "/.") || strings.IndexByte(query, '%') >= 0 {
		return false
	}
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'A' <= c && c <= 'Z', c == '[', c == '@':
			return false
		case c == ':':
			port := host[i+1:]
			if port == "" || port[0] == '0' ||
				(scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
				return false
			}
		}
	}
	return host != ""
}

// variantKey is where one variant of a URL is stored: under the URL's Vary
// index nonce, the user (per-user routes) and the secondary key (RFC 9111
// §4.1).
func variantKey(primary, nonce, user, secondary string) string {
	return primary + "\x00v=" + nonce + "\x00" + user + "\x00" + secondary
}
