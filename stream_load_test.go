package larder

import (
	"net/http"
	"testing"
)

// TestLoadBodyMissing: a stale response whose body is neither in memory
// nor open in the store (its Content-Length says it has one) cannot be
// refreshed as it is: loadBody reports false, so it is fetched anew rather
// than stored again with an empty body.
func TestLoadBodyMissing(t *testing.T) {
	c := New(nil)
	for _, tc := range []struct {
		name string
		e    *Entry
		want bool
	}{
		{"body in memory", &Entry{Kind: KindResponse, Status: 200, Header: http.Header{"Content-Length": {"3"}}, Body: []byte("abc")}, true},
		{"body missing", &Entry{Kind: KindResponse, Status: 200, Header: http.Header{"Content-Length": {"3"}}}, false},
		{"no Content-Length", &Entry{Kind: KindResponse, Status: 200, Header: http.Header{}, Body: []byte("abc")}, true},
		{"204", &Entry{Kind: KindResponse, Status: 204, Header: http.Header{"Content-Length": {"3"}}}, true},
	} {
		x := &exchange{c: c, stale: tc.e}
		if got := x.loadBody(); got != tc.want {
			t.Errorf("%s: loadBody() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
