// Package echolarder puts a Larder cache in an echo (v4) middleware chain.
//
//	cache := larder.New(store)
//	e := echo.New()
//	users := e.Group("/users", echolarder.Route(cache, larder.Expiry(10*time.Second)))
//	users.GET("/:id", getUser)
//	users.POST("/:id", updateUser) // through the same cache: it invalidates /users/:id
//
// or, for the whole application with the handlers' own Cache-Control
// deciding, e.Use(echolarder.Middleware(cache)).
//
// echo.WrapMiddleware(cache.Middleware) is not enough: echo handlers
// return their errors (echo.NewHTTPError(404), echo.ErrNotFound for an
// unknown route) and echo renders them after the middleware chain
// returned, when the cache has finished with the response. This middleware
// hands a returned error to echo's HTTPErrorHandler inside the cache, so
// the cache sees the error page echo renders, with its status: a 404 is a
// 404, stored only when its Cache-Control or larder.ExpiryFor says so. The
// error is then returned up the chain, as echo's RequestLogger does with
// HandleError: loggers see it, and echo's DefaultHTTPErrorHandler leaves
// the committed response alone (a custom HTTPErrorHandler must check
// c.Response().Committed, as echo's documentation asks).
//
// On a hit the handler does not run, and the stored response is written to
// c.Response(), so echo's logger sees its status and size. On a miss the
// handler writes to an echo.Response over the cache's writer, which keeps
// Flush (streaming) and Hijack; c.Request() is the request the cache passes
// on (its key options may drop query parameters from it).
//
// A response within its stale-while-revalidate window is revalidated on
// the request that finds it stale, not in the background: echo recycles its
// context once the request is served (larder.RequestBound).
//
// Register unsafe methods (POST, PUT, PATCH, DELETE) behind the same cache
// as the GET routes they change, in a group as above: a POST the cache
// never sees never invalidates what it stored.
package echolarder

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/larder-cache/larder"
)

// Middleware returns an echo.MiddlewareFunc that puts the handler behind
// cache with no route policy: the responses' own header fields
// (Cache-Control, Expires, ETag, Vary) decide what is stored, as with
// cache.Middleware.
func Middleware(cache *larder.Cache) echo.MiddlewareFunc {
	return wrap(cache.Middleware)
}

// Route returns an echo.MiddlewareFunc that caches the handler with the
// route policy opts (larder.Expiry, larder.Vary, ...), as cache.Route does.
func Route(cache *larder.Cache, opts ...larder.RouteOption) echo.MiddlewareFunc {
	return wrap(cache.Route(opts...))
}

func wrap(mw func(http.Handler) http.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := &handler{c: c, next: next}
			mw(h).ServeHTTP(c.Response(), c.Request())
			return h.err
		}
	}
}

// handler is the http.Handler the cache calls on a miss: the rest of the
// echo chain, its error rendered.
type handler struct {
	c    echo.Context
	next echo.HandlerFunc
	err  error
}

var _ larder.RequestBound = (*handler)(nil)

// RequestBound tells the cache not to call the handler in the background
// (stale-while-revalidate): echo recycles the context once the request is
// served.
func (h *handler) RequestBound() bool { return true }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	res, req := c.Response(), c.Request()
	c.SetRequest(r)
	c.SetResponse(echo.NewResponse(w, c.Echo()))
	defer func() { c.SetResponse(res); c.SetRequest(req) }()
	err := h.next(c)
	if err != nil {
		// Rendered here, into the cache's writer, not after the chain.
		c.Error(err)
	}
	if h.err == nil {
		h.err = err
	}
}
