package tagindex

import (
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// TestBounded: keys added for a long time with short expiries never make
// the index hold more than about twice the live records.
func TestBounded(t *testing.T) {
	var x Index
	const live = 5000 // keys alive at any time: each expires 5,000 adds later
	maxLen := 0
	for i := range 200_000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		x.Add("k"+strconv.Itoa(i), []string{"t" + strconv.Itoa(i%7), "all"}, now, now.Add(live*time.Millisecond), now)
		maxLen = max(maxLen, x.Len())
	}
	if limit := 2 * 2 * live * 11 / 10; maxLen > limit {
		t.Fatalf("the index held %d records, over %d", maxLen, limit)
	}
	x.Sweep(t0.Add(time.Hour))
	if n := x.Len(); n != 0 {
		t.Fatalf("%d records after everything expired", n)
	}
}

func TestPurgeRecord(t *testing.T) {
	var x Index
	exp := t0.Add(time.Hour)
	if !x.Add("a", []string{"t"}, t0, exp, t0) {
		t.Fatal("refused before any purge")
	}
	if got := x.Purge([]string{"t", "t"}, t0.Add(time.Second), time.Minute); len(got) != 1 || got[0] != "a" {
		t.Fatalf("Purge = %q", got)
	}
	if x.Add("b", []string{"u", "t"}, t0.Add(time.Second), exp, t0) {
		t.Fatal("a fill that looked up at the purge was not refused")
	}
	if !x.Add("c", []string{"t"}, t0.Add(2*time.Second), exp, t0) {
		t.Fatal("a fill that looked up after the purge was refused")
	}
	// The record goes after its keep.
	x.Sweep(t0.Add(2 * time.Minute))
	if !x.Add("d", []string{"t"}, t0, exp, t0) {
		t.Fatal("refused after the record's keep")
	}
}
