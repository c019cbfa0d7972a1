package conformance

// tests/conditional-lm.mjs: If-Modified-Since and Last-Modified. The
// If-Modified-Since deltas are from the previous response's Server-Now
// (magic_ims).

func conditionalLMCases() []Case {
	ma := deps("freshness-max-age")
	return markKnown([]Case{
		{ID: "conditional-lm-fresh", Kind: Optional, DependsOn: ma, Requests: reqs(
			fresh(Req{ResponseHeaders: hdrs(D("Last-Modified", -3000))}),
			Req{RequestHeaders: hdrs(D("If-Modified-Since", -3000)), MagicIMS: true, ExpectedType: "cached", ExpectedStatus: statusIs(304)})},
		{ID: "conditional-lm-fresh-earlier", Kind: Optional, DependsOn: ma, Requests: reqs(
			fresh(Req{ResponseHeaders: hdrs(D("Last-Modified", -3000))}),
			Req{RequestHeaders: hdrs(D("If-Modified-Since", -2000)), MagicIMS: true, ExpectedType: "cached", ExpectedStatus: statusIs(304)})},
		{ID: "conditional-lm-stale", Kind: Optional, DependsOn: deps("freshness-max-age-stale"), Requests: reqs(
			becomeStale(Req{ResponseHeaders: hdrs(D("Last-Modified", -3000))}),
			Req{RequestHeaders: hdrs(D("If-Modified-Since", -3000)), MagicIMS: true, ExpectedType: "lm_validated", ExpectedStatus: statusIs(304)})},
		{ID: "conditional-lm-fresh-no-lm", Kind: Optional, DependsOn: ma, Requests: reqs(
			fresh(Req{}),
			Req{RequestHeaders: hdrs(D("If-Modified-Since", -3000)), MagicIMS: true, ExpectedType: "cached", ExpectedStatus: statusIs(304),
				SetupTests: setupTests("expected_type")})},
		{ID: "conditional-lm-fresh-rfc850", Kind: Optional, DependsOn: ma, Requests: reqs(
			fresh(Req{ResponseHeaders: hdrs(D("Last-Modified", -3000))}),
			Req{RequestHeaders: hdrs(D("If-Modified-Since", -3000)), MagicIMS: true, RFC850Date: rfc850("if-modified-since"),
				ExpectedType: "cached", ExpectedStatus: statusIs(304), SetupTests: setupTests("expected_type")})},
	}, conditionalLMCasesKnown)
}

// conditionalLMCasesKnown marks the cases of this file that fail today (see
// markKnown); the reasons give the kind, what Larder does and why.
var conditionalLMCasesKnown = map[string]string{
	"conditional-lm-fresh-no-lm": "optional, suite expectation contradicts RFC: with no Last-Modified Larder compares If-Modified-Since with the stored Date (RFC 9111 §4.3.2); Date is 3000 s after the If-Modified-Since, so the representation counts as modified and 200 is the right answer (RFC 9110 §13.1.3), not the 304 the test expects",
}
