package cachecontrol

import (
	"net/http"
	"testing"
)

// Benchmarks of the list-parsing paths that use internal/httpsyntax. The
// existing BenchmarkParse covers the shortest typical value.

func BenchmarkParseTypical(b *testing.B) {
	h := http.Header{"Cache-Control": {"public, max-age=60, stale-while-revalidate=30"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(h, "Cache-Control")
	}
}

func BenchmarkParseQualified(b *testing.B) {
	// appendFieldNames: a qualified no-cache field list (allocates the list).
	h := http.Header{"Cache-Control": {`max-age=60, no-cache="Set-Cookie, X-Trace", private="Authorization-Info"`}}
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(h, "Cache-Control")
	}
}

func BenchmarkParseRequestPragma(b *testing.B) {
	// pragmaNoCache: no Cache-Control, so the Pragma list is scanned.
	h := http.Header{"Pragma": {"x-ext=1, y-ext", " no-cache"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseRequest(h)
	}
}
