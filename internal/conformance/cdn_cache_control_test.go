package conformance

// tests/cdn-cache-control.mjs: the targeted CDN-Cache-Control field
// (RFC 9213). These tests are cdn_only; Larder obeys CDN-Cache-Control by
// default as a shared cache, as cmd/larder runs it.

func cdnCacheControlCases() []Case {
	none, cdn := deps("freshness-none"), deps("cdn-max-age")
	cdnX := func(v string) Hdr { return HX("CDN-Cache-Control", v) }
	cc := func(v string) Hdr { return H("Cache-Control", v) }
	exceed := func(id string, exp ExpHdr, extra ...Hdr) Case {
		h := hdrs(cc("max-age=1"))
		h = append(h, extra...)
		h = append(h, H("CDN-Cache-Control", "max-age=10000"), D("Date", 0))
		return Case{ID: id, Kind: Check, DependsOn: cdn, Requests: reqs(
			Req{ResponseHeaders: h, Setup: true, PauseAfter: true},
			Req{ExpectedHeaders: exps(exp)})}
	}
	return []Case{
		ccFresh("cdn-max-age", Optional, none, "cached", cdnX("max-age=3600")),
		ccFresh("cdn-max-age-max", Optional, none, "cached", cdnX("max-age=2147483648")),
		ccFresh("cdn-max-age-max-plus", Optional, none, "cached", cdnX("max-age=99999999999")),
		ccFresh("cdn-max-age-age", Required, cdn, "not_cached", D("Date", 0), cdnX("max-age=3600"), H("Age", "7200")),
		ccFresh("cdn-max-age-space-before-equals", Check, cdn, "not_cached", cc("max-age=1"), cdnX("max-age =100")),
		ccFresh("cdn-max-age-space-after-equals", Check, cdn, "not_cached", cc("max-age=1"), cdnX("max-age= 100")),
		ccFresh("cdn-max-age-0", Required, cdn, "not_cached", cdnX("max-age=0")),
		ccFresh("cdn-max-age-extension", Optional, cdn, "cached", cdnX("foobar, max-age=3600")),
		ccFresh("cdn-max-age-case-insensitive", Check, cdn, "cached", cdnX("MaX-aGe=3600")),
		ccFresh("cdn-max-age-expires", Optional, cdn, "cached", cdnX("max-age=3600"), D("Expires", -10000), D("Date", 0)),
		ccFresh("cdn-max-age-cc-max-age-invalid-expires", Optional, cdn, "cached", cdnX("max-age=3600"), HX("Expires", "0"), D("Date", 0)),
		ccFresh("cdn-max-age-0-expires", Required, cdn, "not_cached", cdnX("max-age=0"), D("Expires", 10000), D("Date", 0)),
		ccFresh("cdn-max-age-short-cc-max-age", Optional, cdn, "cached", cc("max-age=1"), cdnX("max-age=3600")),
		ccFresh("cdn-max-age-long-cc-max-age", Required, cdn, "not_cached", cc("max-age=3600"), cdnX("max-age=1")),
		{ID: "cdn-private", Requests: reqs(
			Req{ResponseHeaders: hdrs(H("CDN-Cache-Control", "private"), cc("max-age=10000"), D("Expires", 10000), D("Date", 0)), Setup: true},
			Req{ExpectedType: "not_cached"})},
		{ID: "cdn-no-cache", Requests: reqs(
			Req{ResponseHeaders: hdrs(H("CDN-Cache-Control", "no-cache"), cc("max-age=10000"), D("Expires", 10000), D("Date", 0)), Setup: true},
			Req{ExpectedType: "not_cached"})},
		ccFresh("cdn-no-store-cc-fresh", Required, none, "not_cached", cc("max-age=10000"), cdnX("no-store"), D("Expires", 10000), D("Date", 0)),
		ccFresh("cdn-fresh-cc-nostore", Required, none, "cached", cc("no-store"), cdnX("max-age=10000")),
		ccFresh("cdn-cc-invalid-sh-type-unknown", Required, cdn, "not_cached", cdnX("max-age=10000, &&&&&"), cc("no-store")),
		ccFresh("cdn-cc-invalid-sh-type-wrong", Required, cdn, "not_cached", cdnX(`max-age="10000"`), cc("no-store")),
		{ID: "cdn-remove-header", Kind: Check, Requests: reqs(
			Req{ResponseHeaders: hdrs(cc("max-age=10000"), cdnX("foo"), D("Expires", 10000), D("Date", 0)),
				ExpectedHeaders: exps(Eq("CDN-Cache-Control", "foo"))})},
		exceed("cdn-remove-age-exceed", Has("Age")),
		exceed("cdn-date-update-exceed", EqD("Date", 0)),
		exceed("cdn-expires-update-exceed", EqD("Expires", 1), D("Expires", 1)),
	}
}
