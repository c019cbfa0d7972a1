package conformance

// tests/invalidation.mjs: invalidation by unsafe methods (RFC 9111 §4.4),
// of the target URI and of the Location and Content-Location URIs.

func invalidationCases() []Case {
	location := func(r Req) Req {
		return templateMerge(Req{Filename: "location_target",
			ResponseHeaders: hdrs(H("Cache-Control", "max-age=100000"), D("Last-Modified", 0), D("Date", 0))}, r)
	}
	contentLocation := func(r Req) Req {
		return templateMerge(Req{Filename: "content_location_target",
			ResponseHeaders: hdrs(H("Cache-Control", "max-age=100000"), D("Last-Modified", 0), D("Date", 0))}, r)
	}
	lcl := func(r Req) Req {
		return templateMerge(Req{
			ResponseHeaders: hdrs(H("Location", "location_target"), H("Content-Location", "content_location_target")),
			MagicLocations:  true}, r)
	}
	methods := []string{"POST", "PUT", "DELETE", "M-SEARCH"}
	var cases []Case
	for _, m := range methods {
		cases = append(cases,
			Case{ID: "invalidate-" + m, DependsOn: deps("freshness-max-age"), Requests: reqs(
				fresh(Req{}),
				Req{Method: m, RequestBody: "abc", Setup: true},
				Req{ExpectedType: "not_cached"})},
			Case{ID: "invalidate-" + m + "-failed", Kind: Optional, DependsOn: deps("invalidate-" + m), Requests: reqs(
				fresh(Req{}),
				Req{Method: m, RequestBody: "abc", ResponseStatus: 500, Setup: true},
				Req{ExpectedType: "cached"})},
		)
	}
	for _, m := range methods {
		cases = append(cases, Case{ID: "invalidate-" + m + "-location", Kind: Check, DependsOn: deps("invalidate-" + m), Requests: reqs(
			location(Req{Setup: true}),
			lcl(Req{Method: m, RequestBody: "abc", Setup: true}),
			location(Req{ExpectedType: "not_cached"}))})
	}
	for _, m := range methods {
		cases = append(cases, Case{ID: "invalidate-" + m + "-cl", Kind: Check, DependsOn: deps("invalidate-" + m), Requests: reqs(
			contentLocation(Req{Setup: true}),
			lcl(Req{Method: m, RequestBody: "abc", Setup: true}),
			contentLocation(Req{ExpectedType: "not_cached"}))})
	}
	return cases
}
