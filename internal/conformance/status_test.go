package conformance

import "strconv"

// tests/status.mjs: which status codes are stored with explicit freshness.

func statusCases() []Case {
	var cases []Case
	body := httpContent("") // utils.httpContent(code): 15 'a's, see heuristic-freshness
	for _, code := range []int{200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 503, 504, 599} {
		c := strconv.Itoa(code)
		var b *string
		if code != 204 {
			b = bodyText(body)
		}
		cases = append(cases,
			Case{ID: "status-" + c + "-fresh", Kind: Optional, DependsOn: deps("freshness-max-age"), Requests: reqs(
				fresh(Req{ResponseStatus: code, ResponseBody: b}),
				Req{ExpectedType: "cached", ResponseStatus: code, ResponseBody: b})},
			Case{ID: "status-" + c + "-stale", DependsOn: deps("status-" + c + "-fresh"), Requests: reqs(
				stale(Req{ResponseStatus: code, ResponseBody: b, Setup: true}),
				Req{ExpectedType: "not_cached", ResponseBody: b})},
		)
	}
	mu := "max-age=3600, no-store, must-understand"
	cases = append(cases,
		Case{ID: "status-599-must-understand", DependsOn: deps("status-599-fresh"), Requests: reqs(
			Req{ResponseStatus: 599, ResponseHeaders: hdrs(H("Cache-Control", mu)), Setup: true},
			Req{ExpectedType: "not_cached"})},
		Case{ID: "status-200-must-understand", Kind: Optional, DependsOn: deps("status-200-fresh", "cc-resp-no-store-fresh"), Requests: reqs(
			Req{ResponseStatus: 200, ResponseHeaders: hdrs(H("Cache-Control", mu)), Setup: true},
			Req{ExpectedType: "cached"})},
	)
	return cases
}
