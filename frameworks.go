package larder

import "net/http"

// RequestBound is implemented by a handler that can run only while the
// request it was made for is being served: the framework adapters'
// (adapters/gin, adapters/echo, adapters/fiber), whose handler runs the
// framework's chain on the request's own pooled context. The cache never
// calls such a handler in the background: a stored response within its
// stale-while-revalidate window (RFC 5861 §3) is revalidated on the request
// that finds it stale, as if the window had passed.
type RequestBound interface {
	http.Handler
	// RequestBound reports whether the handler is bound to its request.
	RequestBound() bool
}

// requestBound reports whether next must not be called in the background.
func requestBound(next http.Handler) bool {
	rb, ok := next.(RequestBound)
	return ok && rb.RequestBound()
}
