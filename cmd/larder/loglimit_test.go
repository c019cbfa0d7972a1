package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLimitHandler: store failures are logged once per interval, the next
// one saying how many were dropped; other records all pass.
func TestLimitHandler(t *testing.T) {
	var buf bytes.Buffer
	clk := newFakeClock()
	l := slog.New(newLimitHandler(slog.NewTextHandler(&buf, nil), time.Second, clk.Now))
	for range 5 {
		l.Warn(storeFailedMsg, "op", "get")
		l.Info("other")
	}
	clk.Advance(999 * time.Millisecond)
	l.Warn(storeFailedMsg, "op", "get")
	clk.Advance(time.Millisecond)
	l.With("k", "v").Warn(storeFailedMsg, "op", "set") // derived loggers share the limit
	l.Warn(storeFailedMsg, "op", "get")

	out := buf.String()
	if n := strings.Count(out, "store failed"); n != 2 {
		t.Errorf("%d store-failure lines, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, "msg=other"); n != 5 {
		t.Errorf("%d other lines, want 5", n)
	}
	if !strings.Contains(out, "op=set suppressed=5") {
		t.Errorf("the second line does not count the 5 dropped:\n%s", out)
	}
}
