package freshness

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/larder-cache/larder/internal/cachecontrol"
)

var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

func date(d time.Duration) string { return t0.Add(d).Format(http.TimeFormat) }

// hdr builds a header from name/value pairs; repeated names add lines.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

const maxLifetime = cachecontrol.MaxDelta * time.Second

func TestLifetime(t *testing.T) {
	custom := Heuristic{Fraction: 0.5, Max: time.Hour}
	tests := []struct {
		name         string
		status       int
		h            http.Header
		shared       bool
		hz           Heuristic
		want         time.Duration
		wantExplicit bool
	}{
		{"RFC9111_4.2.1_max-age", 200, hdr("Cache-Control", "max-age=3600"), false, Heuristic{}, time.Hour, true},
		{"RFC9111_4.2.1_s-maxage_overrides_max-age_in_shared_cache", 200, hdr("Cache-Control", "max-age=3600, s-maxage=1"), true, Heuristic{}, time.Second, true},
		{"RFC9111_4.2.1_s-maxage_overrides_shorter_max-age_in_shared_cache", 200, hdr("Cache-Control", "max-age=1, s-maxage=3600"), true, Heuristic{}, time.Hour, true},
		{"RFC9111_4.2.1_s-maxage_on_separate_line", 200, hdr("Cache-Control", "max-age=3600", "Cache-Control", "s-maxage=1"), true, Heuristic{}, time.Second, true},
		{"RFC9111_4.2.1_s-maxage_ignored_by_private_cache", 200, hdr("Cache-Control", "s-maxage=3600, max-age=1"), false, Heuristic{}, time.Second, true},
		{"RFC9111_4.2.1_s-maxage_alone_ignored_by_private_cache", 200, hdr("Cache-Control", "s-maxage=3600"), false, Heuristic{Disabled: true}, 0, false},
		{"RFC9111_4.2.1_invalid_s-maxage_is_stale_in_shared_cache", 200, hdr("Cache-Control", "s-maxage=x, max-age=3600"), true, Heuristic{}, 0, true},
		{"RFC9111_5.3_max-age_overrides_past_Expires", 200, hdr("Cache-Control", "max-age=3600", "Expires", date(-10000*time.Second), "Date", date(0)), false, Heuristic{}, time.Hour, true},
		{"RFC9111_5.3_max-age_overrides_invalid_Expires", 200, hdr("Cache-Control", "max-age=3600", "Expires", "0", "Date", date(0)), false, Heuristic{}, time.Hour, true},
		{"RFC9111_5.3_max-age_0_overrides_future_Expires", 200, hdr("Cache-Control", "max-age=0", "Expires", date(10000*time.Second), "Date", date(0)), false, Heuristic{}, 0, true},
		{"RFC9111_5.3_s-maxage_overrides_Expires_in_shared_cache", 200, hdr("Cache-Control", "s-maxage=60", "Expires", date(time.Hour)), true, Heuristic{}, time.Minute, true},
		{"RFC9111_4.2.1_invalid_max-age_is_stale", 200, hdr("Cache-Control", "max-age=a100"), false, Heuristic{}, 0, true},
		{"RFC9111_4.2.1_invalid_max-age_is_stale_despite_Expires", 200, hdr("Cache-Control", "max-age=-100", "Expires", date(time.Hour)), false, Heuristic{}, 0, true},
		{"RFC9111_4.2.1_invalid_max-age_is_stale_despite_heuristic", 200, hdr("Cache-Control", "max-age=1.5", "Last-Modified", date(-24*time.Hour)), false, Heuristic{}, 0, true},
		{"RFC9111_4.2.1_max-age_2147483648", 200, hdr("Cache-Control", "max-age=99999999999"), false, Heuristic{}, maxLifetime, true},
		{"RFC9111_4.2.1_Expires_minus_Date", 200, hdr("Expires", date(30*24*time.Hour), "Date", date(0)), false, Heuristic{}, 30 * 24 * time.Hour, true},
		{"RFC9111_4.2.1_Expires_minus_Date_not_response_time", 200, hdr("Expires", date(100*time.Second), "Date", date(-100*time.Second)), false, Heuristic{}, 200 * time.Second, true},
		{"RFC9111_4.2.1_Expires_minus_response_time_without_Date", 200, hdr("Expires", date(10*time.Second)), false, Heuristic{}, 10 * time.Second, true},
		{"RFC9111_4.2.1_Expires_minus_response_time_with_invalid_Date", 200, hdr("Date", "foo", "Expires", date(10*time.Second)), false, Heuristic{}, 10 * time.Second, true},
		{"RFC9111_5.3_past_Expires_is_stale", 200, hdr("Expires", date(-30*24*time.Hour), "Date", date(0)), false, Heuristic{}, 0, true},
		{"RFC9111_5.3_Expires_equal_to_Date_is_stale", 200, hdr("Expires", date(0), "Date", date(0)), false, Heuristic{}, 0, true},
		{"RFC9111_5.3_Expires_older_than_Date_is_stale", 200, hdr("Expires", date(300*time.Second), "Date", date(400*time.Second)), false, Heuristic{}, 0, true},
		{"RFC9111_5.3_invalid_Expires_0_is_expired", 200, hdr("Expires", "0", "Date", date(0), "Last-Modified", date(-24*time.Hour)), false, Heuristic{}, 0, true},
		{"RFC9111_5.3_invalid_Expires_UTC_is_expired", 200, hdr("Expires", "Thu, 18 Aug 2050 02:01:18 UTC", "Date", date(0)), false, Heuristic{}, 0, true},
		{"RFC9111_5.3_empty_Expires_is_expired", 200, hdr("Expires", "", "Date", date(0)), false, Heuristic{}, 0, true},
		{"RFC9111_4.2_Expires_wrong_case_accepted", 200, hdr("Expires", "THU, 18 AUG 2050 02:01:18 gMT", "Date", date(0)), false, Heuristic{}, time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC).Sub(t0), true},
		{"RFC9111_4.2.1_first_of_multiple_Expires_used", 200, hdr("Expires", date(100*time.Second), "Expires", date(-100*time.Second), "Date", date(0)), false, Heuristic{}, 100 * time.Second, true},
		{"RFC9111_4.2.1_first_of_multiple_Expires_used_past_first", 200, hdr("Expires", date(-100*time.Second), "Expires", date(100*time.Second), "Date", date(0)), false, Heuristic{}, 0, true},
		{"RFC9111_1.2.2_far_Expires_clamped_to_2147483648", 200, hdr("Expires", "Fri, 31 Dec 9999 23:59:59 GMT", "Date", date(0)), false, Heuristic{}, maxLifetime, true},
		{"RFC9110_5.6.7_Expires_rfc850_format", 200, hdr("Expires", "Monday, 01-Jan-24 13:00:00 GMT", "Date", date(0)), false, Heuristic{}, time.Hour, true},
		{"RFC9110_5.6.7_Expires_asctime_format", 200, hdr("Expires", "Mon Jan  1 13:00:00 2024", "Date", date(0)), false, Heuristic{}, time.Hour, true},
		{"RFC9111_4.2.2_heuristic_10_percent_of_Last-Modified_interval", 200, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 144 * time.Minute, false},
		{"RFC9111_4.2.2_heuristic_capped_at_default_max", 200, hdr("Last-Modified", date(-1000*24*time.Hour), "Date", date(0)), false, Heuristic{}, 24 * time.Hour, false},
		{"RFC9111_4.2.2_heuristic_custom_fraction", 200, hdr("Last-Modified", date(-time.Hour), "Date", date(0)), false, custom, 30 * time.Minute, false},
		{"RFC9111_4.2.2_heuristic_custom_max", 200, hdr("Last-Modified", date(-10*time.Hour), "Date", date(0)), false, custom, time.Hour, false},
		{"RFC9111_4.2.2_heuristic_NaN_fraction_uses_default", 200, hdr("Last-Modified", date(-time.Hour), "Date", date(0)), false, Heuristic{Fraction: math.NaN()}, 6 * time.Minute, false},
		{"RFC9111_4.2.2_heuristic_infinite_fraction_capped", 200, hdr("Last-Modified", date(-time.Hour), "Date", date(0)), false, Heuristic{Fraction: math.Inf(1)}, 24 * time.Hour, false},
		{"RFC9111_4.2.2_heuristic_disabled", 200, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{Disabled: true}, 0, false},
		{"RFC9111_4.2.2_heuristic_uses_response_time_without_Date", 200, hdr("Last-Modified", date(-10*time.Hour)), false, Heuristic{}, time.Hour, false},
		{"RFC9111_4.2.2_no_heuristic_without_Last-Modified", 200, hdr("Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_with_invalid_Last-Modified", 200, hdr("Last-Modified", "yesterday", "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_with_future_Last-Modified", 200, hdr("Last-Modified", date(time.Hour), "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_for_201", 201, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_for_302", 302, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_for_403", 403, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_for_502", 502, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_4.2.2_no_heuristic_for_599_without_public", 599, hdr("Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 0, false},
		{"RFC9111_5.2.2.9_public_makes_599_heuristically_cacheable", 599, hdr("Cache-Control", "public", "Last-Modified", date(-24*time.Hour), "Date", date(0)), false, Heuristic{}, 144 * time.Minute, false},
		{"RFC9111_4.2.2_heuristic_despite_response_Pragma", 200, hdr("Pragma", "no-cache", "Last-Modified", date(-10*time.Hour), "Date", date(0)), false, Heuristic{}, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := cachecontrol.Parse(tt.h, "Cache-Control")
			got, explicit := Lifetime(tt.status, tt.h, cc, tt.shared, t0, tt.hz)
			if got != tt.want || explicit != tt.wantExplicit {
				t.Errorf("Lifetime() = %v, %v; want %v, %v", got, explicit, tt.want, tt.wantExplicit)
			}
		})
	}
}

func TestLifetimeHeuristicStatuses(t *testing.T) {
	h := hdr("Last-Modified", date(-10*time.Hour), "Date", date(0))
	for _, status := range []int{200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501} {
		t.Run("RFC9110_15.1_heuristically_cacheable_"+http.StatusText(status), func(t *testing.T) {
			if got, explicit := Lifetime(status, h, cachecontrol.Directives{}, true, t0, DefaultHeuristic); got != time.Hour || explicit {
				t.Errorf("Lifetime(%d) = %v, %v; want 1h, false", status, got, explicit)
			}
		})
	}
}

func TestLifetimeTargeted(t *testing.T) {
	targets := []string{"Cdn-Cache-Control"}
	tests := []struct {
		name         string
		h            http.Header
		want         time.Duration
		wantExplicit bool
	}{
		{"RFC9213_2.2_targeted_max-age_ignores_past_Expires", hdr("Cdn-Cache-Control", "max-age=3600", "Expires", date(-10000*time.Second), "Date", date(0)), time.Hour, true},
		{"RFC9213_2.2_targeted_max-age_ignores_invalid_Expires", hdr("Cdn-Cache-Control", "max-age=3600", "Expires", "0", "Date", date(0)), time.Hour, true},
		{"RFC9213_2.2_targeted_max-age_0_ignores_future_Expires", hdr("Cdn-Cache-Control", "max-age=0", "Expires", date(10000*time.Second), "Date", date(0)), 0, true},
		{"RFC9213_2.2_targeted_field_without_max-age_ignores_Expires", hdr("Cdn-Cache-Control", "none", "Expires", date(time.Hour), "Date", date(0)), 0, false},
		{"RFC9213_2.2_targeted_field_replaces_cache-control_max-age", hdr("Cdn-Cache-Control", "max-age=1", "Cache-Control", "max-age=3600"), time.Second, true},
		{"RFC9213_2.2_targeted_s-maxage_in_shared_cache", hdr("Cdn-Cache-Control", "max-age=10, s-maxage=20"), 20 * time.Second, true},
		{"RFC9213_2.2_invalid_targeted_field_falls_back_to_Expires", hdr("Cdn-Cache-Control", "max-age=\"10\"", "Expires", date(time.Hour), "Date", date(0)), time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, _ := cachecontrol.ParseTargeted(tt.h, targets)
			got, explicit := Lifetime(200, tt.h, cc, true, t0, DefaultHeuristic)
			if got != tt.want || explicit != tt.wantExplicit {
				t.Errorf("Lifetime() = %v, %v; want %v, %v", got, explicit, tt.want, tt.wantExplicit)
			}
		})
	}
}

func TestInitialAge(t *testing.T) {
	req := t0.Add(-2 * time.Second) // response_delay is 2s
	tests := []struct {
		name    string
		h       http.Header
		reqTime time.Time
		want    time.Duration
	}{
		{"RFC9111_4.2.3_no_Age_is_response_delay", hdr("Date", date(0)), req, 2 * time.Second},
		{"RFC9111_4.2.3_Age_plus_response_delay", hdr("Date", date(0), "Age", "100"), req, 102 * time.Second},
		{"RFC9111_4.2.3_apparent_age_when_larger", hdr("Date", date(-100*time.Second)), req, 100 * time.Second},
		{"RFC9111_4.2.3_corrected_age_when_larger", hdr("Date", date(-10*time.Second), "Age", "25"), req, 27 * time.Second},
		{"RFC9111_4.2.3_fast_Date_gives_no_apparent_age", hdr("Date", date(10*time.Second), "Age", "15"), req, 17 * time.Second},
		{"RFC9111_4.2.3_invalid_Date_gives_no_apparent_age", hdr("Date", "foo", "Age", "5"), req, 7 * time.Second},
		{"RFC9111_4.2.3_no_Date", hdr("Age", "5"), req, 7 * time.Second},
		{"RFC9111_4.2.3_zero_request_time_gives_no_delay", hdr("Age", "5"), time.Time{}, 5 * time.Second},
		{"RFC9111_4.2.3_request_after_response_gives_no_delay", hdr("Age", "5"), t0.Add(time.Hour), 5 * time.Second},
		{"RFC9111_5.1_leading_zeros", hdr("Age", "0010"), t0, 10 * time.Second},
		{"RFC9111_5.1_non-numeric_Age_ignored", hdr("Age", "abc"), req, 2 * time.Second},
		{"RFC9111_5.1_negative_Age_ignored", hdr("Age", "-7200"), req, 2 * time.Second},
		{"RFC9111_5.1_float_Age_ignored", hdr("Age", "7200.0"), req, 2 * time.Second},
		{"RFC9111_5.1_empty_Age_ignored", hdr("Age", ""), req, 2 * time.Second},
		{"RFC9111_5.1_list_Age_uses_first_member_suffix", hdr("Age", "7200,0"), req, 7202 * time.Second},
		{"RFC9111_5.1_list_Age_uses_first_member_prefix", hdr("Age", "0,7200"), req, 2 * time.Second},
		{"RFC9111_5.1_list_Age_duplicate_value", hdr("Age", "7200, 7200"), req, 7202 * time.Second},
		{"RFC9111_5.1_two_Age_lines_use_first_suffix", hdr("Age", "7200", "Age", "0"), req, 7202 * time.Second},
		{"RFC9111_5.1_two_Age_lines_use_first_prefix", hdr("Age", "0", "Age", "7200"), req, 2 * time.Second},
		{"RFC9110_5.6.1.2_empty_Age_members_skipped", hdr("Age", " , 30"), req, 32 * time.Second},
		{"RFC9111_5.1_invalid_first_member_ignores_field", hdr("Age", "x, 30"), req, 2 * time.Second},
		{"RFC9111_1.2.2_huge_Age_clamped", hdr("Age", "99999999999999999999999"), req, maxLifetime},
		{"RFC9111_1.2.2_huge_Age_and_delay_clamped", hdr("Age", "2147483648"), time.Unix(0, 0), maxLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InitialAge(tt.h, tt.reqTime, t0); got != tt.want {
				t.Errorf("InitialAge() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCurrentAge(t *testing.T) {
	tests := []struct {
		name    string
		initial time.Duration
		now     time.Time
		want    time.Duration
	}{
		{"RFC9111_4.2.3_initial_age_plus_resident_time", 10 * time.Second, t0.Add(5 * time.Second), 15 * time.Second},
		{"RFC9111_4.2.3_no_resident_time_at_receipt", 10 * time.Second, t0, 10 * time.Second},
		{"RFC9111_4.2.3_clock_going_back_is_not_negative", 10 * time.Second, t0.Add(-time.Hour), 10 * time.Second},
		{"RFC9111_4.2.3_negative_initial_age_is_zero", -time.Hour, t0.Add(-2 * time.Hour), 0},
		{"RFC9111_1.2.2_overflow_clamped", maxLifetime, t0.Add(maxLifetime), maxLifetime},
		{"RFC9111_1.2.2_duration_overflow_saturates", math.MaxInt64, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), maxLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CurrentAge(tt.initial, t0, tt.now); got != tt.want {
				t.Errorf("CurrentAge() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name    string
		req     http.Header
		resp    string
		shared  bool
		age, lt time.Duration
		want    Decision
	}{
		{"RFC9111_4.2_fresh_when_lifetime_exceeds_age", nil, "max-age=10", true, 5 * s, 10 * s, Fresh},
		{"RFC9111_4.2_stale_when_age_equals_lifetime", nil, "max-age=10", true, 10 * s, 10 * s, MustValidate},
		{"RFC9111_4.2_zero_lifetime_is_stale", nil, "max-age=0", true, 0, 0, MustValidate},
		{"RFC9111_4.2.4_stale_without_permission_must_validate", nil, "max-age=1", true, 10 * s, s, MustValidate},
		{"RFC9111_5.2.1.4_request_no-cache_must_validate", hdr("Cache-Control", "no-cache"), "max-age=3600", true, 0, 3600 * s, MustValidate},
		{"RFC9111_5.4_request_Pragma_no-cache_must_validate", hdr("Pragma", "no-cache"), "max-age=3600", true, 0, 3600 * s, MustValidate},
		{"RFC9111_5.4_request_Pragma_ignored_with_Cache-Control", hdr("Pragma", "no-cache", "Cache-Control", "max-stale"), "max-age=3600", true, 0, 3600 * s, Fresh},
		{"RFC9111_5.2.2.4_response_no-cache_must_validate_even_fresh", nil, "max-age=10000, no-cache", true, 0, 10000 * s, MustValidate},
		{"RFC9111_5.2.2.4_response_no-cache_beats_max-stale", hdr("Cache-Control", "max-stale"), "max-age=1, no-cache", false, 10 * s, s, MustValidate},
		{"RFC9111_5.2.2.4_qualified_no-cache_does_not_force_validation", nil, `no-cache="a", max-age=3600`, true, 0, 3600 * s, Fresh},
		{"RFC9111_5.2.1.1_request_max-age_exceeded_must_validate", hdr("Cache-Control", "max-age=600"), "max-age=3600", true, 1800 * s, 3600 * s, MustValidate},
		{"RFC9111_5.2.1.1_request_max-age_0_must_validate_aged_response", hdr("Cache-Control", "max-age=0"), "max-age=3600", true, s, 3600 * s, MustValidate},
		{"RFC9111_5.2.1.1_request_max-age_equal_to_age_is_fresh", hdr("Cache-Control", "max-age=30"), "max-age=3600", true, 30 * s, 3600 * s, Fresh},
		{"RFC9111_5.2.1.1_request_max-age_exceeded_beats_max-stale", hdr("Cache-Control", "max-age=5, max-stale"), "max-age=1", true, 10 * s, s, MustValidate},
		{"RFC9111_5.2.1.1_invalid_request_max-age_ignored", hdr("Cache-Control", "max-age=x"), "max-age=3600", true, 1800 * s, 3600 * s, Fresh},
		{"RFC9111_5.2.1.3_min-fresh_not_met_must_validate", hdr("Cache-Control", "min-fresh=2000"), "max-age=1500", true, 0, 1500 * s, MustValidate},
		{"RFC9111_5.2.1.3_min-fresh_not_met_with_age_must_validate", hdr("Cache-Control", "min-fresh=1000"), "max-age=1500", true, 1000 * s, 1500 * s, MustValidate},
		{"RFC9111_5.2.1.3_min-fresh_met_is_fresh", hdr("Cache-Control", "min-fresh=500"), "max-age=1500", true, 1000 * s, 1500 * s, Fresh},
		{"RFC9111_4.2.1_min-fresh_not_met_beats_max-stale", hdr("Cache-Control", "min-fresh=100, max-stale"), "max-age=1500", true, 1450 * s, 1500 * s, MustValidate},
		{"RFC9111_5.2.1.2_max-stale_allows_stale", hdr("Cache-Control", "max-stale=1000"), "max-age=1", true, 10 * s, s, StaleAllowed},
		{"RFC9111_5.2.1.2_max-stale_allows_stale_aged_response", hdr("Cache-Control", "max-stale=1000"), "max-age=1500", true, 2000 * s, 1500 * s, StaleAllowed},
		{"RFC9111_5.2.1.2_max-stale_boundary_allowed", hdr("Cache-Control", "max-stale=9"), "max-age=1", true, 10 * s, s, StaleAllowed},
		{"RFC9111_5.2.1.2_max-stale_exceeded_must_validate", hdr("Cache-Control", "max-stale=5"), "max-age=1", true, 10 * s, s, MustValidate},
		{"RFC9111_5.2.1.2_max-stale_without_value_allows_any", hdr("Cache-Control", "max-stale"), "max-age=1", true, 1e6 * s, s, StaleAllowed},
		{"RFC9111_5.2.1.2_invalid_max-stale_ignored", hdr("Cache-Control", "max-stale=x"), "max-age=1", true, 10 * s, s, MustValidate},
		{"RFC9111_5.2.2.2_must-revalidate_fresh_is_fresh", nil, "max-age=10000, must-revalidate", true, 0, 10000 * s, Fresh},
		{"RFC9111_5.2.2.2_must-revalidate_blocks_max-stale", hdr("Cache-Control", "max-stale"), "max-age=1, must-revalidate", false, 10 * s, s, MustValidate},
		{"RFC9111_5.2.2.8_proxy-revalidate_blocks_max-stale_in_shared_cache", hdr("Cache-Control", "max-stale"), "max-age=1, proxy-revalidate", true, 10 * s, s, MustValidate},
		{"RFC9111_5.2.2.8_proxy-revalidate_ignored_by_private_cache", hdr("Cache-Control", "max-stale"), "max-age=1, proxy-revalidate", false, 10 * s, s, StaleAllowed},
		{"RFC9111_5.2.2.10_s-maxage_blocks_max-stale_in_shared_cache", hdr("Cache-Control", "max-stale"), "s-maxage=1", true, 10 * s, s, MustValidate},
		{"RFC9111_5.2.2.10_s-maxage_ignored_by_private_cache", hdr("Cache-Control", "max-stale"), "max-age=1, s-maxage=1", false, 10 * s, s, StaleAllowed},
		{"RFC9111_4.2_negative_age_treated_as_zero", nil, "max-age=10", true, -time.Hour, 10 * s, Fresh},
		{"RFC9111_4.2_huge_inputs_do_not_overflow", hdr("Cache-Control", "max-stale"), "max-age=1", false, math.MaxInt64, math.MinInt64, StaleAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := cachecontrol.ParseRequest(tt.req)
			resp := cachecontrol.Parse(hdr("Cache-Control", tt.resp), "Cache-Control")
			if got := Check(tt.age, tt.lt, req, resp, tt.shared); got != tt.want {
				t.Errorf("Check() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStaleProhibited(t *testing.T) {
	tests := []struct {
		name   string
		resp   string
		shared bool
		want   bool
	}{
		{"RFC9111_4.2.4_plain_response_may_be_served_stale", "max-age=1", true, false},
		{"RFC9111_5.2.2.2_must-revalidate_prohibits", "max-age=1, must-revalidate", false, true},
		{"RFC9111_5.2.2.4_no-cache_prohibits", "no-cache", false, true},
		{"RFC9111_5.2.2.4_qualified_no-cache_does_not_prohibit", `no-cache="a"`, false, false},
		{"RFC9111_5.2.2.8_proxy-revalidate_prohibits_shared", "proxy-revalidate", true, true},
		{"RFC9111_5.2.2.8_proxy-revalidate_allows_private", "proxy-revalidate", false, false},
		{"RFC9111_5.2.2.10_s-maxage_prohibits_shared", "s-maxage=2", true, true},
		{"RFC9111_5.2.2.10_invalid_s-maxage_prohibits_shared", "s-maxage=x", true, true},
		{"RFC9111_5.2.2.10_s-maxage_allows_private", "s-maxage=2", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := cachecontrol.Parse(hdr("Cache-Control", tt.resp), "Cache-Control")
			if got := StaleProhibited(cc, tt.shared); got != tt.want {
				t.Errorf("StaleProhibited(%q, %v) = %v, want %v", tt.resp, tt.shared, got, tt.want)
			}
		})
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		name string
		d    Decision
		want string
	}{
		{"fresh", Fresh, "fresh"},
		{"stale-allowed", StaleAllowed, "stale-allowed"},
		{"must-validate", MustValidate, "must-validate"},
		{"unknown", Decision(42), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHotPathAllocations(t *testing.T) {
	h := hdr("Cache-Control", "max-age=60, public", "Date", date(0), "Age", "5", "Expires", date(time.Hour), "Last-Modified", date(-time.Hour))
	cc := cachecontrol.Parse(h, "Cache-Control")
	req := cachecontrol.Directives{}
	cases := []struct {
		name string
		run  func()
	}{
		{"Lifetime", func() { _, _ = Lifetime(200, h, cc, true, t0, Heuristic{}) }},
		{"InitialAge", func() { _ = InitialAge(h, t0.Add(-time.Second), t0) }},
		{"Check", func() { _ = Check(time.Second, time.Minute, req, cc, true) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, c.run); n != 0 {
				t.Errorf("%s allocates %v times, want 0", c.name, n)
			}
		})
	}
}
