package conformance

// tests/age-parse.mjs: how the cache parses the Age response field.

func ageParseCase(id string, kind Kind, maxAge string, ages []string, want string) Case {
	h := hdrs(D("Date", 0), H("Cache-Control", "max-age="+maxAge))
	for _, a := range ages {
		h = append(h, HX("Age", a))
	}
	return Case{
		ID: id, Kind: kind, DependsOn: deps("freshness-max-age-age"),
		Requests: reqs(
			Req{ResponseHeaders: h, Setup: true, PauseAfter: true},
			Req{ExpectedType: want},
		),
	}
}

func ageParseCases() []Case {
	return markKnown([]Case{
		ageParseCase("age-parse-nonnumeric", Required, "3600", names("abc"), "cached"),
		ageParseCase("age-parse-negative", Required, "3600", names("-7200"), "cached"),
		ageParseCase("age-parse-float", Required, "3600", names("7200.0"), "cached"),
		ageParseCase("age-parse-large-minus-one", Required, "3600", names("2147483647"), "not_cached"),
		ageParseCase("age-parse-large", Required, "3600", names("2147483648"), "not_cached"),
		ageParseCase("age-parse-larger", Required, "3600", names("2147483649"), "not_cached"),
		ageParseCase("age-parse-suffix", Required, "3600", names("7200, 0"), "not_cached"),
		ageParseCase("age-parse-prefix", Required, "3600", names("0, 7200"), "cached"),
		ageParseCase("age-parse-suffix-twoline", Required, "3600", names("7200", "0"), "not_cached"),
		ageParseCase("age-parse-prefix-twoline", Required, "3600", names("0", "7200"), "cached"),
		ageParseCase("age-parse-dup-0", Required, "3600", names("0, 0"), "cached"),
		ageParseCase("age-parse-dup-0-twoline", Required, "3600", names("0", "0"), "cached"),
		ageParseCase("age-parse-dup-old", Required, "10000", names("3600", "3600"), "cached"),
		ageParseCase("age-parse-parameter", Check, "3600", names("7200;foo=bar"), "not_cached"),
		ageParseCase("age-parse-numeric-parameter", Check, "3600", names("7200;foo=111"), "not_cached"),
	}, ageParseCasesKnown)
}

// ageParseCasesKnown marks the cases of this file that fail today (see
// markKnown); the reasons give the kind, what Larder does and why.
var ageParseCasesKnown = map[string]string{
	"age-parse-parameter":         "check: Age \"7200;foo=bar\" is invalid; Larder ignores it (RFC 9111 §5.1: SHOULD ignore an invalid Age) and serves from cache; the check expects it read as 7200 (not_cached)",
	"age-parse-numeric-parameter": "check: Age \"7200;foo=111\" is invalid; Larder ignores it (RFC 9111 §5.1: SHOULD ignore an invalid Age) and serves from cache; the check expects it read as 7200 (not_cached)",
}
