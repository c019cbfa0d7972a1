package conformance

// tests/headers.mjs: which header fields the cache stores.

func headersCases() []Case {
	cases := []Case{{
		ID: "headers-omit-headers-listed-in-Connection", DependsOn: deps("freshness-max-age"),
		Requests: reqs(
			fresh(Req{ResponseHeaders: hdrs(HX("Connection", "a, b"), HX("a", "1"), HX("b", "2"), HX("c", "3"))}),
			Req{ExpectedType: "cached", ExpectedHeaders: exps(Eq("c", "3")), ExpectedMissing: misses(Missing("a"), Missing("b")),
				SetupTests: setupTests("expected_type", "expected_response_headers")}),
	}}
	for _, hc := range headerList {
		value := hc.valB
		if value == "" {
			value = httpContent(hc.name + "-store-value")
		}
		store := !hc.noStore
		h := hdrs(D("Date", 0), Hdr{Name: hc.name, Value: value, NoCheck: !store})
		if hc.name != "Cache-Control" {
			h = append(h, H("Cache-Control", "max-age=3600"))
		}
		second := Req{ExpectedType: "cached", SetupTests: setupTests("expected_type"), NoCheckBody: hc.noBodyChk}
		if store {
			second.ExpectedHeaders = exps(Eq(hc.name, value))
		} else {
			second.ExpectedMissing = misses(MissingVal(hc.name, value))
		}
		cases = append(cases, Case{
			ID: "headers-store-" + hc.name, DependsOn: deps("freshness-max-age"),
			Requests: reqs(
				Req{ResponseHeaders: h, Setup: true, PauseAfter: true, NoCheckBody: hc.noBodyChk},
				second),
		})
	}
	return markKnown(cases, headersCasesKnown)
}

// headersCasesKnown marks the cases of this file that fail today (see
// markKnown); each reason gives the kind, what Larder does and why.
var headersCasesKnown = map[string]string{
	"headers-store-Set-Cookie":        "setup failure: a shared Larder does not store responses with Set-Cookie unless WithSetCookieStorage; not storing is allowed (RFC 9111 §3), so this is not a conformance failure",
	"headers-store-Transfer-Encoding": "setup failure in the proxy layer, not the cache: Go's http.Transport rejects the origin's unknown Transfer-Encoding (\"unsupported transfer encoding\") and httputil.ReverseProxy answers 502; RFC 9112 §6.3 says to read such a body until close",
}
