package larder_test

import (
	"net/http"
	"net/http/httptest"
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
// statuses and clock steps at the cache. It must never panic, and whatever
// the input: a response that sets a cookie is never served from the shared
// cache, a hit always carries Age and the stored body, and a 304 never
// carries a body.
func FuzzMiddleware(f *testing.F) {
	f.Add(200, "Cache-Control: max-age=60\nETag: \"a\"", "If-None-Match: \"a\"", uint8(0), uint8(10))
	f.Add(200, "Cache-Control: max-age=1, stale-while-revalidate=100\nVary: Accept", "Accept: x\nRange: bytes=0-1", uint8(0), uint8(30))
	f.Add(404, "Expires: Thu, 01 Jan 2099 00:00:00 GMT\nSet-Cookie: a=b", "Cache-Control: max-stale", uint8(1), uint8(0))
	f.Add(206, "Content-Range: bytes 0-1/4\nCache-Control: public", "If-Match: *\nIf-Modified-Since: x", uint8(2), uint8(200))
	f.Add(200, "Cache-Control: private=\"X\", no-cache=\"Y\", s-maxage=5\nCDN-Cache-Control: max-age=9", "Authorization: a\nPragma: no-cache", uint8(3), uint8(4))
	methods := []string{"GET", "HEAD", "POST", "PURGE"}
	f.Fuzz(func(t *testing.T, status int, respHdr, reqHdr string, method, advance uint8) {
		if status < 0 {
			status = -status
		}
		status = 200 + status%400
		rh := parseHeader(respHdr)
		fx := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			for k, v := range rh {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte("body"))
		})
		defer fx.cache.Close()
		send := func(m string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(m, "/x", nil)
			for k, v := range parseHeader(reqHdr) {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			fx.h.ServeHTTP(w, r)
			return w
		}
		send("GET")
		fx.clock.Advance(time.Duration(advance) * time.Second)
		before := fx.orig.n()
		w := send(methods[int(method)%len(methods)])
		cs := w.Header().Get("Cache-Status")
		hit := strings.Contains(cs, "; hit")
		if rh.Get("Set-Cookie") != "" && hit {
			t.Fatalf("served a Set-Cookie response from the shared cache: %q", cs)
		}
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
