package conformance

// tests/cc-request.mjs: request Cache-Control directives (all "check": HTTP
// does not require caches to honour them). The suite's client also sends
// "Cache-Control: nothing-to-see-here" on every request, so these requests
// carry "Cache-Control: nothing-to-see-here, <directive>".

func ccRequestCases() []Case {
	ma, mas := deps("freshness-max-age"), deps("freshness-max-age-stale")
	rcc := func(v string) []Hdr { return hdrs(H("Cache-Control", v)) }
	return markKnown([]Case{
		{ID: "ccreq-ma0", Kind: Check, DependsOn: ma, Requests: reqs(
			fresh(Req{}),
			Req{RequestHeaders: rcc("max-age=0"), ExpectedType: "not_cached"})},
		{ID: "ccreq-ma1", Kind: Check, DependsOn: ma, Requests: reqs(
			fresh(Req{}),
			Req{RequestHeaders: rcc("max-age=1"), ExpectedType: "not_cached"})},
		{ID: "ccreq-magreaterage", Kind: Check, DependsOn: ma, Requests: reqs(
			fresh(Req{ResponseHeaders: hdrs(H("Age", "1800"))}),
			Req{RequestHeaders: rcc("max-age=600"), ExpectedType: "not_cached"})},
		{ID: "ccreq-max-stale", Kind: Check, DependsOn: mas, Requests: reqs(
			becomeStale(Req{}),
			Req{RequestHeaders: rcc("max-stale=1000"), ExpectedType: "cached"})},
		{ID: "ccreq-max-stale-age", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=1500"), H("Age", "2000")), Setup: true},
			Req{RequestHeaders: rcc("max-stale=1000"), ExpectedType: "cached"})},
		{ID: "ccreq-min-fresh", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=1500")), Setup: true},
			Req{RequestHeaders: rcc("min-fresh=2000"), ExpectedType: "not_cached"})},
		{ID: "ccreq-min-fresh-age", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=1500"), H("Age", "1000")), Setup: true},
			Req{RequestHeaders: rcc("min-fresh=1000"), ExpectedType: "not_cached"})},
		{ID: "ccreq-no-cache", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600")), Setup: true},
			Req{RequestHeaders: rcc("no-cache"), ExpectedType: "not_cached"})},
		{ID: "ccreq-no-cache-lm", Kind: Check, DependsOn: ma, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600"), D("Last-Modified", -10000), D("Date", 0)), Setup: true},
			Req{RequestHeaders: rcc("no-cache"), ExpectedType: "lm_validated"})},
		{ID: "ccreq-no-cache-etag", Kind: Check, DependsOn: ma, Requests: reqs(
			// The suite's ETag here is unquoted: utils.httpContent('abc').
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=3600"), H("ETag", httpContent("abc"))), Setup: true},
			Req{RequestHeaders: rcc("no-cache"), ExpectedType: "etag_validated"})},
		{ID: "ccreq-no-store", Kind: Check, DependsOn: ma, Requests: reqs(
			fresh(Req{}),
			Req{RequestHeaders: rcc("no-store"), ExpectedType: "not_cached"})},
		{ID: "ccreq-oic", Kind: Check, Requests: reqs(
			Req{RequestHeaders: rcc("only-if-cached"), ExpectedStatus: statusIs(504), NullText: true})},
	}, ccRequestCasesKnown)
}

// ccRequestCasesKnown marks the cases of this file that fail today (see
// markKnown); the reasons give the kind, what Larder does and why.
var ccRequestCasesKnown = map[string]string{
	"ccreq-no-store": "check: Larder serves a stored fresh response to a request with Cache-Control: no-store; RFC 9111 §5.2.1.5 only forbids storing, so this is conformant",
}
