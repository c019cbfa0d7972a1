package conformance

// tests/cc-parse.mjs: how the cache parses Cache-Control. Every field here is
// sent unchecked (the suite's third element false).

func ccParseCases() []Case {
	none, ma := deps("freshness-none"), deps("freshness-max-age")
	cc := func(v string) Hdr { return HX("Cache-Control", v) }
	return markKnown([]Case{
		ccFresh("freshness-max-age-two-fresh-stale-sameline", Check, none, "cached", cc("max-age=1800, max-age=1")),
		ccFresh("freshness-max-age-two-fresh-stale-sepline", Check, none, "cached", cc("max-age=1800"), cc("max-age=1")),
		ccFresh("freshness-max-age-two-stale-fresh-sameline", Check, none, "cached", cc("max-age=1, max-age=1800")),
		ccFresh("freshness-max-age-two-stale-fresh-sepline", Check, none, "cached", cc("max-age=1"), cc("max-age=1800")),
		ccFresh("freshness-max-age-quoted", Check, ma, "cached", cc(`max-age="3600"`)),
		ccFresh("freshness-max-age-ignore-quoted", Required, ma, "not_cached", cc(`extension="max-age=3600", max-age=1`)),
		ccFresh("freshness-max-age-ignore-quoted-rev", Required, ma, "not_cached", cc(`max-age=1, extension="max-age=3600"`)),
		ccFresh("freshness-max-age-space-before-equals", Check, none, "not_cached", cc("max-age =3600")),
		ccFresh("freshness-max-age-space-after-equals", Check, none, "not_cached", cc("max-age= 3600")),
		ccFresh("freshness-max-age-leading-zero", Required, none, "cached", cc("max-age=003600")),
		ccFresh("freshness-max-age-single-quoted", Required, none, "not_cached", cc("max-age='3600'")),
		ccFresh("freshness-max-age-decimal-zero", Check, none, "cached", cc("max-age=3600.0")),
		ccFresh("freshness-max-age-decimal-five", Check, none, "cached", cc("max-age=3600.5")),
		ccFresh("freshness-max-age-a100", Check, none, "cached", cc("max-age=a3600")),
		ccFresh("freshness-max-age-100a", Check, none, "cached", cc("max-age=3600a")),
	}, ccParseCasesKnown)
}

// ccParseCasesKnown marks the cases of this file that fail today (see
// markKnown); the reasons give the kind, what Larder does and why.
var ccParseCasesKnown = map[string]string{
	"freshness-max-age-two-stale-fresh-sameline": "check: of two max-age values Larder uses the first (max-age=1, RFC 9111 §4.2.1 'first occurrence'), so the response is stale after the pause; the check expects the later max-age=1800",
	"freshness-max-age-two-stale-fresh-sepline":  "check: of two max-age values Larder uses the first (max-age=1, RFC 9111 §4.2.1 'first occurrence'), so the response is stale after the pause; the check expects the later max-age=1800",
	"freshness-max-age-decimal-zero":             "check: max-age=3600.0 is not delta-seconds; Larder treats the response as stale (RFC 9111 §4.2.1 encourages it) and goes to the origin; the check expects it reused",
	"freshness-max-age-decimal-five":             "check: max-age=3600.5 is not delta-seconds; Larder treats the response as stale (RFC 9111 §4.2.1 encourages it) and goes to the origin; the check expects it reused",
	"freshness-max-age-a100":                     "check: max-age=a3600 is invalid; Larder treats the response as stale (RFC 9111 §4.2.1 encourages it); the check expects it reused",
	"freshness-max-age-100a":                     "check: max-age=3600a is invalid; Larder treats the response as stale (RFC 9111 §4.2.1 encourages it); the check expects it reused",
}
