// Package httpdate parses HTTP-dates (RFC 9110 §5.6.7) as caches must read
// them (RFC 9111 §4.2), for Date, Expires, Last-Modified and the date
// preconditions.
package httpdate

import "time"

// Parse parses an HTTP-date (RFC 9110 §5.6.7) in any of its three
// formats: IMF-fixdate, the obsolete RFC 850 format and asctime. Following
// RFC 9111 §4.2 the match is case-insensitive, and any zone other than "GMT"
// makes the date invalid. The formats are otherwise strict: no extra
// whitespace, two-digit day and hour, four-digit year (except RFC 850),
// existing calendar day. Leading and trailing OWS is ignored. The result is
// in UTC.
//
// now is used only to interpret the two-digit year of the RFC 850 format: a
// date that appears more than 50 years in the future is moved back a century
// (RFC 9110 §5.6.7). Pass the time the message was received; with a zero now,
// 70-99 mean 19xx and 00-69 mean 20xx.
//
// The strictness matches tests/expires-freshness.mjs of the cache-tests suite,
// which expects "UTC" zones, two-digit years, a missing comma, doubled spaces,
// dashes in IMF-fixdate, dotted times and one-digit hours all to be invalid,
// and wrong-case weekday, month and "gMT" to be accepted.
func Parse(s string, now time.Time) (time.Time, bool) {
	s = trimOWS(s)
	switch {
	case len(s) == 29 && s[3] == ',':
		return parseIMF(s)
	case len(s) == 24 && s[3] == ' ':
		return parseASCTime(s)
	default:
		return parseRFC850(s, now)
	}
}

// parseIMF parses "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMF(s string) (time.Time, bool) {
	if !isDayName(s[0:3]) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[25] != ' ' || !isGMT(s[26:29]) {
		return time.Time{}, false
	}
	day, ok1 := num(s[5:7])
	mon, ok2 := month(s[8:11])
	year, ok3 := num(s[12:16])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return build(year, mon, day, s[17:25])
}

// parseRFC850 parses "Sunday, 06-Nov-94 08:49:37 GMT".
func parseRFC850(s string, now time.Time) (time.Time, bool) {
	comma := -1
	for i := 0; i < len(s) && i < 10; i++ {
		if s[i] == ',' {
			comma = i
			break
		}
	}
	if comma < 0 || !isLongDayName(s[:comma]) {
		return time.Time{}, false
	}
	r := s[comma+1:] // " 06-Nov-94 08:49:37 GMT"
	if len(r) != 23 || r[0] != ' ' || r[3] != '-' || r[7] != '-' || r[10] != ' ' || r[19] != ' ' || !isGMT(r[20:23]) {
		return time.Time{}, false
	}
	day, ok1 := num(r[1:3])
	mon, ok2 := month(r[4:7])
	yy, ok3 := num(r[8:10])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	var year int
	if now.IsZero() {
		year = 1900 + yy
		if yy < 70 {
			year += 100
		}
	} else {
		// RFC 9110 §5.6.7: more than 50 years in the future means the most
		// recent past year with the same last two digits.
		ny := now.UTC().Year()
		year = ny - ny%100 + yy
		if year > ny+50 {
			year -= 100
		}
	}
	return build(year, mon, day, r[11:19])
}

// parseASCTime parses "Sun Nov  6 08:49:37 1994".
func parseASCTime(s string) (time.Time, bool) {
	if !isDayName(s[0:3]) || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
		return time.Time{}, false
	}
	mon, ok1 := month(s[4:7])
	var day int
	var ok2 bool
	if s[8] == ' ' {
		day, ok2 = num(s[9:10])
	} else {
		day, ok2 = num(s[8:10])
	}
	year, ok3 := num(s[20:24])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return build(year, mon, day, s[11:19])
}

// build validates the calendar date and time-of-day ("hh:mm:ss",
// 00:00:00 - 23:59:60) and returns the UTC time.
func build(year int, mon time.Month, day int, tod string) (time.Time, bool) {
	if tod[2] != ':' || tod[5] != ':' {
		return time.Time{}, false
	}
	hh, ok1 := num(tod[0:2])
	mm, ok2 := num(tod[3:5])
	ss, ok3 := num(tod[6:8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	if day < 1 || day > daysIn(mon, year) {
		return time.Time{}, false
	}
	return time.Date(year, mon, day, hh, mm, ss, 0, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// num parses a fixed-width run of ASCII digits.
func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// eq3 compares a three-letter string case-insensitively with a lower-case one.
func eq3(s, lc string) bool {
	return lower(s[0]) == lc[0] && lower(s[1]) == lc[1] && lower(s[2]) == lc[2]
}

func isGMT(s string) bool { return eq3(s, "gmt") }

var dayNames = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func isDayName(s string) bool {
	for _, d := range dayNames {
		if eq3(s, d) {
			return true
		}
	}
	return false
}

var longDayNames = [7]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func isLongDayName(s string) bool {
	for _, d := range longDayNames {
		if len(s) != len(d) {
			continue
		}
		match := true
		for i := 0; i < len(s); i++ {
			if lower(s[i]) != d[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

var monthNames = [12]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func month(s string) (time.Month, bool) {
	for i, m := range monthNames {
		if eq3(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
