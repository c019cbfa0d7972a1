// Package larder is an HTTP cache for net/http, following RFC 9111: a
// middleware that stores what handlers return and answers later requests
// from storage, correctly for a shared cache (the default) or a private one.
//
// A Cache wraps any http.Handler:
//
//	store, _ := memory.New(memory.Options{MaxBytes: 256 << 20})
//	cache := larder.New(store)
//	http.ListenAndServe(addr, cache.Middleware(mux))
//
// On the client side, NewTransport returns the same cache as an
// http.RoundTripper, a private cache by default (RFC 9111 §3.5):
//
//	client := &http.Client{Transport: larder.NewTransport(http.DefaultTransport, store)}
//
// With Middleware the handlers' own header fields decide (Cache-Control,
// Expires, ETag, Last-Modified, Vary), as with a proxy; Route and Handler
// give one route a policy instead (Expiry, Vary, Public, Private, PerUser,
// Invalidate), the route attributes of the chocs-cache middleware Larder
// started from.
//
// What the cache does, by RFC section:
//
//   - stores only what RFC 9111 §3 allows (no-store, private, Authorization
//     §3.5, must-understand, Vary: *), never a response cut short;
//   - computes freshness and age (§4.2), honours request directives (§5.2.1)
//     and the targeted CDN-Cache-Control field (RFC 9213);
//   - keeps variants apart by the request fields Vary nominates (§4.1);
//   - validates stale responses with If-None-Match / If-Modified-Since and
//     freshens them on a 304 (§4.3), serves them stale within
//     stale-while-revalidate (in the background) and stale-if-error
//     (RFC 5861), or when the origin is unreachable (§4.2.4, OriginUnreachable);
//   - answers preconditions (RFC 9110 §13) and byte ranges (§14) from storage;
//   - invalidates what unsafe requests change (§4.4);
//   - says what it did in Cache-Status (RFC 9211) and Age on every response.
//
// Entries live in a Store: store/memory is the built-in bounded store, and
// store/storetest checks any other. A failing or slow store never fails a
// request: the cache goes to the handler instead.
//
// An Entry's header fields are read with Entry.Fields: a store that keeps
// entries as Go values (EntryKeeper, as store/memory does) is given the
// responses the cache stores in a compact form whose Header is nil, which
// takes well under half the memory of the map.
package larder
