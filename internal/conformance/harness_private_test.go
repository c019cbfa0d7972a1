package conformance

import (
	"strings"
	"testing"
)

// TestCacheTestsPrivate runs the suite through a larder.Transport, a
// private cache straight to the origin: the cases the suite marks
// browser_only that are about private caches (not those that need a
// browser's Fetch cache modes), and every case for any cache, but not
// those for shared caches only (sharedOnly).
func TestCacheTestsPrivate(t *testing.T) { runSuites(t, true) }

// privateCase returns c, of suite s, as it runs in private mode.
func privateCase(s string, c Case) Case {
	if strings.HasPrefix(c.NotApplicable, "browser_only: a private cache") {
		c.NotApplicable = ""
	}
	if s == "cdn-cache-control" {
		c.NotApplicable = "cdn_only: CDN-Cache-Control (RFC 9213) targets CDNs; a private cache ignores it"
	}
	if r, ok := sharedOnly[c.ID]; ok {
		c.NotApplicable = r
	}
	if r, ok := privateKnown[c.ID]; ok {
		c.KnownFailure = r
	}
	return c
}

// sharedOnly lists the cases, besides the CDN-Cache-Control suite's
// (cdn_only), that apply to shared caches only, with the reason: the
// suite's browser_skip, or a directive RFC 9111 applies to shared caches
// only.
var sharedOnly = map[string]string{
	"cc-resp-private-shared":                            "browser_skip: a private cache stores private responses (RFC 9111 §5.2.2.7)",
	"other-authorization":                               "browser_skip: a private cache stores responses to requests with Authorization (RFC 9111 §3.5)",
	"other-authorization-public":                        "browser_skip: shared caches only (RFC 9111 §3.5)",
	"other-authorization-must-revalidate":               "browser_skip: shared caches only (RFC 9111 §3.5)",
	"other-authorization-smaxage":                       "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"freshness-s-maxage-shared":                         "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"freshness-max-age-s-maxage-shared-longer":          "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"freshness-max-age-s-maxage-shared-longer-reversed": "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"freshness-max-age-s-maxage-shared-longer-multiple": "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"freshness-max-age-s-maxage-shared-shorter":         "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"freshness-max-age-s-maxage-shared-shorter-expires": "browser_skip: a private cache ignores s-maxage (RFC 9111 §5.2.2.10)",
	"stale-close-proxy-revalidate":                      "proxy-revalidate binds shared caches only (RFC 9111 §5.2.2.8): a private cache may serve stale when disconnected",
	"stale-close-s-maxage=2":                            "s-maxage binds shared caches only (RFC 9111 §5.2.2.10): a private cache may serve stale when disconnected",
}

// privateKnown replaces, in private mode, the known-failure marks of the
// cases whose result differs from the shared cache's: "" for those a
// private cache passes.
var privateKnown = map[string]string{
	// A private cache stores responses with Set-Cookie (RFC 9111 §3).
	"headers-store-Set-Cookie":            "",
	"304-etag-update-response-Set-Cookie": "",
	"other-set-cookie":                    "",
}
