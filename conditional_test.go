package larder_test

import (
	"net/http"
	"testing"
)

// RFC 9110 §13: preconditions answered from a stored response.
func TestConditional(t *testing.T) {
	lm := "Sat, 28 Nov 2026 10:00:00 GMT"
	tests := []struct {
		name   string
		method string
		hdr    []string
		want   int
	}{
		{"RFC9110_13.1.2_If-None-Match_match_304", "GET", []string{"If-None-Match", `"a"`}, 304},
		{"RFC9110_13.1.2_If-None-Match_list_304", "GET", []string{"If-None-Match", `"x", "a"`}, 304},
		{"RFC9110_13.1.2_If-None-Match_lines_304", "GET", []string{"If-None-Match", `"x"`, "If-None-Match", `"a"`}, 304},
		{"RFC9110_13.1.2_If-None-Match_star_304", "GET", []string{"If-None-Match", "*"}, 304},
		{"RFC9110_13.1.2_If-None-Match_weak_comparison_304", "GET", []string{"If-None-Match", `W/"a"`}, 304},
		{"RFC9110_13.1.2_If-None-Match_no_match_200", "GET", []string{"If-None-Match", `"b"`}, 200},
		{"RFC9110_13.1.2_If-None-Match_HEAD_304", "HEAD", []string{"If-None-Match", `"a"`}, 304},
		{"RFC9110_13.1.3_If-Modified-Since_not_modified_304", "GET", []string{"If-Modified-Since", lm}, 304},
		{"RFC9110_13.1.3_If-Modified-Since_earlier_200", "GET", []string{"If-Modified-Since", "Sat, 28 Nov 2026 09:00:00 GMT"}, 200},
		{"RFC9110_13.1.3_If-Modified-Since_invalid_ignored", "GET", []string{"If-Modified-Since", "yesterday"}, 200},
		{"RFC9110_13.2.2_If-None-Match_beats_If-Modified-Since", "GET", []string{"If-None-Match", `"b"`, "If-Modified-Since", lm}, 200},
		{"RFC9110_13.1.1_If-Match_match_200", "GET", []string{"If-Match", `"a"`}, 200},
		{"RFC9110_13.1.1_If-Match_star_200", "GET", []string{"If-Match", "*"}, 200},
		{"RFC9110_13.1.1_If-Match_mismatch_412", "GET", []string{"If-Match", `"b"`}, 412},
		{"RFC9110_13.1.1_If-Match_strong_comparison_412", "GET", []string{"If-Match", `W/"a"`}, 412},
		{"RFC9110_13.1.4_If-Unmodified-Since_modified_412", "GET", []string{"If-Unmodified-Since", "Sat, 28 Nov 2026 09:00:00 GMT"}, 412},
		{"RFC9110_13.1.4_If-Unmodified-Since_ok_200", "GET", []string{"If-Unmodified-Since", lm}, 200},
		{"RFC9110_13.2.2_If-Match_before_If-None-Match", "GET", []string{"If-Match", `"b"`, "If-None-Match", `"a"`}, 412},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, "body", "Cache-Control", "max-age=60", "ETag", `"a"`, "Last-Modified", lm, "Content-Type", "text/plain"))
			f.do("GET", "/x")
			w := f.do(tc.method, "/x", tc.hdr...)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			expectCalls(t, f.orig, 1)
			if w.Code == http.StatusNotModified {
				// RFC 9110 §15.4.5: validators and caching fields, no content.
				if w.Body.Len() != 0 || w.Header().Get("ETag") != `"a"` || w.Header().Get("Cache-Control") == "" {
					t.Fatalf("bad 304: %v %q", w.Header(), w.Body)
				}
				if w.Header().Get("Content-Type") != "" || w.Header().Get("Content-Length") != "" {
					t.Fatalf("304 carries representation metadata: %v", w.Header())
				}
				if w.Header().Get("Age") == "" || w.Header().Get("Cache-Status") == "" {
					t.Fatalf("304 lacks Age/Cache-Status: %v", w.Header())
				}
			}
		})
	}
}

func TestConditional_NotEvaluatedOnNon2xx(t *testing.T) {
	f := newFixture(t, respond(404, "nope", "Cache-Control", "max-age=60", "ETag", `"a"`))
	f.do("GET", "/x")
	if w := f.do("GET", "/x", "If-None-Match", `"a"`); w.Code != 404 {
		t.Fatalf("RFC9110_13.2.1 got %d, want 404", w.Code)
	}
}
