// Package soak is Larder's integrity soak: many concurrent clients, over
// real loopback HTTP, drive a cache in front of an origin that is also the
// oracle, and every response is checked against what that origin would send
// to that client at that moment.
//
// The origin (Origin) serves a fixed set of paths, each with a version
// counter and a kind chosen from its index: public cacheable pages, pages
// that vary on Accept-Language, private pages, pages personalised by cookie
// with no caching header at all, public pages that set a session cookie for
// visitors without one (on 200 and on 304), and public pages carrying the
// visitor's name in a field listed by private="X-User". Unsafe requests bump
// a path's version; purges bump it at the origin and then purge the cache.
// Every body names its path, version, variant and user and carries its
// length and a checksum (MakeBody, ParseBody), so that a truncated, spliced
// or misdirected body is caught.
//
// Run drives the load and checks the responses (see Report): a personalised
// body, Set-Cookie or X-User field reaching a client other than the one it
// names, a corrupt or misdirected body, a 304 with a body, a 206 that is not
// a slice of the version it names, and the like are mismatches; a client
// reading an older version after its own write or purge completed is counted
// apart, as staleAfterWrite.
//
// The test in this package runs both stacks (the cache in front of the
// reverse proxy package, and the cache as a middleware around the origin's
// handler) for a few seconds in the normal test run, and for longer with
//
//	LARDER_SOAK=60s go test -count=1 -v ./internal/soak/
//	go test -count=1 -v ./internal/soak/ -soak.duration=60s
//
// (the duration is shared between the two stacks). LARDER_SOAK_STRICT=1
// also fails the test on staleAfterWrite.
package soak
