package larder_test

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// handlerRoundTripper is a base transport that answers with a handler, in
// process: the origin of the tests that count what a Transport hit costs.
type handlerRoundTripper struct{ h http.Handler }

func (t handlerRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	if r.Body != nil {
		_ = r.Body.Close()
	}
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// newMemoryTransport returns a Transport over a memory store on clk, whose
// origin is h.
func newMemoryTransport(t *testing.T, clk *clock, h http.Handler, opts ...larder.Option) *larder.Transport {
	t.Helper()
	s, err := memory.New(memory.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tr := larder.NewTransport(handlerRoundTripper{h}, s, append([]larder.Option{larder.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// roundTrip sends a GET for url through rt, reads the body whole and
// returns the response (its body closed) and the body.
func roundTrip(t *testing.T, rt http.RoundTripper, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestTransportHitHeaderNotAliased: the header of a response the Transport
// answers from the store is the caller's own: writing into its value
// lists, or appending to them, changes neither the stored response nor
// another response, whatever the header's size (its values in the
// response's own room, or in an array of their own), with several values
// to a field, for a 304 to the caller's If-None-Match, and with
// X-From-Cache.
func TestTransportHitHeaderNotAliased(t *testing.T) {
	many := []string{"Cache-Control", "max-age=60", "ETag", `"e"`}
	for i := range 12 {
		many = append(many, fmt.Sprintf("X-Field-%d", i), fmt.Sprintf("v%d", i))
	}
	for _, tc := range []struct {
		name string
		hdr  []string // the origin's fields
		req  []string // the request's fields
		opts []larder.Option
	}{
		{"small", []string{"Cache-Control", "max-age=60", "ETag", `"e"`, "X-Tenant", "acme"}, nil, nil},
		{"many fields", many, nil, nil},
		{"several values", []string{"Cache-Control", "max-age=60", "ETag", `"e"`, "Link", "</a>", "Link", "</b>"}, nil, nil},
		{"304", []string{"Cache-Control", "max-age=60", "ETag", `"e"`, "X-Tenant", "acme"}, []string{"If-None-Match", `"e"`}, nil},
		{"X-From-Cache", []string{"Cache-Control", "max-age=60", "ETag", `"e"`}, nil, []larder.Option{larder.WithFromCacheHeader()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			tr := newMemoryTransport(t, clk, respond(200, "body", tc.hdr...), tc.opts...)
			roundTrip(t, tr, "http://example.com/t") // the miss that stores it
			first, _ := roundTrip(t, tr, "http://example.com/t", tc.req...)
			want := first.Header.Clone()
			if len(want["Cache-Status"]) != 1 || want["Age"] == nil {
				t.Fatalf("not a hit: %v", want)
			}
			other, _ := roundTrip(t, tr, "http://example.com/t", tc.req...)
			for k, v := range first.Header {
				for i := range v {
					v[i] = "EDITED"
				}
				first.Header[k] = append(v, "APPENDED")
			}
			if !maps.EqualFunc(other.Header, want, slices.Equal) {
				t.Errorf("another response's header changed:\n got %v\nwant %v", other.Header, want)
			}
			for round := range 2 {
				resp, body := roundTrip(t, tr, "http://example.com/t", tc.req...)
				if !maps.EqualFunc(resp.Header, want, slices.Equal) {
					t.Fatalf("round %d: header\n got %v\nwant %v", round, resp.Header, want)
				}
				if wantBody := "body"; resp.StatusCode == 200 && body != wantBody {
					t.Fatalf("round %d: body %q", round, body)
				}
				for k, v := range resp.Header {
					resp.Header[k] = append(v[:len(v):len(v)], "APPENDED")
					v[0] = "EDITED"
				}
			}
		})
	}
}

// TestTransportHitAllocs: a Transport hit on the memory store allocates the
// response (its body reader and the room for its header's values in the
// same object) and the header map (the map and its group): three
// allocations; the key of a URL asked for before is the one made then
// (keyTable). The body is the stored bytes. A larger header adds an array
// for its values and the map's table, made once for the fields the
// response gets, never grown.
func TestTransportHitAllocs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		extra  int // fields besides Cache-Control, ETag, Content-Type (and Content-Length)
		inm    string
		fields int // in the response
		max    float64
	}{
		{"hit", 0, "", 6, 3},
		{"304", 0, `"e"`, 4, 3},
		{"8 fields", 2, "", 8, 4},    // the values' own array
		{"16 fields", 10, "", 16, 6}, // and the map's table: directory, groups
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Cache-Control", "max-age=600", "ETag", `"e"`, "Content-Type", "text/plain"}
			for i := range tc.extra {
				hdr = append(hdr, fmt.Sprintf("X-Field-%d", i), "v")
			}
			tr := newMemoryTransport(t, newClock(), respond(200, "body", hdr...))
			req, err := http.NewRequest(http.MethodGet, "http://example.com/a", nil)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, tr, req.URL.String())
			if tc.inm != "" {
				req.Header.Set("If-None-Match", tc.inm)
			}
			var failed error
			allocs := testing.AllocsPerRun(200, func() {
				resp, err := tr.RoundTrip(req)
				if err != nil {
					failed = err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.Header.Get("Cache-Status") == "" || len(resp.Header) != tc.fields {
					failed = fmt.Errorf("%d fields, want %d: %v", len(resp.Header), tc.fields, resp.Header)
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs > tc.max {
				t.Errorf("%.0f allocations, want at most %.0f", allocs, tc.max)
			}
		})
	}
}

// TestTransportHitBodyClosed: a hit's body, read in place from the stored
// bytes, fails once closed, by Read and by WriteTo (io.Copy), whether the
// caller read part of it, all of it or none.
func TestTransportHitBodyClosed(t *testing.T) {
	tr := newMemoryTransport(t, newClock(), respond(200, "stored body", "Cache-Control", "max-age=60"))
	roundTrip(t, tr, "http://example.com/b")
	for _, tc := range []struct {
		name string
		read int // bytes read before closing; -1: all
	}{{"unread", 0}, {"part read", 3}, {"read whole", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://example.com/b", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
				t.Fatalf("not a hit: %v", resp.Header)
			}
			if tc.read < 0 {
				if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "stored body" {
					t.Fatalf("body %q, %v", b, err)
				}
			} else if _, err := io.ReadFull(resp.Body, make([]byte, tc.read)); err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if n, err := resp.Body.Read(make([]byte, 4)); n != 0 || err == nil || err == io.EOF {
				t.Errorf("Read after Close: %d, %v; want an error", n, err)
			}
			if n, err := io.Copy(io.Discard, resp.Body); n != 0 || err == nil {
				t.Errorf("io.Copy after Close: %d, %v; want an error", n, err)
			}
		})
	}
}
