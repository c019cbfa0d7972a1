package freshness

import (
	"net/http"
	"testing"
	"time"
)

func BenchmarkInitialAge(b *testing.B) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h := http.Header{
		"Age":  {" , 120, 7"},
		"Date": {now.Add(-time.Minute).Format(http.TimeFormat)},
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = InitialAge(h, now.Add(-time.Second), now)
	}
}
