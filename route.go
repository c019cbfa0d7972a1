package larder

import (
	"net/http"
	"strconv"
	"time"

	"github.com/larder-cache/larder/internal/cachekey"
)

// RouteOption sets the cache policy of one route; see Cache.Route. Each maps one
// route attribute of the chocs-cache seed:
//
//	cache_expiry=10         Expiry(10 * time.Second)  (2xx, 301 and 308; ExpiryFor for others)
//	cache_vary=("a", "b")   Vary("a", "b")
//	cache_control="public"  Public()
//	cache_control="private" Private()  (with PerUser to store it server-side)
//	cache=True (unsafe)     on by default; Invalidate adds more URLs
type RouteOption func(*route)

type visibility uint8

const (
	visDefault visibility = iota
	visPublic
	visPrivate
)

type route struct {
	expiry     time.Duration
	hasExpiry  bool
	vary       []string
	hasVary    bool
	vis        visibility
	user       func(*http.Request) (string, bool)
	invalidate func(*http.Request) []string
	noInval    bool
	writeConds bool // preconditions.go
	tags       func(*http.Request) []string

	statusExpiry map[int]time.Duration // ExpiryFor

	// Precomputed Cache-Control values: for the statuses Expiry covers (""
	// if none), for the others (private routes: "private"), and for the
	// statuses ExpiryFor names.
	cacheControl string
	otherCC      string
	statusCC     map[int]string
}

// Expiry caches the route's successful responses (200, 203, 204 and 206:
// the 2xx statuses a cache may store by default) and permanent redirects
// (301, 308) for d: it sends them with Cache-Control: max-age (with public
// or private when set) unless the handler set its own Cache-Control. It is
// the seed's cache_expiry. Other statuses, errors above all, get no max-age
// from the route, so that a 404 is not served from the cache for d: the
// handler's own Cache-Control decides for them, or ExpiryFor gives them a
// lifetime of their own.
func Expiry(d time.Duration) RouteOption {
	return func(r *route) { r.expiry, r.hasExpiry = max(d, 0), true }
}

// ExpiryFor gives the route's responses with one of statuses their own
// lifetime d, as Expiry does for successes (Cache-Control: max-age, unless
// the handler set its own Cache-Control), like nginx's proxy_cache_valid:
//
//	c.Route(larder.Expiry(10*time.Second), larder.ExpiryFor(time.Minute, 404, 410))
//
// caches successes for 10 s and not-found answers for a minute. It
// replaces Expiry's lifetime for the statuses it names, so ExpiryFor(d,
// 200) sets that of 200 alone. Statuses outside 200-599, and 304 (which
// the cache answers itself), are ignored. WithMaxErrorLifetime still caps
// how long an error is kept. A 5xx given a lifetime is stored like any
// response, but a stale stored response that stale-if-error lets the cache
// serve in place of an error is still served instead.
func ExpiryFor(d time.Duration, statuses ...int) RouteOption {
	return func(r *route) {
		for _, s := range statuses {
			if s < 200 || s > 599 || s == http.StatusNotModified {
				continue
			}
			if r.statusExpiry == nil {
				r.statusExpiry = make(map[int]time.Duration)
			}
			r.statusExpiry[s] = max(d, 0)
		}
	}
}

// expiryStatus reports whether Expiry covers a status: the 2xx statuses
// that are heuristically cacheable (RFC 9110 §15.1) and the permanent
// redirects.
func expiryStatus(status int) bool {
	switch status {
	case http.StatusOK, http.StatusNonAuthoritativeInfo, http.StatusNoContent, http.StatusPartialContent,
		http.StatusMovedPermanently, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// cacheControlFor returns the Cache-Control value the route gives a
// response with this status when the handler set none ("" for none).
func (rt *route) cacheControlFor(status int) string {
	if cc, ok := rt.statusCC[status]; ok {
		return cc
	}
	if expiryStatus(status) {
		return rt.cacheControl
	}
	return rt.otherCC
}

// Vary sets the request header fields the route's responses vary on, replacing
// the cache-wide WithVary default. It is the seed's per-route cache_vary.
func Vary(names ...string) RouteOption {
	return func(r *route) { r.vary, r.hasVary = fieldNames(names), true }
}

// Public marks the route's responses Cache-Control: public, so shared caches
// downstream may store them (the seed's cache_control="public").
func Public() RouteOption { return func(r *route) { r.vis = visPublic } }

// Private marks the route's responses Cache-Control: private (the seed's
// cache_control="private"). Only private caches downstream store them. A shared
// Larder cache stores them only when the route also has PerUser, keyed by
// user, so a private page is never served to another user.
func Private() RouteOption { return func(r *route) { r.vis = visPrivate } }

// PerUser keys the route's cache entries by the user that id returns (hashed,
// never stored in clear). For such requests the cache acts as that user's
// private cache: private responses and responses to requests with
// Authorization are stored, for that user alone. When id reports false the
// request is treated as anonymous and shared.
func PerUser(id func(*http.Request) (string, bool)) RouteOption {
	return func(r *route) { r.user = id }
}

// UserHeader identifies the user by a request header field, e.g. Authorization.
func UserHeader(name string) func(*http.Request) (string, bool) {
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) (string, bool) {
		v := r.Header[name]
		if len(v) == 0 || v[0] == "" {
			return "", false
		}
		return v[0], true
	}
}

// UserCookie identifies the user by a cookie, e.g. a session cookie.
func UserCookie(name string) func(*http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) {
		c, err := r.Cookie(name)
		if err != nil || c.Value == "" {
			return "", false
		}
		return c.Value, true
	}
}

// Invalidate adds URLs to invalidate when an unsafe request to the route
// succeeds (RFC 9111 §4.4 already covers the target URI, Location and
// Content-Location). fn returns absolute URLs or references resolved against
// the request URL as a link would be ("/users" is a path on the request's
// origin; "friends" from /users/1 is /users/friends). This is the seed's
// collecting storage, generalised.
func Invalidate(fn func(*http.Request) []string) RouteOption {
	return func(r *route) { r.invalidate = fn }
}

// Tags tags the route's stored responses with the tags fn computes from the
// request (from its path values, say), besides those of the response's
// Surrogate-Key, Cache-Tag and xkey fields, for Cache.PurgeTags. The
// limits of WithTagLimits apply to all the tags together.
//
//	mux.Handle("GET /products/{id}", c.Route(larder.Tags(func(r *http.Request) []string {
//		return []string{"product:" + r.PathValue("id")}
//	}))(getProduct))
func Tags(fn func(*http.Request) []string) RouteOption {
	return func(r *route) { r.tags = fn }
}

// NoInvalidation turns off invalidation for the route's unsafe requests.
func NoInvalidation() RouteOption { return func(r *route) { r.noInval = true } }

func newRoute(opts []RouteOption) *route {
	rt := &route{}
	for _, o := range opts {
		if o != nil {
			o(rt)
		}
	}
	var vis string
	switch rt.vis {
	case visPublic:
		vis = "public"
	case visPrivate:
		vis = "private"
		// A private route's other responses (its errors) are private too.
		rt.otherCC = vis
	}
	withMaxAge := func(d time.Duration) string {
		ma := "max-age=" + strconv.FormatInt(int64(d/time.Second), 10)
		if vis == "" {
			return ma
		}
		return vis + ", " + ma
	}
	rt.cacheControl = vis
	if rt.hasExpiry {
		rt.cacheControl = withMaxAge(rt.expiry)
	}
	if len(rt.statusExpiry) > 0 {
		rt.statusCC = make(map[int]string, len(rt.statusExpiry))
		for s, d := range rt.statusExpiry {
			rt.statusCC[s] = withMaxAge(d)
		}
	}
	return rt
}

// anonymous is the user part of the keys of a per-user route's requests
// that carry no user.
const anonymous = cachekey.Anonymous

// userKey returns the user part of the request's variant keys: "" when the
// route is not per user, anonymous when the request has no user, else a hash
// of the user's id (cachekey.User). On a per-user route every response is
// stored as a variant under the URL's Vary index, so invalidating the URL
// (deleting the index) drops every user's copy at once.
func (rt *route) userKey(r *http.Request) string {
	if rt == nil || rt.user == nil {
		return ""
	}
	return cachekey.User(rt.user(r))
}
