package conformance

// tests/pragma.mjs: the deprecated Pragma field (RFC 9111 §5.4). The suite's
// client sends "Pragma: foo" and "Cache-Control: nothing-to-see-here" on
// every request, so a request Pragma here is "foo, <value>" beside a
// Cache-Control field.

func pragmaCases() []Case {
	ma := deps("freshness-max-age")
	return markKnown([]Case{
		{ID: "pragma-request-no-cache", Kind: Check, DependsOn: ma, Requests: reqs(
			fresh(Req{}),
			Req{RequestHeaders: hdrs(H("Pragma", "no-cache")), ExpectedType: "cached"})},
		{ID: "pragma-request-extension", Kind: Check, DependsOn: ma, Requests: reqs(
			fresh(Req{}),
			Req{RequestHeaders: hdrs(H("Pragma", "unrecognised-extension")), ExpectedType: "cached"})},
		{ID: "pragma-response-no-cache", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600"), H("Pragma", "no-cache")), Setup: true},
			Req{ExpectedType: "cached"})},
		{ID: "pragma-response-no-cache-heuristic", Kind: Check, DependsOn: deps("heuristic-200-cached"), Requests: reqs(
			Req{ResponseHeaders: hdrs(D("Date", 0), D("Last-Modified", -10000), H("Pragma", "no-cache")), Setup: true},
			Req{ExpectedType: "cached"})},
		{ID: "pragma-response-extension", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600"), H("Pragma", "unrecognised-extension")), Setup: true},
			Req{ExpectedType: "cached"})},
	}, pragmaCasesKnown)
}

// pragmaCasesKnown marks the cases of this file that fail today (see
// markKnown); each reason gives the kind, what Larder does and why.
var pragmaCasesKnown = map[string]string{
	"pragma-response-no-cache-heuristic": "check, proxy layer: Go's http.Transport rewrites a response's \"Pragma: no-cache\" (no Cache-Control) into \"Cache-Control: no-cache\" (net/http fixPragmaCacheControl), so Larder revalidates and forwards a Cache-Control the origin never sent; RFC 9111 §5.4 gives response Pragma no meaning",
}
