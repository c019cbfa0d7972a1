package conditional

import (
	"github.com/larder-cache/larder/internal/httpdate"
	"github.com/larder-cache/larder/internal/httpsyntax"
	"net/http"
	"time"
)

// Result is the outcome of evaluating a request's preconditions.
type Result int

const (
	// Proceed: every evaluated precondition is true (or none applies); serve
	// the request normally.
	Proceed Result = iota
	// NotModified: respond 304 (RFC 9110 §15.4.5).
	NotModified
	// PreconditionFailed: respond 412 (RFC 9110 §15.5.13).
	PreconditionFailed
)

// String returns the Go name of r.
func (r Result) String() string {
	switch r {
	case Proceed:
		return "Proceed"
	case NotModified:
		return "NotModified"
	case PreconditionFailed:
		return "PreconditionFailed"
	}
	return "Result(?)"
}

// Canonical header keys (net/http form).
const (
	hIfMatch           = "If-Match"
	hIfNoneMatch       = "If-None-Match"
	hIfModifiedSince   = "If-Modified-Since"
	hIfUnmodifiedSince = "If-Unmodified-Since"
	hETag              = "Etag"
	hETagAlt           = "ETag" // as set by h["ETag"] = ..., which skips canonicalization
	hLastModified      = "Last-Modified"
	hDate              = "Date"
)

// Evaluate evaluates the preconditions of a request with the given method and
// header req against the selected representation, the stored response with
// status status and header respHeader (whose ETag, Last-Modified and Date are
// the validators), in the order of RFC 9110 §13.2.2:
//
//  1. If-Match, with the strong comparison (§13.1.1); false -> 412.
//  2. Else If-Unmodified-Since (§13.1.4); false -> 412. Ignored when it is not
//     exactly one valid HTTP-date (a list of dates is invalid) or when the
//     response has no valid Last-Modified.
//  3. If-None-Match, with the weak comparison (§13.1.2); false -> 304 for GET
//     and HEAD, 412 for other methods.
//  4. Else, for GET and HEAD only, If-Modified-Since (§13.1.3); false -> 304.
//     Ignored when it is not exactly one field line holding a valid HTTP-date.
//     The modification date is the response's Last-Modified; when that is
//     absent or invalid, its Date, as RFC 9111 §4.3.2 directs for caches
//     (RFC 9110 §6.6.1 requires a cache to add Date when it is missing). With
//     neither, the condition is ignored.
//
// Entity-tag lists follow MatchList; the wildcard matches because a selected
// representation exists. Dates compare at one-second resolution.
//
// Preconditions are ignored (Proceed) when status is not 2xx (RFC 9110
// §13.2.1) and for CONNECT, OPTIONS and TRACE, which do not select a
// representation (§13.2.1). If-Range is not evaluated here (§13.1.5).
//
// Steps 1 and 2 apply to an origin server. A cache answering from storage must
// not evaluate them (RFC 9111 §4.3.2); use EvaluateCache there.
func Evaluate(method string, req http.Header, status int, respHeader http.Header) Result {
	return evaluate(method, req, status, respHeader, true)
}

// EvaluateCache is Evaluate for a cache answering from a stored response, per
// RFC 9111 §4.3.2: "the If-Match and If-Unmodified-Since conditional header
// fields are not applicable to a cache", so only steps 3 and 4 of RFC 9110
// §13.2.2 (If-None-Match, else If-Modified-Since with the Date fallback) are
// evaluated. Whether to forward a request carrying If-Match or
// If-Unmodified-Since to the origin instead is the caller's decision.
func EvaluateCache(method string, req http.Header, status int, respHeader http.Header) Result {
	return evaluate(method, req, status, respHeader, false)
}

// Validators are what Evaluate reads of a representation's header: its
// ETag, Last-Modified and Date field lines.
type Validators struct {
	// ETag is the ETag field value, or "" when the field is absent or has
	// more than one line (ETag is a singleton, RFC 9110 §8.8.3).
	ETag string
	// LastModified and Date are the field's lines.
	LastModified, Date []string
}

// ValidatorsOf returns the validators of a response header.
func ValidatorsOf(h http.Header) Validators {
	return Validators{ETag: etagOf(h), LastModified: h[hLastModified], Date: h[hDate]}
}

// EvaluateValidators is Evaluate against a representation given by its
// validators rather than its header.
func EvaluateValidators(method string, req http.Header, status int, v Validators) Result {
	return evaluateV(method, req, status, &v, true)
}

func evaluate(method string, req http.Header, status int, resp http.Header, origin bool) Result {
	if status < 200 || status > 299 || len(req) == 0 {
		return Proceed
	}
	v := ValidatorsOf(resp)
	return evaluateV(method, req, status, &v, origin)
}

func evaluateV(method string, req http.Header, status int, resp *Validators, origin bool) Result {
	if status < 200 || status > 299 || len(req) == 0 {
		return Proceed
	}
	switch method {
	case http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return Proceed
	}
	getOrHead := method == http.MethodGet || method == http.MethodHead

	if origin {
		if im, ok := req[hIfMatch]; ok {
			// RFC 9110 §13.2.2 step 1; If-Unmodified-Since is then ignored (§13.1.4).
			if !MatchList(im, resp.ETag, false, true) {
				return PreconditionFailed
			}
		} else if d, ok := singleDate(req[hIfUnmodifiedSince]); ok {
			// Step 2.
			if lm, ok := singleDate(resp.LastModified); ok && lm.After(d) {
				return PreconditionFailed
			}
		}
	}

	if inm, ok := req[hIfNoneMatch]; ok {
		// Step 3; If-Modified-Since is then ignored (§13.1.3).
		if MatchList(inm, resp.ETag, true, true) {
			if getOrHead {
				return NotModified
			}
			return PreconditionFailed
		}
		return Proceed
	}

	if getOrHead {
		// Step 4.
		if d, ok := singleDate(req[hIfModifiedSince]); ok {
			lm, ok := singleDate(resp.LastModified)
			if !ok {
				lm, ok = singleDate(resp.Date) // RFC 9111 §4.3.2
			}
			if ok && !lm.After(d) {
				return NotModified
			}
		}
	}
	return Proceed
}

// notModifiedFields are the fields a 304 must carry when a 200 would
// (RFC 9110 §15.4.5).
var notModifiedFields = [...]string{
	"Cache-Control",
	"Content-Location",
	hDate,
	"Expires",
	hETag,
	"Vary",
}

// NotModifiedHeader copies into dst, from the stored response header src, the
// fields a 304 (Not Modified) response carries (RFC 9110 §15.4.5):
// Content-Location, Date, ETag and Vary, Cache-Control and Expires (RFC 9111
// §4.3.4 uses them to freshen stored responses), and Last-Modified only when
// src has no ETag ("useful if the response does not have an ETag field").
// Other representation metadata is left out, as §15.4.5 says it SHOULD be.
//
// The values are src's slices, not copies; neither header may be appended to
// in place afterwards. Fields absent from src are left untouched in dst. A nil
// dst is a no-op.
func NotModifiedHeader(dst, src http.Header) {
	if dst == nil || len(src) == 0 {
		return
	}
	for _, k := range notModifiedFields {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
	if _, ok := src[hETag]; !ok {
		//lint:ignore SA1008 deliberate: a handler that assigns h["ETag"] directly bypasses canonicalization
		if v, ok := src[hETagAlt]; ok {
			dst[hETag] = v
		} else if v, ok := src[hLastModified]; ok {
			dst[hLastModified] = v
		}
	}
}

// etagOf returns the stored response's ETag field value, or "" when there is
// none. ETag is a singleton field (RFC 9110 §8.8.3); several field lines make
// the validator unusable, so "" is returned then too.
func etagOf(h http.Header) string {
	v, ok := h[hETag]
	if !ok {
		//lint:ignore SA1008 deliberate: a handler that assigns h["ETag"] directly bypasses canonicalization
		v = h[hETagAlt]
	}
	if len(v) != 1 {
		return ""
	}
	return v[0]
}

// singleDate parses a field holding one HTTP-date (RFC 9110 §5.6.7: IMF-fixdate,
// rfc850-date or asctime-date). It fails when there is not exactly one field
// line or the value is not a valid HTTP-date; a comma list of dates is not
// (§13.1.3, §13.1.4).
func singleDate(v []string) (time.Time, bool) {
	if len(v) != 1 {
		return time.Time{}, false
	}
	s := httpsyntax.TrimOWS(v[0])
	if s == "" {
		return time.Time{}, false
	}
	return httpdate.Parse(s, time.Time{})
}
