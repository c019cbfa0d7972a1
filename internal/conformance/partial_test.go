package conformance

// tests/partial.mjs: storing and combining partial content (RFC 9111 §3.3,
// §3.4; RFC 9110 §14).

func partialCases() []Case {
	ma := deps("freshness-max-age")
	rng := func(v string) []Hdr { return hdrs(H("Range", v)) }
	storedPartial := func(r Req) Req {
		return templateMerge(Req{RequestHeaders: rng("bytes=-5"), ResponseStatus: 206,
			ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600"), H("Content-Range", "bytes 4-9/10")),
			ResponseBody:    bodyText("01234"), Setup: true}, r)
	}
	storedComplete := func(body string, h ...Hdr) Req {
		return Req{ResponseHeaders: append(hdrs(H("Cache-Control", "max-age=3600")), h...), ResponseBody: bodyText(body), Setup: true}
	}
	served := func(rangeV, text string) Req {
		return Req{RequestHeaders: rng(rangeV), ExpectedType: "cached", ExpectedStatus: statusIs(206), ExpectedText: bodyText(text)}
	}
	return markKnown([]Case{
		{ID: "partial-store-partial-reuse-partial", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedPartial(Req{ExpectedRequestHeaders: reqExps(ReqEq("Range", "bytes=-5"))}),
			served("bytes=-5", "01234"))},
		{ID: "partial-store-complete-reuse-partial", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedComplete("01234567890"), served("bytes=0-1", "01"))},
		{ID: "partial-store-complete-reuse-partial-no-last", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedComplete("01234567890"), served("bytes=1-", "1234567890"))},
		{ID: "partial-store-complete-reuse-partial-suffix", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedComplete("0123456789A"), served("bytes=-1", "A"))},
		{ID: "partial-store-partial-reuse-partial-byterange", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedPartial(Req{}), served("bytes=6-8", "234"))},
		{ID: "partial-store-partial-reuse-partial-absent", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedPartial(Req{}), served("bytes=6-", "234"))},
		{ID: "partial-store-partial-reuse-partial-suffix", Kind: Optional, DependsOn: ma, Requests: reqs(
			storedPartial(Req{}), served("bytes=-1", "4"))},
		{ID: "partial-store-partial-complete", Kind: Optional, DependsOn: ma, Requests: reqs(
			Req{RequestHeaders: rng("bytes=-5"), ResponseStatus: 206,
				ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600"), H("Content-Range", "bytes 0-4/10")),
				ResponseBody:    bodyText("01234"), Setup: true},
			Req{ExpectedRequestHeaders: reqExps(ReqEq("range", "bytes=5-"))})},
		{ID: "partial-use-headers", DependsOn: deps("partial-store-complete-reuse-partial"), Requests: reqs(
			storedComplete("01234567890", H("A", "1")),
			templateMerge(served("bytes=0-1", "01"), Req{
				SetupTests:      setupTests("expected_type", "expected_status", "expected_response_text"),
				ResponseHeaders: hdrs(H("A", "2"))}))},
		{ID: "partial-use-stored-headers", DependsOn: deps("partial-store-complete-reuse-partial"), Requests: reqs(
			storedComplete("01234567890", H("A", "1")),
			templateMerge(served("bytes=0-1", "01"), Req{
				SetupTests:      setupTests("expected_type", "expected_status", "expected_response_text"),
				ExpectedHeaders: exps(Eq("A", "1"))}))},
	}, partialCasesKnown)
}

// partialCasesKnown marks the cases of this file that fail today (see
// markKnown); each reason gives the kind, what Larder does and why.
var partialCasesKnown = map[string]string{
	"partial-store-partial-reuse-partial":           "optional: Larder does not store 206 responses (admit: \"partial\"); RFC 9111 §3.3 allows storing them",
	"partial-store-partial-reuse-partial-byterange": "optional: Larder does not store 206 responses (admit: \"partial\"), so nothing serves the sub-range",
	"partial-store-partial-reuse-partial-absent":    "optional: Larder does not store 206 responses (admit: \"partial\"), so nothing serves the sub-range",
	"partial-store-partial-reuse-partial-suffix":    "optional: Larder does not store 206 responses (admit: \"partial\"), so nothing serves the sub-range",
	"partial-store-partial-complete":                "optional: Larder does not store 206 responses, so it cannot complete one with a Range: bytes=5- request (RFC 9111 §3.4)",
}
