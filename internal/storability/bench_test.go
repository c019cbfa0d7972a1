package storability

import (
	"net/http"
	"testing"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

func BenchmarkDecideVary(b *testing.B) {
	h := http.Header{
		"Cache-Control": {"public, max-age=60"},
		"Vary":          {"Accept-Encoding, Accept-Language", "Origin"},
	}
	req := Request{Method: http.MethodGet, Header: http.Header{}}
	resp := Response{Status: http.StatusOK, Header: h, CC: cachecontrol.Parse(h, "Cache-Control")}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Decide(req, resp, true)
	}
}
