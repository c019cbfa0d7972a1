package conditional

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

var (
	t0      = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)
	tBefore = t0.Add(-time.Hour)
	tAfter  = t0.Add(time.Hour)
)

func date(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// hdr builds a header from key/value pairs, adding (not replacing) values.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestEvaluate(t *testing.T) {
	stored := hdr("ETag", `"abc"`, "Last-Modified", date(t0), "Date", date(tAfter))
	storedWeak := hdr("ETag", `W/"abc"`, "Last-Modified", date(t0))
	storedNoLM := hdr("ETag", `"abc"`, "Date", date(t0))
	storedNoValidators := hdr("Content-Type", "text/plain")

	tests := []struct {
		name   string
		method string
		req    http.Header
		status int
		resp   http.Header
		want   Result
	}{
		{"RFC9110_13.2.2_no_preconditions", "GET", hdr("Accept", "*/*"), 200, stored, Proceed},
		{"RFC9110_13.2.2_nil_request_header", "GET", nil, 200, stored, Proceed},
		{"RFC9110_13.2.2_nil_response_header", "GET", hdr("If-None-Match", `"abc"`), 200, nil, Proceed},

		// Step 1: If-Match.
		{"RFC9110_13.1.1_If-Match_strong_match_proceeds", "PUT", hdr("If-Match", `"abc"`), 200, stored, Proceed},
		{"RFC9110_13.1.1_If-Match_mismatch_412", "PUT", hdr("If-Match", `"xyz"`), 200, stored, PreconditionFailed},
		{"RFC9110_13.1.1_If-Match_list_match", "PUT", hdr("If-Match", `"x", "abc"`), 200, stored, Proceed},
		{"RFC9110_13.1.1_If-Match_uses_strong_comparison_weak_member", "PUT", hdr("If-Match", `W/"abc"`), 200, stored, PreconditionFailed},
		{"RFC9110_13.1.1_If-Match_uses_strong_comparison_weak_current", "PUT", hdr("If-Match", `"abc"`), 200, storedWeak, PreconditionFailed},
		{"RFC9110_13.1.1_If-Match_star_with_representation", "PUT", hdr("If-Match", `*`), 200, storedNoValidators, Proceed},
		{"RFC9110_13.1.1_If-Match_no_current_ETag_412", "PUT", hdr("If-Match", `"abc"`), 200, storedNoValidators, PreconditionFailed},
		{"RFC9110_13.1.1_If-Match_invalid_field_is_false_412", "PUT", hdr("If-Match", `abc`), 200, stored, PreconditionFailed},
		{"RFC9110_13.1.1_If-Match_on_GET_412", "GET", hdr("If-Match", `"xyz"`), 200, stored, PreconditionFailed},
		{"RFC9110_13.2.2_If-Match_before_If-None-Match", "GET", hdr("If-Match", `"xyz"`, "If-None-Match", `"abc"`), 200, stored, PreconditionFailed},
		{"RFC9110_13.2.2_If-Match_true_continues_to_If-None-Match", "GET", hdr("If-Match", `"abc"`, "If-None-Match", `"abc"`), 200, stored, NotModified},

		// Step 2: If-Unmodified-Since.
		{"RFC9110_13.1.4_If-Unmodified-Since_equal_proceeds", "PUT", hdr("If-Unmodified-Since", date(t0)), 200, stored, Proceed},
		{"RFC9110_13.1.4_If-Unmodified-Since_later_proceeds", "PUT", hdr("If-Unmodified-Since", date(tAfter)), 200, stored, Proceed},
		{"RFC9110_13.1.4_If-Unmodified-Since_earlier_412", "PUT", hdr("If-Unmodified-Since", date(tBefore)), 200, stored, PreconditionFailed},
		{"RFC9110_13.1.4_If-Unmodified-Since_invalid_date_ignored", "PUT", hdr("If-Unmodified-Since", "yesterday"), 200, stored, Proceed},
		{"RFC9110_13.1.4_If-Unmodified-Since_list_of_dates_ignored", "PUT", hdr("If-Unmodified-Since", date(tBefore)+", "+date(tBefore)), 200, stored, Proceed},
		{"RFC9110_13.1.4_If-Unmodified-Since_two_lines_ignored", "PUT", hdr("If-Unmodified-Since", date(tBefore), "If-Unmodified-Since", date(tBefore)), 200, stored, Proceed},
		{"RFC9110_13.1.4_If-Unmodified-Since_without_Last-Modified_ignored", "PUT", hdr("If-Unmodified-Since", date(tBefore)), 200, storedNoLM, Proceed},
		{"RFC9110_13.1.4_If-Unmodified-Since_ignored_when_If-Match_present", "PUT", hdr("If-Match", `"abc"`, "If-Unmodified-Since", date(tBefore)), 200, stored, Proceed},
		{"RFC9110_13.2.2_If-Unmodified-Since_before_If-None-Match", "GET", hdr("If-Unmodified-Since", date(tBefore), "If-None-Match", `"abc"`), 200, stored, PreconditionFailed},

		// Step 3: If-None-Match.
		{"RFC9110_13.1.2_If-None-Match_match_GET_304", "GET", hdr("If-None-Match", `"abc"`), 200, stored, NotModified},
		{"RFC9110_13.1.2_If-None-Match_match_HEAD_304", "HEAD", hdr("If-None-Match", `"abc"`), 200, stored, NotModified},
		{"RFC9110_13.1.2_If-None-Match_match_PUT_412", "PUT", hdr("If-None-Match", `"abc"`), 200, stored, PreconditionFailed},
		{"RFC9110_13.1.2_If-None-Match_match_POST_412", "POST", hdr("If-None-Match", `"abc"`), 200, stored, PreconditionFailed},
		{"RFC9110_13.1.2_If-None-Match_mismatch_proceeds", "GET", hdr("If-None-Match", `"xyz"`), 200, stored, Proceed},
		{"RFC9110_13.1.2_If-None-Match_weak_comparison", "GET", hdr("If-None-Match", `W/"abc"`), 200, stored, NotModified},
		{"RFC9110_13.1.2_If-None-Match_weak_current", "GET", hdr("If-None-Match", `"abc"`), 200, storedWeak, NotModified},
		{"RFC9110_13.1.2_If-None-Match_list", "GET", hdr("If-None-Match", `"1", "2"`, "If-None-Match", `"abc"`), 200, stored, NotModified},
		{"RFC9110_13.1.2_If-None-Match_star_GET_304", "GET", hdr("If-None-Match", `*`), 200, storedNoValidators, NotModified},
		{"RFC9110_13.1.2_If-None-Match_star_PUT_412", "PUT", hdr("If-None-Match", `*`), 200, storedNoValidators, PreconditionFailed},
		{"RFC9110_13.1.2_If-None-Match_no_current_ETag_proceeds", "GET", hdr("If-None-Match", `"abc"`), 200, storedNoValidators, Proceed},
		{"RFC9110_13.1.2_If-None-Match_invalid_field_is_true", "GET", hdr("If-None-Match", `abc`), 200, stored, Proceed},
		{"RFC9110_8.8.3_ETag_with_several_field_lines_unusable", "GET", hdr("If-None-Match", `"abc"`), 200, hdr("ETag", `"abc"`, "ETag", `"def"`), Proceed},
		{"RFC9110_8.8.3_non-canonical_ETag_key", "GET", hdr("If-None-Match", `"abc"`), 200, http.Header{"ETag": {`"abc"`}}, NotModified},

		// Step 4: If-Modified-Since.
		{"RFC9110_13.1.3_If-Modified-Since_equal_304", "GET", hdr("If-Modified-Since", date(t0)), 200, stored, NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_later_304", "GET", hdr("If-Modified-Since", date(tAfter)), 200, stored, NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_earlier_proceeds", "GET", hdr("If-Modified-Since", date(tBefore)), 200, stored, Proceed},
		{"RFC9110_13.1.3_If-Modified-Since_HEAD_304", "HEAD", hdr("If-Modified-Since", date(t0)), 200, stored, NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_ignored_for_POST", "POST", hdr("If-Modified-Since", date(t0)), 200, stored, Proceed},
		{"RFC9110_13.1.3_If-Modified-Since_invalid_date_ignored", "GET", hdr("If-Modified-Since", "not a date"), 200, stored, Proceed},
		{"RFC9110_13.1.3_If-Modified-Since_two_members_ignored", "GET", hdr("If-Modified-Since", date(t0), "If-Modified-Since", date(t0)), 200, stored, Proceed},
		{"RFC9110_13.1.3_If-Modified-Since_rfc850_date", "GET", hdr("If-Modified-Since", t0.Format("Monday, 02-Jan-06 15:04:05 GMT")), 200, stored, NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_asctime_date", "GET", hdr("If-Modified-Since", t0.Format(time.ANSIC)), 200, stored, NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_OWS_trimmed", "GET", hdr("If-Modified-Since", " "+date(t0)+" "), 200, stored, NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_ignored_when_If-None-Match_present", "GET", hdr("If-None-Match", `"xyz"`, "If-Modified-Since", date(tAfter)), 200, stored, Proceed},
		{"RFC9110_13.2.2_If-None-Match_before_If-Modified-Since", "GET", hdr("If-None-Match", `"abc"`, "If-Modified-Since", date(tBefore)), 200, stored, NotModified},
		{"RFC9111_4.3.2_If-Modified-Since_uses_Date_without_Last-Modified_304", "GET", hdr("If-Modified-Since", date(tBefore)), 200, hdr("Date", date(tBefore)), NotModified},
		{"RFC9111_4.3.2_If-Modified-Since_uses_Date_without_Last-Modified_newer", "GET", hdr("If-Modified-Since", date(tBefore)), 200, storedNoLM, Proceed},
		{"RFC9111_4.3.2_If-Modified-Since_uses_Date_when_Last-Modified_invalid", "GET", hdr("If-Modified-Since", date(t0)), 200, hdr("Last-Modified", "garbage", "Date", date(tBefore)), NotModified},
		{"RFC9110_13.1.3_If-Modified-Since_no_modification_date_ignored", "GET", hdr("If-Modified-Since", date(tAfter)), 200, storedNoValidators, Proceed},

		// When to evaluate.
		{"RFC9110_13.2.1_non-2xx_ignores_If-None-Match", "GET", hdr("If-None-Match", `"abc"`), 404, stored, Proceed},
		{"RFC9110_13.2.1_non-2xx_ignores_If-Match", "PUT", hdr("If-Match", `"xyz"`), 301, stored, Proceed},
		{"RFC9110_13.2.1_1xx_ignored", "GET", hdr("If-None-Match", `"abc"`), 100, stored, Proceed},
		{"RFC9110_13.2.1_206_evaluated", "GET", hdr("If-None-Match", `"abc"`), 206, stored, NotModified},
		{"RFC9110_13.2.1_OPTIONS_ignores_preconditions", "OPTIONS", hdr("If-Match", `"xyz"`), 200, stored, Proceed},
		{"RFC9110_13.2.1_TRACE_ignores_preconditions", "TRACE", hdr("If-None-Match", `*`), 200, stored, Proceed},
		{"RFC9110_13.2.1_CONNECT_ignores_preconditions", "CONNECT", hdr("If-None-Match", `*`), 200, stored, Proceed},
		{"RFC9110_9.1_methods_are_case-sensitive", "get", hdr("If-Modified-Since", date(t0)), 200, stored, Proceed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.method, tt.req, tt.status, tt.resp); got != tt.want {
				t.Fatalf("Evaluate = %v; want %v", got, tt.want)
			}
			if got := EvaluateValidators(tt.method, tt.req, tt.status, ValidatorsOf(tt.resp)); got != tt.want {
				t.Fatalf("EvaluateValidators = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluateCache(t *testing.T) {
	stored := hdr("ETag", `"abc"`, "Last-Modified", date(t0), "Date", date(tAfter))
	tests := []struct {
		name   string
		method string
		req    http.Header
		want   Result
	}{
		{"RFC9111_4.3.2_cache_ignores_If-Match", "GET", hdr("If-Match", `"xyz"`), Proceed},
		{"RFC9111_4.3.2_cache_ignores_If-Unmodified-Since", "GET", hdr("If-Unmodified-Since", date(tBefore)), Proceed},
		{"RFC9111_4.3.2_cache_ignores_If-Match_then_If-None-Match", "GET", hdr("If-Match", `"xyz"`, "If-None-Match", `"abc"`), NotModified},
		{"RFC9111_4.3.2_If-None-Match_precedes_If-Modified-Since", "GET", hdr("If-None-Match", `"xyz"`, "If-Modified-Since", date(tAfter)), Proceed},
		{"RFC9111_4.3.2_If-Modified-Since", "GET", hdr("If-Modified-Since", date(t0)), NotModified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EvaluateCache(tt.method, tt.req, 200, stored); got != tt.want {
				t.Fatalf("EvaluateCache = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestNotModifiedHeader(t *testing.T) {
	full := hdr(
		"Cache-Control", "max-age=60",
		"Content-Location", "/a.en",
		"Date", date(t0),
		"Expires", date(tAfter),
		"ETag", `"abc"`,
		"Vary", "Accept",
		"Vary", "Accept-Language",
		"Last-Modified", date(tBefore),
		"Content-Type", "text/html",
		"Content-Length", "123",
		"Set-Cookie", "a=b",
	)
	noETag := hdr("Date", date(t0), "Last-Modified", date(tBefore), "Content-Type", "text/html")
	tests := []struct {
		name string
		src  http.Header
		want http.Header
	}{
		{"RFC9110_15.4.5_must_fields_and_no_other_metadata", full, hdr(
			"Cache-Control", "max-age=60",
			"Content-Location", "/a.en",
			"Date", date(t0),
			"Expires", date(tAfter),
			"ETag", `"abc"`,
			"Vary", "Accept",
			"Vary", "Accept-Language",
		)},
		{"RFC9110_15.4.5_Last-Modified_only_without_ETag", noETag, hdr("Date", date(t0), "Last-Modified", date(tBefore))},
		{"RFC9110_15.4.5_non-canonical_ETag_key", http.Header{"ETag": {`"x"`}, "Last-Modified": {date(t0)}}, http.Header{"Etag": {`"x"`}}},
		{"RFC9110_15.4.5_empty_source", http.Header{}, http.Header{}},
		{"RFC9110_15.4.5_nil_source", nil, http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := http.Header{}
			NotModifiedHeader(dst, tt.src)
			if !reflect.DeepEqual(dst, tt.want) {
				t.Fatalf("NotModifiedHeader = %v; want %v", dst, tt.want)
			}
		})
	}
	t.Run("RFC9110_15.4.5_shares_source_slices", func(t *testing.T) {
		dst := http.Header{}
		NotModifiedHeader(dst, full)
		if &dst["Vary"][0] != &full["Vary"][0] {
			t.Fatal("Vary slice was copied")
		}
	})
	t.Run("RFC9110_15.4.5_nil_destination_is_a_no-op", func(t *testing.T) {
		NotModifiedHeader(nil, full)
	})
	t.Run("RFC9110_15.4.5_does_not_allocate", func(t *testing.T) {
		dst := make(http.Header, 8)
		if n := testing.AllocsPerRun(100, func() { NotModifiedHeader(dst, full) }); n != 0 {
			t.Fatalf("allocates %v times", n)
		}
	})
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Proceed: "Proceed", NotModified: "NotModified", PreconditionFailed: "PreconditionFailed", 7: "Result(?)"} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q; want %q", int(r), got, want)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	stored := hdr("ETag", `"abc"`, "Last-Modified", date(t0), "Date", date(tAfter))
	cases := []struct {
		name string
		req  http.Header
	}{
		{"If-None-Match", hdr("If-None-Match", `"x", "abc"`)},
		{"If-Modified-Since", hdr("If-Modified-Since", date(t0))},
		{"none", hdr("Accept", "*/*")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate("GET", c.req, 200, stored)
			}
		})
	}
}
