// Package freshness implements the freshness model of RFC 9111 §4.2:
// freshness lifetime (§4.2.1), heuristic freshness (§4.2.2), age (§4.2.3),
// and whether a stored response can be served fresh, served stale, or must be
// validated (§4, §4.2.4, §5.2).
//
// Choices where the RFCs allow options (each covered by a test):
//
//   - Age (RFC 9111 §5.1): of a list-based or multi-line Age, the first
//     non-empty member is used and the rest discarded (the RFC's SHOULD); if
//     that member is not delta-seconds (e.g. "abc", "-7200", "7200.0") the
//     field is ignored. The cache-tests suite's age-parse group
//     (tests/age-parse.mjs) is informational ("check") and records "cached"
//     for every case, which no single rule satisfies; RFC 9111 §5.1 decides.
//   - corrected_initial_age uses the conservative
//     max(apparent_age, corrected_age_value) of RFC 9111 §4.2.3.
//   - Multiple Expires lines: the first is used (RFC 9111 §4.2.1 "first
//     occurrence", consistent with Cache-Control duplicates). An Expires that
//     is not a valid HTTP-date ("0", "UTC" zone, ...) means already expired
//     (RFC 9111 §5.3; tests/expires-freshness.mjs).
//   - Invalid max-age / s-maxage (Delta.Invalid) make the response stale
//     (RFC 9111 §4.2.1 "encouraged to consider ... stale";
//     tests/cc-freshness.mjs freshness-max-age-a100 etc.).
//   - Heuristic freshness is Fraction (default 10%) of Date (or the response
//     time) minus Last-Modified, capped at Max (default 24h); without a valid
//     Last-Modified there is no heuristic lifetime.
//   - Request directives (advisory, RFC 9111 §5.2.1) are honoured: no-cache
//     (and Pragma: no-cache through cachecontrol.ParseRequest), max-age,
//     min-fresh and max-stale. Invalid request arguments are ignored.
package freshness

import (
	"math"
	"net/http"
	"time"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/httpdate"
	"github.com/larder-cache/larder/internal/httpsyntax"
	"github.com/larder-cache/larder/internal/storability"
)

// maxAge is the largest age or lifetime handled: 2147483648 seconds, the value
// RFC 9111 §1.2.2 prescribes on overflow.
const maxAge = cachecontrol.MaxDelta * time.Second

// Heuristic configures heuristic freshness (RFC 9111 §4.2.2). Zero fields take
// the values of DefaultHeuristic, so the zero Heuristic is usable.
type Heuristic struct {
	// Fraction of the time since Last-Modified used as lifetime; <= 0 or NaN
	// means DefaultHeuristic.Fraction (0.1, the RFC's "typical setting").
	Fraction float64
	// Max caps the heuristic lifetime; <= 0 means DefaultHeuristic.Max (24h).
	Max time.Duration
	// Disabled turns heuristic freshness off (lifetime 0).
	Disabled bool
}

// DefaultHeuristic is the heuristic used for zero fields of Heuristic: 10% of
// the Last-Modified interval (RFC 9111 §4.2.2), at most 24 hours.
var DefaultHeuristic = Heuristic{Fraction: 0.1, Max: 24 * time.Hour}

// Lifetime computes the freshness lifetime of a response (RFC 9111 §4.2.1),
// using the first match of:
//
//   - shared cache and s-maxage present: its value (§5.2.2.10);
//   - max-age present: its value (§5.2.2.1);
//   - Expires present (unless cc came from a targeted field, which replaces
//     Expires too, RFC 9213 §2.2): Expires minus Date, or minus responseTime
//     when Date is absent or invalid; an invalid Expires means already expired
//     (§5.3);
//   - otherwise a heuristic lifetime (§4.2.2) if hz allows it and the status
//     is heuristically cacheable (RFC 9110 §15.1) or cc has public
//     (§5.2.2.9).
//
// An invalid s-maxage or max-age gives lifetime 0 (§4.2.1). Lifetimes are
// clamped to 2147483648 seconds (§1.2.2). explicit reports whether an explicit
// expiration time was present, i.e. the first three rules applied.
func Lifetime(status int, h http.Header, cc cachecontrol.Directives, shared bool, responseTime time.Time, hz Heuristic) (lifetime time.Duration, explicit bool) {
	if shared && cc.SMaxAge.Present() {
		return cc.SMaxAge.Duration(), true
	}
	if cc.MaxAge.Present() {
		return cc.MaxAge.Duration(), true
	}
	if !cc.Targeted {
		if exp := lines(h, "Expires"); len(exp) > 0 {
			e, ok := httpdate.Parse(exp[0], responseTime)
			if !ok {
				return 0, true // RFC 9111 §5.3: invalid means already expired
			}
			return clampAge(e.Sub(dateValue(h, responseTime))), true
		}
	}
	if hz.Disabled || !(storability.HeuristicallyCacheable(status) || cc.Public) {
		return 0, false
	}
	lm := lines(h, "Last-Modified")
	if len(lm) == 0 {
		return 0, false
	}
	last, ok := httpdate.Parse(lm[0], responseTime)
	if !ok {
		return 0, false
	}
	interval := dateValue(h, responseTime).Sub(last)
	if interval <= 0 {
		return 0, false
	}
	frac, limit := hz.Fraction, hz.Max
	if !(frac > 0) { // also catches NaN
		frac = DefaultHeuristic.Fraction
	}
	if limit <= 0 {
		limit = DefaultHeuristic.Max
	}
	l := float64(interval) * frac
	if l >= float64(limit) || math.IsInf(l, 0) {
		return clampAge(limit), false
	}
	return clampAge(time.Duration(l)), false
}

// InitialAge returns corrected_initial_age (RFC 9111 §4.2.3):
//
//	apparent_age = max(0, response_time - date_value)
//	corrected_age_value = age_value + (response_time - request_time)
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//
// age_value comes from the Age field (§5.1): the first member of a list or of
// several lines is used; an invalid value means the field is ignored. A
// missing or invalid Date gives apparent_age 0. A zero requestTime, or one
// after responseTime, gives response_delay 0. The result is clamped to
// 2147483648 seconds (§1.2.2).
func InitialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	ageValue := time.Duration(ageSeconds(lines(h, "Age"))) * time.Second
	var apparent time.Duration
	if ds := lines(h, "Date"); len(ds) > 0 {
		if date, ok := httpdate.Parse(ds[0], responseTime); ok {
			apparent = max(0, responseTime.Sub(date))
		}
	}
	var delay time.Duration
	if !requestTime.IsZero() {
		delay = max(0, responseTime.Sub(requestTime))
	}
	corrected := addAge(ageValue, delay)
	return clampAge(max(apparent, corrected))
}

// CurrentAge returns current_age = corrected_initial_age + (now -
// response_time) (RFC 9111 §4.2.3), never negative (a clock going backwards
// counts as no resident time) and clamped to 2147483648 seconds.
func CurrentAge(initialAge time.Duration, responseTime, now time.Time) time.Duration {
	resident := max(0, now.Sub(responseTime))
	return clampAge(addAge(max(0, initialAge), resident))
}

// Decision says how a stored response may be used for a request.
type Decision int

const (
	// Fresh: the response may be served without contacting the origin.
	Fresh Decision = iota
	// StaleAllowed: the response is stale but the request allows serving it
	// (max-stale, RFC 9111 §5.2.1.2).
	StaleAllowed
	// MustValidate: the response must be validated (§4.3) before use.
	MustValidate
)

// String returns "fresh", "stale-allowed" or "must-validate".
func (d Decision) String() string {
	switch d {
	case Fresh:
		return "fresh"
	case StaleAllowed:
		return "stale-allowed"
	case MustValidate:
		return "must-validate"
	}
	return "unknown"
}

// Check decides whether a stored response with the given current age and
// freshness lifetime may be served for a request (RFC 9111 §4, §4.2, §4.2.4,
// §5.2.1, §5.2.2). req should come from cachecontrol.ParseRequest (so that
// Pragma: no-cache counts), resp from the stored response. In order:
//
//   - request no-cache (§5.2.1.4): MustValidate;
//   - response unqualified no-cache (§5.2.2.4): MustValidate (a qualified
//     no-cache only requires stripping fields, see storability.StripFields);
//   - request max-age exceeded, age > max-age (§5.2.1.1): MustValidate;
//   - request min-fresh not met, lifetime - age < min-fresh (§5.2.1.3):
//     MustValidate, even with max-stale (the most restrictive directive wins,
//     §4.2.1);
//   - fresh, lifetime > age (§4.2): Fresh;
//   - stale and serving stale is prohibited (StaleProhibited): MustValidate;
//   - request max-stale without value, or staleness (age - lifetime) <= its
//     value (§5.2.1.2): StaleAllowed;
//   - otherwise MustValidate (§4.2.4).
//
// Negative age or lifetime count as 0, and both are clamped to 2147483648
// seconds (§1.2.2). Serving stale when disconnected or under stale-if-error /
// stale-while-revalidate is left to the caller, which must consult
// StaleProhibited.
func Check(age, lifetime time.Duration, req, resp cachecontrol.Directives, shared bool) Decision {
	age, lifetime = clampAge(age), clampAge(lifetime) // no overflow below
	if req.NoCache || resp.NoCacheUnqualified() {
		return MustValidate
	}
	if req.MaxAge.Set && age > req.MaxAge.Duration() {
		return MustValidate
	}
	remaining := lifetime - age
	if req.MinFresh.Set && remaining < req.MinFresh.Duration() {
		return MustValidate
	}
	if remaining > 0 {
		return Fresh
	}
	if StaleProhibited(resp, shared) {
		return MustValidate
	}
	if req.MaxStaleAny || (req.MaxStale.Set && -remaining <= req.MaxStale.Duration()) {
		return StaleAllowed
	}
	return MustValidate
}

// StaleProhibited reports whether an explicit response directive forbids
// serving the response stale, even when disconnected or allowed by the client
// or by stale-if-error / stale-while-revalidate (RFC 9111 §4.2.4): an
// unqualified no-cache (§5.2.2.4), must-revalidate (§5.2.2.2), and for a
// shared cache proxy-revalidate (§5.2.2.8) or s-maxage (§5.2.2.10, even with
// an invalid value).
func StaleProhibited(resp cachecontrol.Directives, shared bool) bool {
	if resp.NoCacheUnqualified() || resp.MustRevalidate {
		return true
	}
	return shared && (resp.ProxyRevalidate || resp.SMaxAge.Present())
}

// ageSeconds returns age_value from the Age field lines (RFC 9111 §5.1): the
// first non-empty list member, or 0 if it is not valid delta-seconds.
func ageSeconds(vs []string) int64 {
	for elem := range httpsyntax.ListElements(vs) { // RFC 9110 §5.6.1.2: skips empty elements
		return deltaSeconds(elem)
	}
	return 0
}

// deltaSeconds parses 1*DIGIT clamped to 2147483648 (RFC 9111 §1.2.2), or
// returns 0 if s is not delta-seconds.
func deltaSeconds(s string) int64 {
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		if n < cachecontrol.MaxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, cachecontrol.MaxDelta)
}

// dateValue returns the Date field's time, or fallback when it is absent or
// invalid (RFC 9110 §6.6.1: the time the message was received).
func dateValue(h http.Header, fallback time.Time) time.Time {
	if ds := lines(h, "Date"); len(ds) > 0 {
		if d, ok := httpdate.Parse(ds[0], fallback); ok {
			return d
		}
	}
	return fallback
}

// lines returns the lines of a field (no allocation for canonical names).
func lines(h http.Header, name string) []string {
	return h.Values(name)
}

// clampAge bounds d to [0, 2147483648s].
func clampAge(d time.Duration) time.Duration {
	return min(max(d, 0), maxAge)
}

// addAge adds two non-negative durations, saturating instead of overflowing.
func addAge(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
