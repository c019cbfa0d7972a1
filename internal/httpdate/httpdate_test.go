package httpdate

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestParseHTTPDate(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	d := func(y int, m time.Month, day, hh, mm, ss int) time.Time {
		return time.Date(y, m, day, hh, mm, ss, 0, time.UTC)
	}
	nov6 := d(1994, time.November, 6, 8, 49, 37)
	tests := []struct {
		name string
		in   string
		now  time.Time
		want time.Time
		ok   bool
	}{
		{"RFC9110_5.6.7_IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", now, nov6, true},
		{"RFC9111_4.2_weekday_case-insensitive", "SUN, 06 Nov 1994 08:49:37 GMT", now, nov6, true},
		{"RFC9111_4.2_month_case-insensitive", "Sun, 06 NOV 1994 08:49:37 GMT", now, nov6, true},
		{"RFC9111_4.2_zone_case-insensitive", "Sun, 06 Nov 1994 08:49:37 gMT", now, nov6, true},
		{"RFC9110_5.6.7_surrounding_OWS_ignored", " \tSun, 06 Nov 1994 08:49:37 GMT ", now, nov6, true},
		{"RFC9110_5.6.7_weekday_not_checked_against_date", "Mon, 06 Nov 1994 08:49:37 GMT", now, nov6, true},
		{"RFC9110_5.6.7_leap_second_accepted", "Sat, 31 Dec 2016 23:59:60 GMT", now, d(2017, time.January, 1, 0, 0, 0), true},
		{"RFC9110_5.6.7_leap_day_accepted", "Thu, 29 Feb 2024 00:00:00 GMT", now, d(2024, time.February, 29, 0, 0, 0), true},
		{"RFC9110_5.6.7_rfc850-date", "Sunday, 06-Nov-94 08:49:37 GMT", now, nov6, true},
		{"RFC9110_5.6.7_rfc850-date_case-insensitive", "SUNDAY, 06-nov-94 08:49:37 gmt", now, nov6, true},
		{"RFC9110_5.6.7_rfc850_two-digit_year_in_current_century", "Monday, 01-Jan-24 00:00:00 GMT", now, d(2024, time.January, 1, 0, 0, 0), true},
		{"RFC9110_5.6.7_rfc850_year_more_than_50_years_ahead_is_past", "Tuesday, 01-Jan-80 00:00:00 GMT", now, d(1980, time.January, 1, 0, 0, 0), true},
		{"RFC9110_5.6.7_rfc850_year_50_years_ahead_kept", "Tuesday, 01-Jan-74 00:00:00 GMT", now, d(2074, time.January, 1, 0, 0, 0), true},
		{"RFC9110_5.6.7_rfc850_zero_now_70_is_1970", "Thursday, 01-Jan-70 00:00:00 GMT", time.Time{}, d(1970, time.January, 1, 0, 0, 0), true},
		{"RFC9110_5.6.7_rfc850_zero_now_69_is_2069", "Tuesday, 01-Jan-69 00:00:00 GMT", time.Time{}, d(2069, time.January, 1, 0, 0, 0), true},
		{"RFC9110_5.6.7_asctime-date_one-digit_day", "Sun Nov  6 08:49:37 1994", now, nov6, true},
		{"RFC9110_5.6.7_asctime-date_two-digit_day", "Wed Nov 16 08:49:37 1994", now, d(1994, time.November, 16, 8, 49, 37), true},
		{"RFC9111_4.2_UTC_zone_invalid", "Thu, 18 Aug 2050 02:01:18 UTC", now, time.Time{}, false},
		{"RFC9110_5.6.7_two-digit_year_IMF_invalid", "Thu, 18 Aug 50 02:01:18 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_missing_comma_invalid", "Thu 18 Aug 2050 02:01:18 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_multiple_spaces_invalid", "Thu, 18  Aug  2050 02:01:18 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_date_dashes_in_IMF_invalid", "Thu, 18-Aug-2050 02:01:18 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_time_periods_invalid", "Thu, 18 Aug 2050 02.01.18 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_one-digit_hour_invalid", "Thu, 18 Aug 2050 2:01:18 GMT", now, time.Time{}, false},
		{"RFC9111_5.3_zero_invalid", "0", now, time.Time{}, false},
		{"RFC9110_5.6.7_empty_invalid", "", now, time.Time{}, false},
		{"RFC9110_5.6.7_numeric_offset_invalid", "Thu, 18 Aug 2050 02:01:18 +0000", now, time.Time{}, false},
		{"RFC9110_5.6.7_nonexistent_day_invalid", "Fri, 30 Feb 2024 00:00:00 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_non-leap_february_29_invalid", "Wed, 29 Feb 2023 00:00:00 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_day_zero_invalid", "Wed, 00 Feb 2023 00:00:00 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_hour_24_invalid", "Wed, 01 Feb 2023 24:00:00 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_minute_60_invalid", "Wed, 01 Feb 2023 23:60:00 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_second_61_invalid", "Wed, 01 Feb 2023 23:59:61 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_unknown_weekday_invalid", "Xyz, 01 Feb 2023 23:59:59 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_unknown_month_invalid", "Wed, 01 Fev 2023 23:59:59 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_trailing_garbage_invalid", "Wed, 01 Feb 2023 23:59:59 GMTx", now, time.Time{}, false},
		{"RFC9110_5.6.7_rfc850_short_weekday_invalid", "Sun, 06-Nov-94 08:49:37 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_rfc850_four-digit_year_invalid", "Sunday, 06-Nov-1994 08:49:37 GMT", now, time.Time{}, false},
		{"RFC9110_5.6.7_asctime_two_spaces_before_two-digit_day_invalid", "Sun Nov 1 08:49:37 19945", now, time.Time{}, false},
		{"RFC9110_5.6.7_asctime_zone_invalid", "Sun Nov  6 08:49:37 GMT ", now, time.Time{}, false},
		{"RFC9110_5.6.7_negative_digits_invalid", "Sun, -6 Nov 1994 08:49:37 GMT", now, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.in, tt.now)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseHTTPDateAllocations(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse("Sun, 06 Nov 1994 08:49:37 GMT", time.Time{}) }); n != 0 {
		t.Errorf("ParseHTTPDate allocates %v times, want 0", n)
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "0", "Thu, 18 Aug 2050 2:01:18 GMT"} {
		f.Add(s)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Parse(s, now)
		if !ok {
			if !got.IsZero() {
				t.Errorf("invalid %q returned %v", s, got)
			}
			return
		}
		if got.Location() != time.UTC || got.Year() < 0 || got.Year() > 9999 {
			t.Errorf("Parse(%q) = %v", s, got)
		}
	})
}

// TestAgreesWithNetHTTP checks Parse against http.ParseTime (RFC 9110
// §5.6.7) on every day from 1896 to 2104 in IMF-fixdate, on out-of-range days
// and times, and on near misses: whatever net/http accepts, Parse accepts with
// the same time.
func TestAgreesWithNetHTTP(t *testing.T) {
	var inputs []string
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	for y := 1896; y <= 2104; y++ {
		for _, m := range months {
			for d := 0; d <= 32; d++ {
				dd := string(rune('0'+d/10)) + string(rune('0'+d%10))
				inputs = append(inputs, "Thu, "+dd+" "+m+" "+strconv.Itoa(y)+" 12:34:56 GMT")
			}
		}
	}
	inputs = append(inputs,
		"Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 23:60:00 GMT", "Sun, 06 Nov 1994 23:59:60 GMT",
		"Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 0a Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
	)
	for _, s := range inputs {
		got, ok := Parse(s, time.Time{})
		want, err := http.ParseTime(s)
		if err == nil && (!ok || !got.Equal(want)) {
			t.Fatalf("%q: Parse %v, %v; ParseTime %v", s, got, ok, want)
		}
		if ok && err == nil && !got.Equal(want) {
			t.Fatalf("%q: Parse %v; ParseTime %v", s, got, want)
		}
	}
}
