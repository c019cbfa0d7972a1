package larder_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseHeader reads "Name: value" lines into a header.
func parseHeader(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k != "" {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	return h
}

// FuzzMiddleware throws arbitrary response and request header fields,
// statuses and clock steps at the cache, over three requests from three
// visitors. The origin's fields differ from one response to the next (the
// first response gets respHdr, later ones respHdr2, 304s included); every
// response to a visitor without a cookie carries a Set-Cookie, and every
// response an X-Secret field, naming the request it answers, X-Secret marked private="X-Secret" in every
// cache-control field. The cache must never panic, and whatever the input:
// no response carries a Set-Cookie or X-Secret of another request (the
// shared cache stores neither), a hit always carries Age and the stored
// body, and a 304 never carries a body.
func FuzzMiddleware(f *testing.F) {
	f.Add(200, "Cache-Control: max-age=60\nETag: \"a\"", "Cache-Control: max-age=60\nETag: \"a\"", "If-None-Match: \"a\"", uint8(0), uint8(10), uint8(0))
	f.Add(200, "Cache-Control: max-age=1, stale-while-revalidate=100\nVary: Accept", "ETag: \"b\"", "Accept: x\nRange: bytes=0-1", uint8(0), uint8(30), uint8(3))
	f.Add(404, "Expires: Thu, 01 Jan 2099 00:00:00 GMT", "Cache-Control: no-cache", "Cache-Control: max-stale", uint8(1), uint8(0), uint8(1))
	f.Add(206, "Content-Range: bytes 0-1/4\nCache-Control: public", "", "If-Match: *\nIf-Modified-Since: x", uint8(2), uint8(200), uint8(2))
	f.Add(200, "Cache-Control: private=\"X\", no-cache=\"Y\", s-maxage=5\nCDN-Cache-Control: max-age=9", "CDN-Cache-Control: max-age=99", "Authorization: a\nPragma: no-cache", uint8(3), uint8(4), uint8(5))
	f.Add(200, "Cache-Control: public, max-age=1\nETag: \"v\"", "ETag: \"v\"", "", uint8(1), uint8(2), uint8(6))
	// Found by this target on a cache that merged a 304's Set-Cookie into
	// the stored response: a visitor with a cookie fills, one without
	// revalidates, and a third is served the second one's session.
	f.Add(101, "ETag: \"v\"", "ETag: \"v\"", "", uint8(0), uint8(28), uint8(13))
	methods := []string{"GET", "HEAD", "POST", "PURGE"}
	f.Fuzz(func(t *testing.T, status int, respHdr, respHdr2, reqHdr string, method, advance, visitors uint8) {
		if status < 0 {
			status = -status
		}
		status = 200 + status%400
		first, later := parseHeader(respHdr), parseHeader(respHdr2)
		calls := 0
		fx := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			src := later
			if calls == 1 {
				src = first
			}
			h := w.Header()
			for k, v := range src {
				h[k] = append([]string(nil), v...)
			}
			id := r.Header.Get("X-Request-Id")
			if r.Header.Get("Cookie") == "" {
				h.Add("Set-Cookie", "sid="+id) // a new visitor gets a session
			}
			h.Set("X-Secret", id)
			h.Add("Cache-Control", `private="X-Secret"`)
			for _, k := range []string{"Cdn-Cache-Control"} {
				if v := h[k]; len(v) > 0 {
					h.Add(k, `private="X-Secret"`)
				}
			}
			code := status
			if calls > 1 && r.Header.Get("If-None-Match") != "" && r.Header.Get("If-None-Match") == h.Get("Etag") {
				code = http.StatusNotModified
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte("body"))
		})
		defer fx.cache.Close()
		send := func(n int, m string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(m, "/x", nil)
			for k, v := range parseHeader(reqHdr) {
				r.Header[k] = v
			}
			id := "r" + strconv.Itoa(n)
			r.Header.Set("X-Request-Id", id)
			if visitors&(1<<n) != 0 {
				r.Header.Set("Cookie", "sid=c"+strconv.Itoa(n))
			}
			w := httptest.NewRecorder()
			fx.h.ServeHTTP(w, r)
			fx.cache.Close() // background revalidations land before the next request
			for _, c := range w.Header().Values("Set-Cookie") {
				if c != "sid="+id {
					t.Fatalf("request %s got Set-Cookie %q of another request (Cache-Status %q)", id, c, w.Header().Get("Cache-Status"))
				}
			}
			if v := w.Header().Values("X-Secret"); len(v) > 0 && (len(v) != 1 || v[0] != id) {
				t.Fatalf("request %s got X-Secret %q of another request (Cache-Status %q)", id, v, w.Header().Get("Cache-Status"))
			}
			return w
		}
		send(0, "GET")
		fx.clock.Advance(time.Duration(advance) * time.Second)
		send(1, methods[int(method)%len(methods)])
		fx.clock.Advance(time.Duration(advance) * time.Second)
		before := fx.orig.n()
		w := send(2, "GET")
		cs := w.Header().Get("Cache-Status")
		hit := strings.Contains(cs, "; hit")
		if hit && fx.orig.n() == before && w.Header().Get("Age") == "" {
			t.Fatalf("hit without Age: %v", w.Header())
		}
		if w.Code == http.StatusNotModified && w.Body.Len() != 0 {
			t.Fatalf("304 with a body: %q", w.Body)
		}
		if hit && w.Code == status && status == 200 && w.Body.String() != "body" && w.Header().Get("Content-Range") == "" {
			t.Fatalf("hit body %q", w.Body)
		}
	})
}
