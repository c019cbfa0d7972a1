package larder

import (
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

func TestGatherFields(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want reqFields
	}{
		{"none", http.Header{"Accept": {"*/*"}}, reqFields{}},
		{"nil header", nil, reqFields{}},
		{"RFC9111_5.2_cache_control_and_pragma",
			http.Header{"Cache-Control": {"max-age=0", "no-transform"}, "Pragma": {"no-cache"}},
			reqFields{cacheControl: []string{"max-age=0", "no-transform"}, pragma: []string{"no-cache"}}},
		{"RFC9110_13.1.1_If-Match", http.Header{"If-Match": {`"a"`}},
			reqFields{ifMatch: true, conditional: true}},
		{"RFC9110_13.1.2_If-None-Match", http.Header{"If-None-Match": {`"a"`}},
			reqFields{ifNoneMatch: []string{`"a"`}, conditional: true}},
		{"RFC9110_13.1.2_present_but_empty", http.Header{"If-None-Match": {""}},
			reqFields{ifNoneMatch: []string{""}, conditional: true}},
		{"RFC9110_13.1.3_If-Modified-Since", http.Header{"If-Modified-Since": {"Sat, 28 Nov 2026 06:00:00 GMT"}},
			reqFields{conditional: true}},
		{"RFC9110_13.1.4_If-Unmodified-Since", http.Header{"If-Unmodified-Since": {"Sat, 28 Nov 2026 06:00:00 GMT"}},
			reqFields{ifUnmodified: true, conditional: true}},
		{"RFC9110_13.1.5_If-Range_alone_is_not_a_precondition",
			http.Header{"Range": {"bytes=0-1"}, "If-Range": {`"a"`}},
			reqFields{rangeV: []string{"bytes=0-1"}, ifRange: []string{`"a"`}}},
		{"RFC9110_7.8_Upgrade", http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}},
			reqFields{upgrade: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gatherFields(tt.h); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("small header: got %+v, want %+v", got, tt.want)
			}
			// The same fields among many others: the lookup path.
			big := http.Header{}
			for k, v := range tt.h {
				big[k] = v
			}
			for i := 0; len(big) <= smallHeader; i++ {
				big["X-Other-"+strconv.Itoa(i)] = []string{"v"}
			}
			if got := gatherFields(big); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("large header: got %+v, want %+v", got, tt.want)
			}
		})
	}
}
