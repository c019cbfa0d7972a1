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
//	cache_expiry=10         Expiry(10 * time.Second)
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

	cacheControl []string // precomputed Cache-Control value, nil if none
}

// Expiry caches the route's responses for d and sends Cache-Control: max-age
// (with public or private when set) unless the handler set its own
// Cache-Control. It is the seed's cache_expiry.
func Expiry(d time.Duration) RouteOption {
	return func(r *route) { r.expiry, r.hasExpiry = max(d, 0), true }
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

// NoInvalidation turns off invalidation for the route's unsafe requests.
func NoInvalidation() RouteOption { return func(r *route) { r.noInval = true } }

func newRoute(opts []RouteOption) *route {
	rt := &route{}
	for _, o := range opts {
		if o != nil {
			o(rt)
		}
	}
	var cc string
	switch rt.vis {
	case visPublic:
		cc = "public"
	case visPrivate:
		cc = "private"
	}
	if rt.hasExpiry {
		ma := "max-age=" + strconv.FormatInt(int64(rt.expiry/time.Second), 10)
		if cc != "" {
			cc += ", " + ma
		} else {
			cc = ma
		}
	}
	if cc != "" {
		rt.cacheControl = []string{cc}
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
