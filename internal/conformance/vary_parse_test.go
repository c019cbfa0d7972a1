package conformance

// tests/vary-parse.mjs: parsing Vary values with "*".

func varyParseCases() []Case {
	setup := func(vary ...string) Req {
		h := hdrs(H("Cache-Control", "max-age=5000"), D("Last-Modified", -3000), D("Date", 0))
		for _, v := range vary {
			h = append(h, HX("Vary", v))
		}
		return Req{RequestHeaders: hdrs(H("Foo", "1"), H("Baz", "789")), ResponseHeaders: h, Setup: true}
	}
	c := func(id string, vary ...string) Case {
		return Case{ID: id, DependsOn: deps("vary-match"), Requests: reqs(
			setup(vary...),
			Req{RequestHeaders: hdrs(H("Foo", "1"), H("Baz", "789")), ExpectedType: "not_cached"})}
	}
	return []Case{
		c("vary-syntax-star", "*"),
		c("vary-syntax-star-star", "*, *"),
		c("vary-syntax-star-star-lines", "*", "*"),
		c("vary-syntax-empty-star", ", *"),
		c("vary-syntax-empty-star-lines", "", "*"),
		c("vary-syntax-star-foo", "*, Foo"),
		c("vary-syntax-foo-star", "Foo, *"),
	}
}
