package larder

import (
	"net/http"
	"net/url"

	"github.com/larder-cache/larder/internal/cachekey"
	"github.com/larder-cache/larder/internal/invalidation"
)

// invalidates reports whether the request's success invalidates stored
// responses (RFC 9111 §4.4: unsafe methods and methods of unknown safety,
// or only the registered unsafe ones with WithKnownMethodInvalidation).
func (x *exchange) invalidates() bool {
	m := x.r.Method
	if x.c.cfg.knownOnly && !invalidation.Registered(m) {
		return false
	}
	return invalidation.Unsafe(m) && (x.rt == nil || !x.rt.noInval)
}

func invalidatesStatus(status int) bool { return invalidation.Invalidates(status) }

// invalidate removes what is stored for the target URI, for same-origin
// Location and Content-Location URIs (RFC 9111 §4.4) and for the URLs the
// route names, with all their variants, each under the primary key a
// request for it has (cachekey.Policy.URL). It runs before the response header
// goes out, so a client that reads the response and then asks again never
// gets the old representation from this cache.
func (x *exchange) invalidate(h http.Header) {
	r := x.r
	target := &url.URL{Scheme: cachekey.Scheme(r), Host: cachekey.Host(r), Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	uris := invalidation.Targets(target, h)
	if x.rt != nil && x.rt.invalidate != nil {
		for _, s := range x.rt.invalidate(r) {
			ref, err := url.Parse(s)
			if err != nil {
				continue
			}
			uris = append(uris, target.ResolveReference(ref).String())
		}
	}
	keys := make([]string, 0, len(uris))
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			continue
		}
		// Keyed as requests for them are (the key options included): with
		// dropped parameters, Location: /b?utm_source=x invalidates /b.
		k, _ := x.c.key.URL(u)
		keys = append(keys, k)
	}
	if err := x.c.invalidateKeys(x.background(), keys); err != nil && x.ev.StoreErr == nil {
		x.ev.StoreErr = err
	}
}
