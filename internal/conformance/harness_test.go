// Package conformance ports the http-tests/cache-tests suite (cache-tests.fyi)
// to Go tests, run against Larder as the suite runs it: a shared cache,
// cache.Middleware in front of the larder command's reverse proxy (package
// proxy) to an origin server.
//
// Each suite file (tests/<name>.mjs) has a file here, <name>_test.go, holding
// its cases as data; the harness*_test.go files are the engine that runs
// them:
//
//   - harness_case_test.go: the case model (Case, Req, the field helpers) and
//     the suite's shared templates;
//   - harness_dates_test.go: the fake clock and the HTTP-date fields;
//   - harness_origin_test.go: the origin, the suite's server;
//   - harness_engine_test.go: the client, which runs a case's steps;
//   - harness_expect_test.go: the checks of each response and of the
//     requests the origin saw;
//   - harness_test.go: the list of suite files, TestCacheTests and its
//     report.
//
// A case is a list of steps. Each step is one client request through the
// cache, the answer the origin gives if the request reaches it, and what the
// client must see.
//
// The engine follows the suite's own client and server (test-engine/client/
// test.mjs and test-engine/server/handle-test.mjs), with real delays mapped
// onto a fake clock shared by the cache, its store and the origin:
//
//   - pause_after advances the clock by 3 s after the step; response_pause
//     advances it while the origin answers;
//   - integer date fields (Date: 0, Expires: 100000, ...) are HTTP-dates
//     relative to the origin's current time (Server-Now), and in expected
//     response fields relative to the Server-Now of the response checked;
//   - the origin picks its answer by the Req-Num request field, counts the
//     requests it sees (Server-Request-Count), answers 999 when a request that
//     should have been conditional is not, and closes the connection for
//     "disconnect";
//   - "cached" means the response's Server-Request-Count is below the step
//     number (or a 304 without it), "not_cached" that it equals it;
//     "etag_validated"/"lm_validated" that the origin saw If-None-Match /
//     If-Modified-Since for that step.
//
// The origin writes its responses itself, as the suite's Node server would
// (it sends Content-Type on a 304, a hand-set Content-Length with the whole
// body, an unknown Transfer-Encoding), which Go's server would not; the
// proxy's transport does not reuse its connections. The client sends what
// the suite's Fetch client sends: "Pragma: foo" and "Cache-Control:
// nothing-to-see-here" on every request, repeated fields joined in one line.
//
// The cases are ported from the suite and keep its BSD 3-Clause licence,
// whose notice is in LICENSE-cache-tests next to them.
//
// Sources: the test files of github.com/http-tests/cache-tests (tests/*.mjs),
// with the shared templates (tests/lib/templates.mjs, whose makeTemplate
// concatenates arrays) and tests/lib/header-list.mjs of its current version;
// cc-request, conditional-lm, pragma and updateHead follow that version too.
// Tests that only apply to a browser or private cache (browser_only) are
// kept as NotApplicable cases and skipped.
//
// As in the suite, a failed assertion of a setup step (setup, setup_tests,
// and the default status, body and origin-field checks) is a setup failure,
// reported as such; the first failure ends the case.
//
// Cases marked knownFailure are skipped with their reason. Set
// LARDER_CONFORMANCE_ALL=1 to run them as real assertions, and
// LARDER_CONFORMANCE_REPORT=<file> to write one line per case (id, kind,
// result, message) as TSV. LARDER_CONFORMANCE_DUMP=<test id> (or "all") logs
// every step of a case: request, response and the requests the origin saw.
package conformance

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// suite is one file of the suite.
type suite struct {
	name  string
	cases []Case
}

// suites lists the ported files in the suite's order.
func suites() []suite {
	return []suite{
		{"age-parse", ageParseCases()},
		{"authorization", authorizationCases()},
		{"cc-freshness", ccFreshnessCases()},
		{"cc-parse", ccParseCases()},
		{"cc-request", ccRequestCases()},
		{"cc-response", ccResponseCases()},
		{"cdn-cache-control", cdnCacheControlCases()},
		{"conditional-etag", conditionalEtagCases()},
		{"conditional-lm", conditionalLMCases()},
		{"expires-freshness", expiresFreshnessCases()},
		{"expires-parse", expiresParseCases()},
		{"headers", headersCases()},
		{"heuristic-freshness", heuristicFreshnessCases()},
		{"invalidation", invalidationCases()},
		{"other", otherCases()},
		{"partial", partialCases()},
		{"pragma", pragmaCases()},
		{"stale", staleCases()},
		{"status", statusCases()},
		{"update304", update304Cases()},
		{"updateHead", updateHeadCases()},
		{"vary", varyCases()},
		{"vary-parse", varyParseCases()},
	}
}

type result struct {
	suite, id string
	kind      Kind
	outcome   string // pass, fail, setup-fail, known-failure, not-applicable
	msg       string
}

func TestCacheTests(t *testing.T) { runSuites(t, false) }

// runSuites runs every case of the suite and reports the score: through
// the middleware (a shared cache), or in private mode through a
// larder.Transport (harness_private_test.go says which cases apply).
func runSuites(t *testing.T, private bool) {
	runAll := os.Getenv("LARDER_CONFORMANCE_ALL") != ""
	mode := "shared"
	if private {
		mode = "private"
	}
	var mu sync.Mutex
	var results []result
	seen := map[string]string{}
	t.Run("group", func(t *testing.T) {
		for _, s := range suites() {
			t.Run(s.name, func(t *testing.T) {
				for _, c := range s.cases {
					if prev, dup := seen[c.ID]; dup {
						t.Errorf("duplicate test id %s (also in %s)", c.ID, prev)
					}
					seen[c.ID] = s.name
					if c.Kind == "" {
						c.Kind = Required
					}
					t.Run(c.ID, func(t *testing.T) {
						t.Parallel()
						rec := func(outcome, msg string) {
							mu.Lock()
							results = append(results, result{s.name, c.ID, c.Kind, outcome, msg})
							mu.Unlock()
						}
						if private {
							c = privateCase(s.name, c)
						}
						if c.NotApplicable != "" {
							rec("not-applicable", c.NotApplicable)
							t.Skip("not applicable: " + c.NotApplicable)
						}
						if c.KnownFailure != "" && !runAll {
							rec("known-failure", c.KnownFailure)
							t.Skipf("known failure (%s): %s", c.Kind, c.KnownFailure)
						}
						f := run(t, c, private)
						switch {
						case f == nil:
							rec("pass", "")
						case f.setup:
							rec("setup-fail", f.msg)
							t.Errorf("[%s] %s: setup failure: %s", c.Kind, c.ID, f.msg)
						default:
							rec("fail", f.msg)
							t.Errorf("[%s] %s: %s", c.Kind, c.ID, f.msg)
						}
					})
				}
			})
		}
	})
	sort.Slice(results, func(i, j int) bool {
		if results[i].suite != results[j].suite {
			return results[i].suite < results[j].suite
		}
		return results[i].id < results[j].id
	})
	counts := map[string]int{}
	for _, r := range results {
		counts[r.outcome]++
		counts[r.outcome+"/"+string(r.kind)]++
	}
	t.Logf("cache-tests port, %s cache: %d cases: %d pass, %d fail, %d setup-fail, %d known-failure, %d not-applicable",
		mode, len(results), counts["pass"], counts["fail"], counts["setup-fail"], counts["known-failure"], counts["not-applicable"])
	if path := os.Getenv("LARDER_CONFORMANCE_REPORT"); path != "" {
		if private {
			path += ".private"
		}
		var b bytes.Buffer
		for _, r := range results {
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", r.suite, r.id, r.kind, r.outcome, strings.ReplaceAll(r.msg, "\n", " "))
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
}
