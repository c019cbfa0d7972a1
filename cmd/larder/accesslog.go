package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/larder-cache/larder"
)

// accessLog is the outermost handler of the proxy listener. It logs one line
// per request (when enabled) and turns a panic below it into a 500, or into
// an aborted connection when the response had already begun, so that a bug
// never takes the process down nor shows a stack trace to a client.
//
// The cache's outcome in the log line comes from the cache's observer:
// accessLog puts an outcomeSlot in the request's context, which
// recordOutcome, called by the observer, fills in.
type accessLog struct {
	next    http.Handler
	logger  *slog.Logger
	enabled bool
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	lw := &logWriter{ResponseWriter: w}
	var slot *outcomeSlot
	if a.enabled {
		start = time.Now()
		slot = new(outcomeSlot)
		r = r.WithContext(context.WithValue(r.Context(), outcomeSlotKey{}, slot))
	}
	defer func() {
		v := recover()
		if v != nil && v != http.ErrAbortHandler {
			a.logger.Error("panic serving request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if lw.status == 0 {
				h := w.Header()
				clear(h)
				h.Set("Content-Type", "text/plain; charset=utf-8")
				h.Set("Cache-Control", "no-store")
				lw.WriteHeader(http.StatusInternalServerError)
				_, _ = lw.Write([]byte("500 internal server error\n"))
				v = nil
			}
		}
		if a.enabled {
			status := lw.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("host", r.Host),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.String("cache", string(slot.outcome)),
				slog.Int64("bytes", lw.bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote", r.RemoteAddr),
			}
			if v != nil {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			a.logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}
		if v != nil {
			// The response has begun: abort it rather than let it look complete.
			panic(http.ErrAbortHandler)
		}
	}()
	a.next.ServeHTTP(lw, r)
}

// logWriter records the status and the body bytes written. Unwrap keeps
// Flush, Hijack and the rest reachable through http.ResponseController.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outcomeSlot is where the cache's observer leaves what the cache did for a
// request, for the access log line. The zero value means the cache did not
// report the request (it never got to the cache).
type outcomeSlot struct {
	outcome larder.Outcome
}

// outcomeSlotKey is the request context key of the access log's outcomeSlot.
type outcomeSlotKey struct{}

// recordOutcome is the access log's part of the cache's observer: it records
// ev.Outcome in the slot of ev's request, if it has one.
//
// The cache reports a client's request before its handler returns, on the
// request's goroutine, so the slot needs no lock: the access log reads it
// after. A background revalidation (stale-while-revalidate) carries the
// context values of the request that started it, slot included, but it is
// not that request, which has been answered (and maybe logged) already:
// it is skipped.
func recordOutcome(ev larder.Event) {
	if ev.Background || ev.Request == nil {
		return
	}
	if slot, ok := ev.Request.Context().Value(outcomeSlotKey{}).(*outcomeSlot); ok {
		slot.outcome = ev.Outcome
	}
}
