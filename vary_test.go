package larder_test

import (
	"fmt"
	"net/http"
	"testing"
)

func echoLang(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Vary", "Accept-Language, Accept-Encoding")
	fmt.Fprintf(w, "%s|%s", r.Header.Get("Accept-Language"), r.Header.Get("Accept-Encoding"))
}

// RFC 9111 §4.1: many variants per URL coexist; each request selects its own.
func TestVary_VariantsCoexist(t *testing.T) {
	f := newFixture(t, echoLang)
	reqs := [][]string{
		{"Accept-Language", "en", "Accept-Encoding", "gzip"},
		{"Accept-Language", "pl", "Accept-Encoding", "gzip"},
		{"Accept-Language", "en"},
		{"Accept-Language", "en", "Accept-Encoding", "gzip"},
		{"Accept-Language", "pl", "Accept-Encoding", "gzip"},
		{"Accept-Language", "en"},
	}
	for _, h := range reqs {
		w := f.do("GET", "/x", h...)
		r := httpReq(h)
		if want := r.Get("Accept-Language") + "|" + r.Get("Accept-Encoding"); w.Body.String() != want {
			t.Fatalf("%v got %q", h, w.Body)
		}
	}
	expectCalls(t, f.orig, 3)
}

func httpReq(pairs []string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Add(pairs[i], pairs[i+1])
	}
	return h
}

func TestVary_RFC9111_4_1_Normalisation(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"whitespace_around_commas", []string{"Accept-Encoding", "gzip,deflate"}, []string{"Accept-Encoding", "gzip, deflate"}, true},
		{"combined_field_lines", []string{"Accept-Encoding", "gzip", "Accept-Encoding", "deflate"}, []string{"Accept-Encoding", "gzip, deflate"}, true},
		{"absent_differs_from_empty", []string{"Accept-Encoding", ""}, []string{}, false},
		{"different_values", []string{"Accept-Encoding", "gzip"}, []string{"Accept-Encoding", "br"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, echoLang)
			f.do("GET", "/x", tc.a...)
			f.do("GET", "/x", tc.b...)
			want := int64(2)
			if tc.same {
				want = 1
			}
			expectCalls(t, f.orig, want)
		})
	}
}

func TestVary_NewVaryFieldsReplaceVariants(t *testing.T) {
	f := newFixture(t, echoLang)
	f.do("GET", "/x", "Accept-Language", "en")
	f.orig.fn = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "no vary")
	}
	f.do("GET", "/x", "Accept-Language", "pl") // vary-miss, stored without Vary
	if w := f.do("GET", "/x", "Accept-Language", "en"); w.Body.String() != "no vary" {
		t.Fatalf("got %q", w.Body)
	}
	expectCalls(t, f.orig, 2)
}

func TestVary_CacheStatusVaryMiss(t *testing.T) {
	f := newFixture(t, echoLang)
	f.do("GET", "/x", "Accept-Language", "en")
	w := f.do("GET", "/x", "Accept-Language", "de")
	if got := w.Header().Get("Cache-Status"); got != "Larder; fwd=vary-miss; stored; ttl=60" {
		t.Fatalf("Cache-Status %q", got)
	}
}
