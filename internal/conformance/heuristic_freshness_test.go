package conformance

import "strconv"

// tests/heuristic-freshness.mjs: heuristic freshness from Last-Modified.

func heuristicFreshnessCases() []Case {
	var cases []Case
	// The suite's body is utils.httpContent(code) with a number for key: its
	// length is undefined, so the seed is 0 and the body 15 'a's.
	body := httpContent("")
	status := func(succeed bool, code int, extra ...Hdr) {
		want, kind := "not_cached", Required
		if succeed {
			want, kind = "cached", Optional
		}
		h := hdrs(D("Last-Modified", -24*60*60), D("Date", 0))
		h = append(h, extra...)
		var b *string
		if code != 204 {
			b = bodyText(body)
		}
		cases = append(cases, Case{
			ID: "heuristic-" + strconv.Itoa(code) + "-" + want, Kind: kind,
			Requests: reqs(
				Req{ResponseStatus: code, ResponseHeaders: h, ResponseBody: b, Setup: true},
				Req{ExpectedType: want, ResponseStatus: code, ResponseBody: b}),
		})
	}
	status(true, 200)
	status(false, 201)
	status(false, 202)
	status(true, 203)
	status(true, 204)
	status(false, 403)
	status(true, 404)
	status(true, 405)
	status(true, 410)
	status(true, 414)
	status(true, 501)
	status(false, 502)
	status(false, 503)
	status(false, 504)
	status(false, 599)
	status(true, 599, H("Cache-Control", "public"))

	for _, delta := range []int{5, 10, 30, 60, 300, 600, 1200, 1800, 3600, 3600 * 12, 3600 * 24} {
		cases = append(cases, Case{
			ID: "heuristic-delta-" + strconv.Itoa(delta), Kind: Check,
			Requests: reqs(
				Req{ResponseHeaders: hdrs(D("Last-Modified", -delta), D("Date", 0)), Setup: true, PauseAfter: true},
				Req{ExpectedType: "cached"}),
		})
	}
	return markKnown(cases, heuristicFreshnessCasesKnown)
}

// heuristicFreshnessCasesKnown marks the cases of this file that fail today (see
// markKnown); each reason gives the kind, what Larder does and why.
var heuristicFreshnessCasesKnown = map[string]string{
	"heuristic-delta-5":  "check: the heuristic lifetime is 10% of Date - Last-Modified (0.5 s), less than the 3 s pause; RFC 9111 §4.2.2 leaves the fraction to the cache",
	"heuristic-delta-10": "check: the heuristic lifetime is 10% of Date - Last-Modified (1 s), less than the 3 s pause; RFC 9111 §4.2.2 leaves the fraction to the cache",
	"heuristic-delta-30": "check: the heuristic lifetime is 10% of Date - Last-Modified (3 s), less than the pause plus the Date rounding (3.4 s); RFC 9111 §4.2.2 leaves the fraction to the cache",
}
