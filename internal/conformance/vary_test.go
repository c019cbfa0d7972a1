package conformance

// tests/vary.mjs: secondary cache keys (RFC 9111 §4.1).

func varyCases() []Case {
	base := hdrs(H("Cache-Control", "max-age=5000"), D("Last-Modified", -3000), D("Date", 0))
	varySetup := func(r Req) Req {
		return templateMerge(Req{RequestHeaders: hdrs(H("Foo", "1")),
			ResponseHeaders: merge(base, H("Vary", "Foo")), Setup: true}, r)
	}
	vary2Setup := func(r Req) Req {
		return templateMerge(Req{RequestHeaders: hdrs(H("Foo", "1"), H("Bar", "abc")),
			ResponseHeaders: merge(base, HX("Vary", "Foo, Bar")), Setup: true}, r)
	}
	vary3Setup := func(r Req) Req {
		return templateMerge(Req{RequestHeaders: hdrs(H("Foo", "1"), H("Bar", "abc"), H("Baz", "789")),
			ResponseHeaders: merge(base, HX("Vary", "Foo, Bar, Baz")), Setup: true}, r)
	}
	req := func(want string, h ...Hdr) Req { return Req{RequestHeaders: h, ExpectedType: want} }
	vm, v2, v3 := deps("vary-match"), deps("vary-2-match"), deps("vary-3-match")
	normalise := func(id string, stored, presented []Hdr, extra ...Hdr) Case {
		name := stored[0].Name
		return Case{ID: id, Kind: Optional, DependsOn: vm, Requests: reqs(
			Req{RequestHeaders: stored, ResponseHeaders: append(merge(base, H("Vary", name)), extra...), Setup: true},
			Req{RequestHeaders: presented, ExpectedType: "cached"})}
	}
	return markKnown([]Case{
		{ID: "vary-match", Kind: Optional, DependsOn: deps("freshness-max-age"), Requests: reqs(varySetup(Req{}), req("cached", H("Foo", "1")))},
		{ID: "vary-no-match", DependsOn: vm, Requests: reqs(varySetup(Req{}), req("not_cached", H("Foo", "2")))},
		{ID: "vary-omit-stored", DependsOn: vm, Requests: reqs(
			Req{ResponseHeaders: merge(base, H("Vary", "Foo")), Setup: true},
			req("not_cached", H("Foo", "1")))},
		{ID: "vary-omit", DependsOn: vm, Requests: reqs(varySetup(Req{}), req("not_cached"))},
		{ID: "vary-invalidate", Kind: Optional, DependsOn: vm, Requests: reqs(
			varySetup(Req{ResponseBody: bodyText(httpContent("foo_1"))}),
			Req{RequestHeaders: hdrs(H("Foo", "2")), ResponseHeaders: merge(base, H("Vary", "Foo")), ExpectedType: "not_cached",
				ResponseBody: bodyText(httpContent("foo_2")), Setup: true},
			Req{RequestHeaders: hdrs(H("Foo", "1")), ResponseBody: bodyText(httpContent("foo_1")), ExpectedType: "cached"})},
		{ID: "vary-cache-key", Kind: Optional, DependsOn: vm, Requests: reqs(
			varySetup(Req{RequestHeaders: hdrs(H("Other", "2"))}),
			req("cached", H("Foo", "1"), H("Other", "3")))},
		{ID: "vary-2-match", Kind: Optional, DependsOn: vm, Requests: reqs(vary2Setup(Req{}), req("cached", H("Foo", "1"), H("Bar", "abc")))},
		{ID: "vary-2-no-match", DependsOn: v2, Requests: reqs(vary2Setup(Req{}), req("not_cached", H("Foo", "2"), H("Bar", "abc")))},
		{ID: "vary-2-match-omit", DependsOn: v2, Requests: reqs(vary2Setup(Req{}), req("not_cached"))},
		{ID: "vary-3-match", Kind: Optional, DependsOn: v2, Requests: reqs(vary3Setup(Req{}), req("cached", H("Foo", "1"), H("Bar", "abc"), H("Baz", "789")))},
		{ID: "vary-3-no-match", DependsOn: v3, Requests: reqs(vary3Setup(Req{}), req("not_cached", H("Foo", "2"), H("Bar", "abc"), H("Baz", "789")))},
		{ID: "vary-3-order", DependsOn: v3, Requests: reqs(vary3Setup(Req{}), req("not_cached", H("Foo", "1"), H("Baz", "789"), H("Bar", "abcde")))},
		{ID: "vary-3-omit", Kind: Optional, DependsOn: v3, Requests: reqs(
			Req{RequestHeaders: hdrs(H("Foo", "1"), H("Baz", "789")),
				ResponseHeaders: hdrs(H("Cache-Control", "max-age=5000"), D("Date", 0), D("Last-Modified", -3000), HX("Vary", "Foo, Bar, Baz")), Setup: true},
			req("cached", H("Foo", "1"), H("Baz", "789")))},
		{ID: "vary-star", Requests: reqs(
			Req{RequestHeaders: hdrs(H("Foo", "1"), H("Baz", "789")), ResponseHeaders: merge(base, H("Vary", "*")), Setup: true},
			req("not_cached", H("Foo", "1"), H("Baz", "789")))},
		// The suite's client is Fetch, which joins the two Foo lines into
		// "Foo: 1, 2"; so does this port.
		normalise("vary-normalise-combine", hdrs(H("Foo", "1, 2")), hdrs(H("Foo", "1"), H("Foo", "2"))),
		normalise("vary-normalise-lang-order", hdrs(H("Accept-Language", "en, de")), hdrs(H("Accept-Language", "de, en"))),
		normalise("vary-normalise-lang-case", hdrs(H("Accept-Language", "en, de")), hdrs(H("Accept-Language", "eN, De"))),
		// Fetch (and Go's client) trim the value's outer whitespace on the wire.
		normalise("vary-normalise-lang-space", hdrs(H("Accept-Language", "en, de")), hdrs(H("Accept-Language", " en ,   de"))),
		normalise("vary-normalise-lang-select", hdrs(H("Accept-Language", "en, de")), hdrs(H("Accept-Language", "fr;q=0.5, de;q=1.0")),
			H("Content-Language", "de")),
		normalise("vary-normalise-space", hdrs(H("Foo", "1,2")), hdrs(H("Foo", " 1, 2 "))),
	}, varyCasesKnown)
}

// varyCasesKnown marks the cases of this file that fail today (see
// markKnown); each reason gives the kind, what Larder does and why.
var varyCasesKnown = map[string]string{
	"vary-normalise-lang-select": "optional: Larder does not select a variant by Accept-Language qvalues and Content-Language (RFC 9111 §4.1 MAY)",
}
