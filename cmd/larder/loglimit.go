package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// storeFailedMsg is the message the cache logs for each failed store call.
const storeFailedMsg = "larder: store failed"

// storeLogInterval is how often the daemon logs a store failure at most:
// a store that is down fails every request's calls, and the metrics
// (larder_store_call_errors_total) count them all.
const storeLogInterval = time.Second

// limitHandler is a slog.Handler that passes at most one record with the
// message storeFailedMsg per interval, adding to it how many it dropped
// since the last one it passed ("suppressed"); it passes every other record.
type limitHandler struct {
	next     slog.Handler
	interval time.Duration
	now      func() time.Time
	st       *limitState // shared by the handlers WithAttrs and WithGroup derive
}

type limitState struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newLimitHandler(next slog.Handler, interval time.Duration, now func() time.Time) *limitHandler {
	if now == nil {
		now = time.Now
	}
	return &limitHandler{next: next, interval: interval, now: now, st: &limitState{}}
}

func (h *limitHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != storeFailedMsg {
		return h.next.Handle(ctx, r)
	}
	now := h.now()
	h.st.mu.Lock()
	if !h.st.last.IsZero() && now.Sub(h.st.last) < h.interval {
		h.st.suppressed++
		h.st.mu.Unlock()
		return nil
	}
	h.st.last = now
	n := h.st.suppressed
	h.st.suppressed = 0
	h.st.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n))
	}
	return h.next.Handle(ctx, r)
}

func (h *limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &limitHandler{next: h.next.WithAttrs(as), interval: h.interval, now: h.now, st: h.st}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{next: h.next.WithGroup(name), interval: h.interval, now: h.now, st: h.st}
}
