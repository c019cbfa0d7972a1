package larder_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// rangeBody returns n bytes that differ from one offset to the next, so a
// part holding the wrong slice is told apart.
func rangeBody(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return string(b)
}

// bodyPart is one part of a 206 response: its Content-Range, Content-Type
// and data.
type bodyPart struct {
	contentRange, contentType, data string
}

// partsOf returns the parts of a 206 response, single or multipart/byteranges
// (RFC 9110 §15.3.7), read with mime/multipart, and checks that its
// Content-Length is the size of its content.
func partsOf(t *testing.T, w *httptest.ResponseRecorder) []bodyPart {
	t.Helper()
	if w.Code != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", w.Code)
	}
	if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("Content-Length %q, content is %d bytes", cl, w.Body.Len())
	}
	mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		return []bodyPart{{w.Header().Get("Content-Range"), w.Header().Get("Content-Type"), w.Body.String()}}
	}
	if cr := w.Header().Get("Content-Range"); cr != "" {
		t.Fatalf("multipart response with Content-Range %q in its header section", cr)
	}
	mr := multipart.NewReader(bytes.NewReader(w.Body.Bytes()), params["boundary"])
	var parts []bodyPart
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("multipart part: %v", err)
		}
		parts = append(parts, bodyPart{p.Header.Get("Content-Range"), p.Header.Get("Content-Type"), string(b)})
	}
}

// checkParts checks that each part holds the bytes its Content-Range names
// of the stored body, with the stored Content-Type.
func checkParts(t *testing.T, parts []bodyPart, body, ctype string) {
	t.Helper()
	for _, p := range parts {
		first, last, size, ok := parseContentRange(p.contentRange)
		if !ok || size != len(body) || first < 0 || first > last || last >= size {
			t.Fatalf("part Content-Range %q", p.contentRange)
		}
		if p.data != body[first:last+1] {
			t.Fatalf("part %q holds %d bytes that are not the stored ones", p.contentRange, len(p.data))
		}
		if p.contentType != ctype {
			t.Fatalf("part %q has Content-Type %q, want %q", p.contentRange, p.contentType, ctype)
		}
	}
}

// parseContentRange reads a Content-Range "bytes first-last/size".
func parseContentRange(s string) (first, last, size int, ok bool) {
	rest, ok0 := strings.CutPrefix(s, "bytes ")
	a, rest, ok1 := strings.Cut(rest, "-")
	b, c, ok2 := strings.Cut(rest, "/")
	first, err0 := strconv.Atoi(a)
	last, err1 := strconv.Atoi(b)
	size, err2 := strconv.Atoi(c)
	return first, last, size, ok0 && ok1 && ok2 && err0 == nil && err1 == nil && err2 == nil
}

// RFC 9110 §14.2, §15.3.7.2, §17.15: overlapping range-specs are coalesced,
// so a request for the same bytes many times over gets them once: the
// response is never larger than the representation plus multipart framing.
func TestRangeAmplificationCoalesced(t *testing.T) {
	const size = 1 << 20
	body := rangeBody(size)
	repeat := func(spec string) string {
		return "bytes=" + strings.TrimSuffix(strings.Repeat(spec+",", 16), ",")
	}
	var staggered []string
	for i := range 16 {
		staggered = append(staggered, strconv.Itoa(i*1000)+"-")
	}
	var reversed []string
	for i := 15; i >= 0; i-- {
		reversed = append(reversed, strconv.Itoa(i*size/16)+"-"+strconv.Itoa((i+2)*size/16-1))
	}
	tests := []struct {
		name  string
		rng   string
		parts int
	}{
		{"RFC9110_14.2_repeated_open_ranges", repeat("0-"), 1},
		{"RFC9110_14.2_repeated_suffix_ranges", repeat("-" + strconv.Itoa(size)), 1},
		{"RFC9110_14.2_repeated_inner_range", repeat("1000-900000"), 1},
		{"RFC9110_14.2_staggered_open_ranges", "bytes=" + strings.Join(staggered, ","), 1},
		{"RFC9110_14.2_overlapping_ranges_out_of_order", "bytes=" + strings.Join(reversed, ","), 1},
		{"RFC9110_15.3.7.2_overlapping_and_disjoint", "bytes=0-99999,-1000,50000-199999,-10,900000-900099,0-", 1},
		{"RFC9110_15.3.7.2_disjoint_kept_apart", "bytes=500000-599999,0-99999,50000-149999,-100,-10", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, body, "Cache-Control", "max-age=60", "Content-Type", "application/octet-stream"))
			f.do("GET", "/x")
			w := f.do("GET", "/x", "Range", tc.rng)
			if n := w.Body.Len(); n > size+16*200 {
				t.Fatalf("sent %d bytes for a %d-byte representation", n, size)
			}
			parts := partsOf(t, w)
			if len(parts) != tc.parts {
				t.Fatalf("%d parts, want %d", len(parts), tc.parts)
			}
			checkParts(t, parts, body, "application/octet-stream")
			expectCalls(t, f.orig, 1)
		})
	}
}

// RFC 9110 §15.3.7.2: overlapping and adjacent ranges, and ranges separated
// by less than a part's framing, are sent as one part; parts are in
// ascending order, whatever the order of the range-specs.
func TestRangeCoalescesOverlappingAndAdjacent(t *testing.T) {
	body := rangeBody(1000)
	tests := []struct {
		name string
		rng  string
		want []string
	}{
		{"RFC9110_15.3.7.2_overlapping", "bytes=0-9,5-19,100-109", []string{"bytes 0-19/1000", "bytes 100-109/1000"}},
		{"RFC9110_15.3.7.2_out_of_order", "bytes=100-109,5-19,0-9", []string{"bytes 0-19/1000", "bytes 100-109/1000"}},
		{"RFC9110_15.3.7.2_adjacent", "bytes=10-19,0-9,500-509,510-", []string{"bytes 0-19/1000", "bytes 500-999/1000"}},
		{"RFC9110_15.3.7.2_small_gap", "bytes=0-9,50-59,300-309", []string{"bytes 0-59/1000", "bytes 300-309/1000"}},
		{"RFC9110_15.3.7.2_contained", "bytes=-100,950-959,0-0", []string{"bytes 0-0/1000", "bytes 900-999/1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, body, "Cache-Control", "max-age=60", "Content-Type", "text/plain"))
			f.do("GET", "/x")
			parts := partsOf(t, f.do("GET", "/x", "Range", tc.rng))
			var got []string
			for _, p := range parts {
				got = append(got, p.contentRange)
			}
			if strings.Join(got, ";") != strings.Join(tc.want, ";") {
				t.Fatalf("parts %q, want %q", got, tc.want)
			}
			checkParts(t, parts, body, "text/plain")
		})
	}
}

// RFC 9110 §14.6, §15.3.7.2: the multipart/byteranges body is valid
// multipart (RFC 2046 §5.1.1), its Content-Length is the bytes sent, each
// part carries Content-Range and the stored Content-Type, and the header
// section carries no Content-Range.
func TestRangeMultipartFraming(t *testing.T) {
	body := rangeBody(1100)
	for _, ctype := range []string{"text/plain; charset=utf-8", ""} {
		t.Run("Content-Type="+ctype, func(t *testing.T) {
			hdr := []string{"Cache-Control", "max-age=60"}
			if ctype != "" {
				hdr = append(hdr, "Content-Type", ctype)
			}
			f := newFixture(t, respond(200, body, hdr...))
			f.do("GET", "/x")
			w := f.do("GET", "/x", "Range", "bytes=300-399, 0-99, 50-149, 1000-")
			mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
			if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
				t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
			}
			parts := partsOf(t, w)
			var got []string
			for _, p := range parts {
				got = append(got, p.contentRange)
			}
			if want := "bytes 0-149/1100;bytes 300-399/1100;bytes 1000-1099/1100"; strings.Join(got, ";") != want {
				t.Fatalf("parts %q, want %q", got, want)
			}
			checkParts(t, parts, body, ctype)
			b := params["boundary"]
			if !strings.HasPrefix(w.Body.String(), "--"+b+"\r\n") || !strings.HasSuffix(w.Body.String(), "\r\n--"+b+"--\r\n") {
				t.Fatalf("body does not open and close with the boundary %q", b)
			}
			w2 := f.do("GET", "/x", "Range", "bytes=300-399, 0-99")
			if _, p2, _ := mime.ParseMediaType(w2.Header().Get("Content-Type")); p2["boundary"] == b {
				t.Fatalf("boundary %q used twice", b)
			}
		})
	}
}

// countingWriter is a ResponseWriter that keeps no content, only its size.
type countingWriter struct {
	h      http.Header
	status int
	n      int64
}

func (w *countingWriter) Header() http.Header { return w.h }

func (w *countingWriter) WriteHeader(status int) { w.status = status }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// A range answer writes the stored body's slices as they are: it allocates
// far less than the bytes it sends, so no response is built whole in memory
// (RFC 9110 §17.15).
func TestRangeAnswerAllocation(t *testing.T) {
	const size = 4 << 20
	body := rangeBody(size)
	tests := []struct {
		name   string
		rng    string
		status int
		sent   int64 // at least
	}{
		{"RFC9110_15.3.7.2_multipart", "bytes=0-1048575, 2097152-", 206, 3 << 20},
		{"RFC9110_14.2_overlapping_attack", "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 16), ","), 206, size},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, respond(200, body, "Cache-Control", "max-age=60", "Content-Type", "application/octet-stream"))
			f.do("GET", "/x")
			const runs = 16
			reqs := make([]*http.Request, runs)
			ws := make([]*countingWriter, runs)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/x", nil)
				reqs[i].Header.Set("Range", tc.rng)
				ws[i] = &countingWriter{h: http.Header{}}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range reqs {
				f.h.ServeHTTP(ws[i], reqs[i])
			}
			runtime.ReadMemStats(&after)
			for _, w := range ws {
				if w.status != tc.status || w.n < tc.sent || w.n > size+16*200 {
					t.Fatalf("status %d, %d bytes sent", w.status, w.n)
				}
				if cl := w.h.Get("Content-Length"); cl != strconv.FormatInt(w.n, 10) {
					t.Fatalf("Content-Length %q, %d bytes sent", cl, w.n)
				}
			}
			perRequest := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%d bytes sent, %d bytes allocated per request", ws[0].n, perRequest)
			if perRequest >= 64<<10 {
				t.Fatalf("%d bytes allocated per request for a %d-byte body", perRequest, size)
			}
			expectCalls(t, f.orig, 1)
		})
	}
}
