package larder_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// TestWritePreconditions: the seed's lost-update protection. With the
// option, an unsafe request whose preconditions fail against the fresh
// stored response is answered 412 without calling the handler; otherwise
// the handler is called (and a success invalidates).
func TestWritePreconditions(t *testing.T) {
	type step struct {
		method string
		hdr    []string
		code   int
		called bool // the handler was called
	}
	cases := []struct {
		name  string
		etag  string
		prime bool          // a GET stores the response first
		age   time.Duration // the stored response's age when the write comes
		steps []step
	}{
		{"If-Match mismatch: 412", `"etag-1"`, true, 0, []step{{"PUT", []string{"If-Match", `"stale-tag"`}, 412, false}}},
		{"If-Match match: handler, then invalidated", `"etag-1"`, true, 0, []step{
			{"PUT", []string{"If-Match", `"etag-1"`}, 204, true},
			{"GET", nil, 200, true}}},
		{"If-Match in a list", `"etag-1"`, true, 0, []step{{"PATCH", []string{"If-Match", `"x", "etag-1"`}, 204, true}}},
		{"If-Match *: something is stored", `"etag-1"`, true, 0, []step{{"DELETE", []string{"If-Match", "*"}, 204, true}}},
		{"weak tags never match If-Match", `W/"etag-1"`, true, 0, []step{{"PUT", []string{"If-Match", `W/"etag-1"`}, 412, false}}},
		{"If-None-Match match: 412", `"etag-1"`, true, 0, []step{{"POST", []string{"If-None-Match", `"etag-1"`}, 412, false}}},
		{"If-None-Match *: 412", `"etag-1"`, true, 0, []step{{"PUT", []string{"If-None-Match", "*"}, 412, false}}},
		{"If-None-Match mismatch: handler", `"etag-1"`, true, 0, []step{{"PUT", []string{"If-None-Match", `"other"`}, 204, true}}},
		{"If-Unmodified-Since before Last-Modified: 412", `"etag-1"`, true, 0, []step{{"PUT", []string{"If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"}, 412, false}}},
		{"nothing stored: handler", `"etag-1"`, false, 0, []step{{"PUT", []string{"If-Match", `"stale-tag"`}, 204, true}}},
		{"stale stored response: handler", `"etag-1"`, true, 2 * time.Minute, []step{{"PUT", []string{"If-Match", `"stale-tag"`}, 204, true}}},
		{"no precondition: handler", `"etag-1"`, true, 0, []step{{"PUT", nil, 204, true}}},
	}
	for _, via := range []string{"Route", "Middleware"} {
		for _, tc := range cases {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				var opts []larder.Option
				if via == "Middleware" {
					opts = append(opts, larder.WithWritePreconditions())
				}
				f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
					if r.Method != http.MethodGet {
						w.WriteHeader(http.StatusNoContent)
						return
					}
					w.Header().Set("ETag", tc.etag)
					w.Header().Set("Last-Modified", "Tue, 01 Oct 2024 00:00:00 GMT")
					_, _ = w.Write([]byte("user"))
				}, opts...)
				defer f.cache.Close()
				if via == "Route" {
					f.route(larder.Expiry(time.Minute), larder.WritePreconditions())
				} else {
					f.orig.fn = withCC(f.orig.fn, "max-age=60")
				}
				if tc.prime {
					f.do("GET", "/users/1")
				}
				f.clock.Advance(tc.age)
				for i, s := range tc.steps {
					before := f.orig.n()
					w := f.do(s.method, "/users/1", s.hdr...)
					if w.Code != s.code || (f.orig.n() != before) != s.called {
						t.Fatalf("step %d %s %v: %d, handler called %v; want %d, %v", i, s.method, s.hdr, w.Code, f.orig.n() != before, s.code, s.called)
					}
				}
			})
		}
	}
	// Off by default: the handler decides.
	f := newFixture(t, respond(200, "u", "Cache-Control", "max-age=60", "ETag", `"etag-1"`))
	defer f.cache.Close()
	f.do("GET", "/u")
	if w := f.do("PUT", "/u", "If-Match", `"stale-tag"`); w.Code != 200 || f.orig.n() != 2 {
		t.Fatalf("default: %d, %d calls", w.Code, f.orig.n())
	}
}

// withCC sets a Cache-Control on GET responses of fn.
func withCC(fn http.HandlerFunc, cc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Cache-Control", cc)
		}
		fn(w, r)
	}
}
