package conformance

// tests/stale.mjs: serving stale responses (RFC 9111 §4.2.4, RFC 5861).
// "disconnect" closes the origin's connection without a response; the
// reverse proxy then answers 502 (with Cache-Control: no-store), as
// cmd/larder does.

func staleCases() []Case {
	mas := deps("freshness-max-age-stale")
	staleCheckCC := func(cc, value string, sharedOnly bool) Case {
		return Case{ID: "stale-close-" + cc + value, DependsOn: deps("stale-close"), Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=2, "+cc+value)), Setup: true, PauseAfter: true},
			Req{Disconnect: true, ExpectedStatus: statusNull(), NoCheckBody: true, ExpectedMissing: misses(Missing("server-request-count"))})}
	}
	sie := func(id string) Case {
		return Case{ID: id, Kind: Check, DependsOn: mas, Requests: reqs(
			Req{ResponseHeaders: hdrs(H("Cache-Control", "max-age=2, stale-if-error=60")), Setup: true, PauseAfter: true},
			Req{Disconnect: true, ExpectedType: "cached"})}
	}
	return markKnown([]Case{
		{ID: "stale-close", Kind: Check, DependsOn: mas, Requests: reqs(
			becomeStale(Req{}), Req{Disconnect: true, ExpectedType: "cached"})},
		{ID: "stale-503", Kind: Check, DependsOn: mas, Requests: reqs(
			becomeStale(Req{}), Req{ResponseStatus: 503, ExpectedStatus: statusIs(200), ExpectedType: "cached"})},
		{ID: "stale-while-revalidate", Kind: Optional, DependsOn: mas, Requests: reqs(
			Req{Setup: true, PauseAfter: true, ResponseHeaders: hdrs(H("Cache-Control", "max-age=1, stale-while-revalidate=3600"), H("ETag", `"abc"`))},
			Req{ExpectedType: "cached"})},
		{ID: "stale-while-revalidate-window", DependsOn: deps("stale-while-revalidate"), Requests: reqs(
			Req{Setup: true, PauseAfter: true, ResponseHeaders: hdrs(H("Cache-Control", "max-age=1, stale-while-revalidate=4"), H("ETag", `"abc"`))},
			Req{Setup: true, PauseAfter: true, ResponseHeaders: hdrs(HX("Cache-Control", "no-cache"), HX("ETag", `"def"`)), ExpectedType: "cached"},
			Req{ExpectedHeaders: exps(Eq("client-request-count", "3"))})},
		sie("stale-sie-close"),
		// The suite's stale-sie-503 also disconnects (no 503 is sent).
		sie("stale-sie-503"),
		staleCheckCC("must-revalidate", "", false),
		staleCheckCC("proxy-revalidate", "", true),
		staleCheckCC("no-cache", "", false),
		staleCheckCC("s-maxage", "=2", true),
		{ID: "stale-warning-stored", Kind: Check, DependsOn: deps("stale-close"), Requests: reqs(
			stale(Req{}),
			Req{Disconnect: true, ExpectedType: "cached", ExpectedHeaders: exps(Has("warning")), SetupTests: setupTests("expected_type")})},
		{ID: "stale-warning-become", Kind: Check, DependsOn: deps("stale-close"), Requests: reqs(
			becomeStale(Req{}),
			Req{Disconnect: true, ExpectedType: "cached", ExpectedHeaders: exps(Has("warning")), SetupTests: setupTests("expected_type")})},
	}, staleCasesKnown)
}

// staleCasesKnown marks the cases of this file that fail today (see
// markKnown); each reason gives the kind, what Larder does and why.
var staleCasesKnown = map[string]string{
	"stale-503":            "check: Larder forwards the origin's 503 instead of the stale response (RFC 9111 §4.3.3 allows either)",
	"stale-warning-stored": "setup failure: needs a stale response served on disconnect (see stale-close); Warning is obsolete anyway (RFC 9111 §5.5)",
	"stale-warning-become": "setup failure: needs a stale response served on disconnect (see stale-close); Warning is obsolete anyway (RFC 9111 §5.5)",
}
