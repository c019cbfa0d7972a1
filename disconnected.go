package larder

import "net/http"

// OriginUnreachable tells the cache in front of w that the response about to
// be written stands for an origin that could not be reached (refused
// connection, timeout): the cache is disconnected, and RFC 9111 §4.2.4 lets
// it serve a stale stored response in place of the error, unless a directive
// forbids it (must-revalidate, no-cache, and in a shared cache
// proxy-revalidate and s-maxage). A reverse proxy's error handler calls it
// before writing its 502 or 504; the proxy package does. When w does not
// lead to a Larder cache it does nothing.
func OriginUnreachable(w http.ResponseWriter) {
	for w != nil {
		if cw, ok := w.(*capture); ok {
			cw.unreachable = true
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
