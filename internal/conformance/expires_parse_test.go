package conformance

// tests/expires-parse.mjs: how the cache parses Expires. The fake clock runs
// in 2026, so the 2038 and 2050 dates are in the future, as in a real run.

func expiresParseCases() []Case {
	fut := deps("freshness-expires-future")
	c := func(id string, kind Kind, pause bool, want string, expires ...string) Case {
		var h []Hdr
		for _, e := range expires {
			h = append(h, HX("Expires", e))
		}
		h = append(h, D("Date", 0))
		return Case{ID: id, Kind: kind, DependsOn: fut, Requests: reqs(
			Req{ResponseHeaders: h, Setup: true, PauseAfter: pause},
			Req{ExpectedType: want})}
	}
	return []Case{
		c("freshness-expires-32bit", Optional, true, "cached", "Tue, 19 Jan 2038 14:14:08 GMT"),
		c("freshness-expires-far-future", Optional, true, "cached", "Sun, 21 Nov 2286 04:46:39 GMT"),
		c("freshness-expires-rfc850", Optional, true, "cached", "Thursday, 18-Aug-50 02:01:18 GMT"),
		c("freshness-expires-ansi-c", Optional, true, "cached", "Thu Aug  8 02:01:18 2050"),
		c("freshness-expires-wrong-case-weekday", Optional, true, "cached", "THU, 18 Aug 2050 02:01:18 GMT"),
		c("freshness-expires-wrong-case-month", Optional, true, "cached", "Thu, 18 AUG 2050 02:01:18 GMT"),
		c("freshness-expires-wrong-case-tz", Optional, true, "cached", "Thu, 18 Aug 2050 02:01:18 gMT"),
		c("freshness-expires-invalid-utc", Required, true, "not_cached", "Thu, 18 Aug 2050 02:01:18 UTC"),
		c("freshness-expires-invalid-aest", Required, true, "not_cached", "Thu, 18 Aug 2050 02:01:18 AEST"),
		c("freshness-expires-invalid-2-digit-year", Required, true, "not_cached", "Thu, 18 Aug 50 02:01:18 GMT"),
		c("freshness-expires-invalid-no-comma", Required, true, "not_cached", "Thu 18 Aug 2050 02:01:18 GMT"),
		c("freshness-expires-invalid-multiple-spaces", Required, false, "not_cached", "Thu, 18  Aug  2050 02:01:18 GMT"),
		c("freshness-expires-invalid-date-dashes", Required, false, "not_cached", "Thu, 18-Aug-2050 02:01:18 GMT"),
		c("freshness-expires-invalid-time-periods", Required, false, "not_cached", "Thu, 18 Aug 2050 02.01.18 GMT"),
		c("freshness-expires-invalid-1-digit-hour", Required, false, "not_cached", "Thu, 18 Aug 2050 2:01:18 GMT"),
		c("freshness-expires-invalid-multiple-lines", Required, false, "not_cached", "Thu, 18 Aug 2050 2:01:18 GMT", "Thu, 18 Aug 2050 2:01:19 GMT"),
	}
}
