package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/larder-cache/larder"
)

// accessLog is the outermost handler of the proxy listener. It logs one line
// per request (when out is set) and turns a panic below it into a 500, or
// into an aborted connection when the response had already begun, so that a
// bug never takes the process down nor shows a stack trace to a client.
//
// The cache's outcome in the log line comes from the cache's observer:
// recordOutcome, called by the observer, fills in the outcomeSlot of the
// request's context. That slot is the connection's (connContext), which its
// HTTP/1 requests use one after the other, or else one accessLog adds to
// the request's context (a slotContext), at the cost of two allocations,
// the context and the request's shallow copy.
type accessLog struct {
	next   http.Handler
	logger *slog.Logger  // the daemon's log: panics
	out    *accessLogger // nil: no access log
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	lw := &logWriter{ResponseWriter: w}
	if a.out != nil {
		start = time.Now()
		if slot, ok := r.Context().Value(outcomeSlotKey{}).(*outcomeSlot); ok && r.ProtoMajor == 1 {
			slot.outcome = "" // the connection's previous request's
			lw.slot = slot
		} else {
			ctx := &slotContext{Context: r.Context()}
			lw.slot = &ctx.slot
			r = r.WithContext(ctx)
		}
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
		if a.out != nil {
			a.out.log(r, lw, start, v != nil)
		}
		if v != nil {
			// The response has begun: abort it rather than let it look complete.
			panic(http.ErrAbortHandler)
		}
	}()
	a.next.ServeHTTP(lw, r)
}

// logWriter records the status and the body bytes written, and where the
// cache's outcome is: slot. Unwrap keeps Flush, Hijack and the rest
// reachable through http.ResponseController.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	slot   *outcomeSlot // with the access log on
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

// connContext is the proxy server's ConnContext when the access log is on:
// it gives each connection an outcomeSlot, which its requests use in turn.
// An HTTP/1 connection serves one request at a time, its handler returning
// before the next is read; the cache reports a request before its handler
// returns. So a request costs the access log no context, nor a copy of
// itself. A background revalidation keeps its request's context values, the
// connection's slot included, but recordOutcome skips it.
func connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, outcomeSlotKey{}, new(outcomeSlot))
}

// ConnContext is the ConnContext of the proxy server: connContext, or nil
// without an access log.
func (l *accessLogger) ConnContext() func(context.Context, net.Conn) context.Context {
	if l == nil {
		return nil
	}
	return connContext
}

// slotContext is a request's context with its outcomeSlot under
// outcomeSlotKey: what context.WithValue would make, in one allocation with
// the slot. Everything else is the parent's, Value included, so that the
// context package recognises a cancelable parent as it does through a
// context.WithValue (no goroutine per derived context).
type slotContext struct {
	context.Context
	slot outcomeSlot
}

func (c *slotContext) Value(key any) any {
	if key == (outcomeSlotKey{}) {
		return &c.slot
	}
	return c.Context.Value(key)
}

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

// checkAccessLog validates the --access-log-* flags into c; --log-format
// and --log-level are in c already. Text and JSON lines are records of the
// daemon's log at level info: above it, the access log is off, as it was
// when the daemon's logger wrote it.
func (c *config) checkAccessLog(format, output string, buffer int64) error {
	if format == "" {
		format = c.logFormat
	}
	f, ok := accessFormats[format]
	if !ok {
		return fmt.Errorf("--access-log-format %q: want text, json, common or combined", format)
	}
	c.accessLogFormat = f
	switch output {
	case "stderr", "stdout":
		c.accessLogStdout = output == "stdout"
	default:
		return fmt.Errorf("--access-log-output %q: want stderr or stdout", output)
	}
	if buffer > 1<<30 {
		return fmt.Errorf("--access-log-buffer %s: too large (want at most 1GiB)", formatSize(buffer))
	}
	c.accessLogBuffer = int(buffer)
	if c.accessLogFlush <= 0 {
		return errors.New("--access-log-flush must be positive (--access-log-buffer 0 writes each line at once)")
	}
	if (f == formatText || f == formatJSON) && c.logLevel > slog.LevelInfo {
		c.accessLog = false
	}
	return nil
}

// bufferSizeValue is a flag.Value holding a byte count in the parseSize
// syntax, or 0.
type bufferSizeValue int64

func (s *bufferSizeValue) Set(v string) error {
	if strings.TrimSpace(v) == "0" {
		*s = 0
		return nil
	}
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = bufferSizeValue(n)
	return nil
}

func (s *bufferSizeValue) String() string { return formatSize(int64(*s)) }

// newAccessLog starts the access log cfg asks for: nil when it is off.
func newAccessLog(cfg *config, stdout, stderr io.Writer, logger *slog.Logger) *accessLogger {
	if !cfg.accessLog {
		return nil
	}
	w := stderr
	if cfg.accessLogStdout {
		w = stdout
	}
	return newAccessLogger(cfg.accessLogFormat, w, cfg.accessLogBuffer, cfg.accessLogFlush, logger)
}
