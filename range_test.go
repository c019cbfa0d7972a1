package larder_test

import (
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"
)

// RFC 9110 §14: range requests answered from a stored complete response.
func TestRangeFromCache(t *testing.T) {
	const body = "0123456789abcdefghij"
	lm := "Sat, 28 Nov 2026 10:00:00 GMT"
	tests := []struct {
		name         string
		hdr          []string
		status       int
		contentRange string
		want         string
	}{
		{"RFC9110_14.2_single_range_206", []string{"Range", "bytes=2-5"}, 206, "bytes 2-5/20", "2345"},
		{"RFC9110_14.1.2_suffix_range", []string{"Range", "bytes=-3"}, 206, "bytes 17-19/20", "hij"},
		{"RFC9110_14.1.2_open_range", []string{"Range", "bytes=18-"}, 206, "bytes 18-19/20", "ij"},
		{"RFC9110_15.5.17_unsatisfiable_416", []string{"Range", "bytes=50-60"}, 416, "bytes */20", ""},
		{"RFC9110_14.2_unknown_unit_ignored", []string{"Range", "lines=1-2"}, 200, "", body},
		{"RFC9110_13.1.5_If-Range_etag_match", []string{"Range", "bytes=0-0", "If-Range", `"v"`}, 206, "bytes 0-0/20", "0"},
		{"RFC9110_13.1.5_If-Range_mismatch_full", []string{"Range", "bytes=0-0", "If-Range", `"old"`}, 200, "", body},
		{"RFC9110_13.1.5_If-Range_date_match", []string{"Range", "bytes=1-1", "If-Range", lm}, 206, "bytes 1-1/20", "1"},
		{"RFC9110_13.2.2_If-None-Match_before_Range", []string{"Range", "bytes=1-1", "If-None-Match", `"v"`}, 304, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, body, "Cache-Control", "max-age=60", "ETag", `"v"`, "Last-Modified", lm, "Content-Type", "text/plain"))
			f.do("GET", "/x")
			w := f.do("GET", "/x", tc.hdr...)
			if w.Code != tc.status || w.Header().Get("Content-Range") != tc.contentRange || w.Body.String() != tc.want {
				t.Fatalf("got %d %q %q", w.Code, w.Header().Get("Content-Range"), w.Body)
			}
			if w.Code == 206 && w.Header().Get("Content-Length") != strconv.Itoa(len(tc.want)) {
				t.Fatalf("Content-Length %q", w.Header().Get("Content-Length"))
			}
			expectCalls(t, f.orig, 1)
		})
	}
}

// RFC 9110 §15.3.7.2: ranges farther apart than a part's framing are sent
// as parts of a multipart/byteranges body.
func TestRangeFromCache_Multipart(t *testing.T) {
	body := "01" + strings.Repeat(".", 96) + "89"
	f := newFixture(t, respond(200, body, "Cache-Control", "max-age=60", "Content-Type", "text/plain"))
	f.do("GET", "/x")
	w := f.do("GET", "/x", "Range", "bytes=0-1, 98-")
	mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if w.Code != 206 || err != nil || mt != "multipart/byteranges" {
		t.Fatalf("got %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	mr := multipart.NewReader(strings.NewReader(w.Body.String()), params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Range")+"="+string(b))
	}
	if strings.Join(parts, ";") != "bytes 0-1/100=01;bytes 98-99/100=89" {
		t.Fatalf("parts %q", parts)
	}
}

func TestRangeOnAMissGoesToOrigin(t *testing.T) {
	f := newFixture(t, respond(206, "23", "Cache-Control", "max-age=60", "Content-Range", "bytes 2-3/10"))
	f.do("GET", "/x", "Range", "bytes=2-3")
	if r := f.orig.last.Load(); r.Header.Get("Range") != "bytes=2-3" {
		t.Fatal("Range not forwarded")
	}
	if f.store.len() != 0 {
		t.Fatal("stored a 206")
	}
}
