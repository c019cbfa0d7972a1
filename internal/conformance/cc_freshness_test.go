package conformance

// tests/cc-freshness.mjs: freshness from Cache-Control.

// ccFresh is a two-step case: a response with the given fields, a 3 s pause,
// then a request expecting want.
func ccFresh(id string, kind Kind, dep []string, want string, h ...Hdr) Case {
	return Case{
		ID: id, Kind: kind, DependsOn: dep,
		Requests: reqs(
			Req{ResponseHeaders: h, Setup: true, PauseAfter: true},
			Req{ExpectedType: want},
		),
	}
}

func ccFreshnessCases() []Case {
	none, ma, sm := deps("freshness-none"), deps("freshness-max-age"), deps("freshness-s-maxage-shared")
	cc := func(v string) Hdr { return H("Cache-Control", v) }
	return []Case{
		ccFresh("freshness-none", Check, nil, "not_cached"),
		ccFresh("freshness-max-age", Optional, none, "cached", cc("max-age=3600")),
		{
			ID: "freshness-max-age-stale", DependsOn: ma,
			Requests: reqs(becomeStale(Req{}), Req{ExpectedType: "not_cached"}),
		},
		ccFresh("freshness-max-age-0", Required, none, "not_cached", cc("max-age=0")),
		ccFresh("freshness-max-age-max-minus-1", Optional, none, "cached", cc("max-age=2147483647")),
		ccFresh("freshness-max-age-max", Optional, none, "cached", cc("max-age=2147483648")),
		ccFresh("freshness-max-age-max-plus-1", Optional, none, "cached", cc("max-age=2147483649")),
		ccFresh("freshness-max-age-max-plus", Optional, none, "cached", cc("max-age=99999999999")),
		ccFresh("freshness-max-age-age", Required, ma, "not_cached", D("Date", 0), cc("max-age=3600"), H("Age", "7200")),
		ccFresh("freshness-max-age-date", Check, ma, "not_cached", D("Date", -7200), cc("max-age=3600")),
		ccFresh("freshness-max-age-expires", Optional, ma, "cached", cc("max-age=3600"), D("Expires", -7200), D("Date", 0)),
		ccFresh("freshness-max-age-expires-invalid", Optional, ma, "cached", cc("max-age=3600"), HX("Expires", "0"), D("Date", 0)),
		ccFresh("freshness-max-age-0-expires", Required, none, "not_cached", D("Expires", 3600), cc("max-age=0"), D("Date", 0)),
		ccFresh("freshness-max-age-extension", Optional, ma, "cached", cc("foobar, max-age=3600")),
		ccFresh("freshness-max-age-case-insenstive", Optional, ma, "cached", cc("MaX-aGe=3600")),
		ccFresh("freshness-max-age-negative", Required, none, "not_cached", cc("max-age=-3600")),
		notApplicable(ccFresh("freshness-max-age-s-maxage-private", Required, ma, "not_cached", cc("s-maxage=3600, max-age=1")),
			"browser_only: a private cache ignores s-maxage; Larder is run as a shared cache"),
		notApplicable(ccFresh("freshness-max-age-s-maxage-private-multiple", Required, ma, "not_cached", cc("s-maxage=3600"), cc("max-age=1")),
			"browser_only: a private cache ignores s-maxage; Larder is run as a shared cache"),
		ccFresh("freshness-s-maxage-shared", Required, none, "cached", cc("s-maxage=3600")),
		ccFresh("freshness-max-age-s-maxage-shared-longer", Required, sm, "not_cached", cc("max-age=3600, s-maxage=1")),
		ccFresh("freshness-max-age-s-maxage-shared-longer-reversed", Required, sm, "not_cached", cc("s-maxage=1, max-age=3600")),
		ccFresh("freshness-max-age-s-maxage-shared-longer-multiple", Required, sm, "not_cached", cc("max-age=3600"), cc("s-maxage=1")),
		ccFresh("freshness-max-age-s-maxage-shared-shorter", Optional, sm, "cached", cc("max-age=1, s-maxage=3600")),
		ccFresh("freshness-max-age-s-maxage-shared-shorter-expires", Optional, sm, "cached", D("Expires", -10), cc("max-age=0, s-maxage=3600")),
	}
}
