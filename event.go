package larder

import "net/http"

// Outcome says how the cache answered a request.
type Outcome string

// Outcomes reported in Event.Outcome.
const (
	// OutcomeHit: a fresh stored response (or one the request allowed stale) was served.
	OutcomeHit Outcome = "hit"
	// OutcomeRevalidated: a stale stored response was validated with a 304 and served.
	OutcomeRevalidated Outcome = "revalidated"
	// OutcomeMiss: nothing was stored for the URL; the handler answered.
	OutcomeMiss Outcome = "miss"
	// OutcomeVaryMiss: responses were stored for the URL, none for this variant.
	OutcomeVaryMiss Outcome = "vary-miss"
	// OutcomeStale: a stale stored response was replaced by a full response.
	OutcomeStale Outcome = "stale"
	// OutcomeStaleIfError: the handler failed (5xx) and a stale stored response
	// was served instead: stale-if-error (RFC 5861 §4), or an unreachable
	// origin (OriginUnreachable, RFC 9111 §4.2.4).
	OutcomeStaleIfError Outcome = "stale-if-error"
	// OutcomeRequest: the request asked not to be served from the cache (no-cache).
	OutcomeRequest Outcome = "request"
	// OutcomeOnlyIfCached: only-if-cached and nothing usable stored: 504.
	OutcomeOnlyIfCached Outcome = "only-if-cached"
	// OutcomeMethod: a method the cache does not serve (POST, PUT, ...); unsafe
	// methods invalidate on success.
	OutcomeMethod Outcome = "method"
	// OutcomeBypass: the request was not cacheable (e.g. an upgrade).
	OutcomeBypass Outcome = "bypass"
	// OutcomePreconditionFailed: an unsafe request whose preconditions failed
	// against the fresh stored response was answered 412 without calling the
	// handler (WithWritePreconditions).
	OutcomePreconditionFailed Outcome = "precondition-failed"
)

// Event describes one request the cache handled; see WithObserver.
type Event struct {
	// Outcome is what the cache did.
	Outcome Outcome
	// Status is the status code sent to the client (0 if none was sent).
	Status int
	// Stored reports whether a response was stored (or a stored one updated).
	Stored bool
	// StoreErr is the first store failure met while handling the request, if any.
	// The request was then answered as if nothing were stored.
	StoreErr error
	// Request is the request the event is about.
	Request *http.Request
	// Background reports a revalidation the cache made by itself
	// (stale-while-revalidate), not a client's request.
	Background bool
	// NotStored is why a response from the handler was not stored ("" if it was,
	// or if there was none).
	NotStored string
	// Collapsed reports a request answered with the response that another,
	// concurrent request for the same URL fetched (request coalescing), in
	// this process or, with WithFleetCoalescing, in another sharing the
	// store; its Cache-Status has the collapsed parameter (RFC 9211 §2.6).
	Collapsed bool
}
