package conformance

// tests/expires-freshness.mjs: freshness from Expires.

func expiresFreshnessCases() []Case {
	none, fut := deps("freshness-none"), deps("freshness-expires-future")
	noPause := func(id string, kind Kind, want string, h ...Hdr) Case {
		return Case{ID: id, Kind: kind, DependsOn: fut, Requests: reqs(
			Req{ResponseHeaders: h, Setup: true},
			Req{ExpectedType: want})}
	}
	const month = 30 * 24 * 60 * 60
	return []Case{
		ccFresh("freshness-expires-future", Optional, none, "cached", D("Expires", month), D("Date", 0)),
		ccFresh("freshness-expires-past", Required, fut, "not_cached", D("Expires", -month), D("Date", 0)),
		withDeps(noPause("freshness-expires-present", Required, "not_cached", D("Expires", 0), D("Date", 0)), none),
		ccFresh("freshness-expires-old-date", Required, fut, "not_cached", D("Expires", 300), D("Date", 400)),
		ccFresh("freshness-expires-invalid", Required, fut, "not_cached", HX("Expires", "0"), D("Date", 0)),
		noPause("freshness-expires-invalid-date", Optional, "cached", HX("Date", "foo"), D("Expires", 10)),
		noPause("freshness-expires-age-slow-date", Required, "not_cached", D("Date", -10), D("Expires", 10), H("Age", "25")),
		noPause("freshness-expires-age-fast-date", Required, "not_cached", D("Date", 10), D("Expires", 20), H("Age", "15")),
	}
}

func withDeps(c Case, d []string) Case { c.DependsOn = d; return c }
