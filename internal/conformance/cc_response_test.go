package conformance

// tests/cc-response.mjs: response Cache-Control directives other than
// freshness (private, no-store, no-cache, must-revalidate, immutable).

func ccResponseCases() []Case {
	cc := func(v string) Hdr { return H("Cache-Control", v) }
	twoStep := func(id string, kind Kind, dep []string, want string, h ...Hdr) Case {
		return Case{ID: id, Kind: kind, DependsOn: dep, Requests: reqs(
			Req{ResponseHeaders: h, Setup: true},
			Req{ExpectedType: want})}
	}
	noStore, noCache, none := deps("cc-resp-no-store"), deps("cc-resp-no-cache"), deps("freshness-none")
	oldNew := func(id, second string) Case {
		return Case{ID: id, DependsOn: noStore, Requests: reqs(
			Req{ResponseHeaders: hdrs(cc("max-age=10000"), D("Expires", 10000), D("Date", 0), H("A", "1")), Setup: true, PauseAfter: true},
			Req{ResponseHeaders: hdrs(cc(second), D("Date", 0), H("A", "2")), Setup: true, PauseAfter: true},
			Req{ExpectedType: "cached", ExpectedHeaders: exps(Eq("a", "1"))})}
	}
	return []Case{
		twoStep("cc-resp-private-shared", Required, nil, "not_cached", cc("private, max-age=3600")),
		notApplicable(twoStep("cc-resp-private-private", Optional, nil, "cached", cc("private, max-age=3600")),
			"browser_only: a private cache may store private responses; Larder is run as a shared cache"),
		twoStep("cc-resp-no-store", Required, nil, "not_cached", cc("no-store")),
		twoStep("cc-resp-no-store-case-insensitive", Required, noStore, "not_cached", cc("No-StOrE")),
		twoStep("cc-resp-no-store-fresh", Required, noStore, "not_cached", cc("max-age=10000, no-store"), D("Expires", 10000), D("Date", 0)),
		oldNew("cc-resp-no-store-old-new", "no-store"),
		oldNew("cc-resp-no-store-old-max-age", "no-store, max-age=0"),
		twoStep("cc-resp-no-cache", Required, nil, "not_cached", cc("max-age=10000, no-cache"), D("Expires", 10000), D("Date", 0)),
		twoStep("cc-resp-no-cache-case-insensitive", Required, noCache, "not_cached", cc("max-age=10000, No-CaChE"), D("Expires", 10000), D("Date", 0)),
		twoStep("cc-resp-no-cache-revalidate", Optional, noCache, "etag_validated", cc("no-cache"), H("ETag", `"abcd"`)),
		twoStep("cc-resp-no-cache-revalidate-fresh", Optional, noCache, "etag_validated",
			cc("max-age=10000, no-cache"), D("Expires", 10000), D("Date", 0), H("ETag", `"abcd"`)),
		{ID: "headers-omit-headers-listed-in-Cache-Control-no-cache-single", Kind: Check, DependsOn: deps("cc-resp-no-cache-revalidate"),
			Requests: reqs(
				Req{ResponseHeaders: hdrs(cc(`no-cache="a"`), H("a", "1"), H("b", "2"), cc("max-age=3600"), D("Date", 0)), Setup: true, PauseAfter: true},
				Req{ExpectedType: "cached", ExpectedHeaders: exps(Eq("b", "2")), ExpectedMissing: misses(Missing("a")),
					SetupTests: setupTests("expected_type")})},
		{ID: "headers-omit-headers-listed-in-Cache-Control-no-cache", Kind: Check, DependsOn: deps("cc-resp-no-cache-revalidate"),
			Requests: reqs(
				Req{ResponseHeaders: hdrs(cc(`no-cache="a, b"`), H("a", "1"), H("b", "2"), H("c", "3"), cc("max-age=3600"), D("Date", 0)), Setup: true, PauseAfter: true},
				Req{ExpectedType: "cached", ExpectedHeaders: exps(Eq("c", "3")), ExpectedMissing: misses(Missing("a"), Missing("b")),
					SetupTests: setupTests("expected_type")})},
		twoStep("cc-resp-must-revalidate-fresh", Optional, none, "cached", cc("max-age=10000, must-revalidate"), H("ETag", `"abcd"`)),
		{ID: "cc-resp-must-revalidate-stale", DependsOn: none, Requests: reqs(
			Req{ResponseHeaders: hdrs(cc("max-age=2, must-revalidate"), H("ETag", `"abcd"`)), Setup: true},
			Req{ExpectedType: "cached", Setup: true, PauseAfter: true,
				ResponseHeaders: hdrs(cc("max-age=2, must-revalidate"), H("ETag", `"abcd"`))},
			Req{ExpectedType: "etag_validated"})},
		notApplicable(Case{ID: "cc-resp-immutable-fresh", Kind: Optional, Requests: reqs(
			Req{ResponseHeaders: hdrs(cc("max-age=10000, immutable"), H("ETag", `"abcd"`)), Setup: true, PauseAfter: true},
			Req{ExpectedType: "cached"})},
			"browser_only: needs Fetch's cache mode no-cache (a browser reload)"),
		notApplicable(Case{ID: "cc-resp-immutable-stale", Requests: reqs(
			Req{ResponseHeaders: hdrs(cc("max-age=2, immutable"), H("ETag", `"abcd"`)), Setup: true, PauseAfter: true},
			Req{ExpectedType: "etag_validated", ExpectedRequestHeaders: reqExps(ReqEq("cache-control", "max-age=0"))})},
			"browser_only: needs Fetch's cache mode no-cache (a browser reload)"),
	}
}
