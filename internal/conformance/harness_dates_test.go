package conformance

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/larder-cache/larder/internal/fakeclock"
)

// clock is the fake clock of the cache, its store and the origin.
type clock = fakeclock.Clock

// pause is the suite client's pause after a step (clientUtils.pause: 3 s).
const pause = 3 * time.Second

// start is the clock's start: not on a whole second, as in a real run the
// Date field (whole seconds) trails the server's clock.
var start = time.Date(2026, 11, 28, 12, 0, 0, 400e6, time.UTC)

var dateFields = map[string]bool{"date": true, "expires": true, "last-modified": true, "if-modified-since": true, "if-unmodified-since": true}
var locationFields = map[string]bool{"location": true, "content-location": true}

// httpDate is the suite's httpDate: nowMS plus delta seconds, as an IMF-fixdate
// or an RFC 850 date.
func httpDate(nowMS int64, delta int, rfc850 bool) string {
	t := time.UnixMilli(nowMS + int64(delta)*1000).UTC()
	if rfc850 {
		return t.Format("Monday, 02-Jan-06 15:04:05 GMT")
	}
	return t.Format(http.TimeFormat)
}

// fixup resolves a config field as the suite's fixupHeader does.
func fixup(h Hdr, serverNow string, baseURL string, r Req) string {
	name := strings.ToLower(h.Name)
	v := h.Value
	if dateFields[name] && h.IsDelta {
		ms, err := strconv.ParseInt(serverNow, 10, 64)
		if err != nil {
			return "Invalid Date"
		}
		v = httpDate(ms, h.Delta, slices.Contains(r.RFC850Date, name))
	} else if h.IsDelta {
		v = strconv.Itoa(h.Delta)
	}
	if locationFields[name] && r.MagicLocations {
		if v != "" {
			v = baseURL + "/" + v
		} else {
			v = baseURL
		}
	}
	return v
}
