package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// accessLog is the outermost handler of the proxy listener. It logs one line
// per request (when enabled) and turns a panic below it into a 500, or into
// an aborted connection when the response had already begun, so that a bug
// never takes the process down nor shows a stack trace to a client.
type accessLog struct {
	next    http.Handler
	logger  *slog.Logger
	enabled bool
	name    string // the cache's name in Cache-Status
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w}
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
				slog.String("cache", outcomeOf(w.Header()["Cache-Status"], a.name)),
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

// outcomeOf reads what the cache did from its Cache-Status member (RFC 9211),
// the last one named name, in the words of larder.Outcome: "hit", "miss",
// "revalidated", ... It is "" when there is no such member.
func outcomeOf(fields []string, name string) string {
	var member string
	for _, f := range fields {
		for m := range strings.SplitSeq(f, ",") {
			m = strings.TrimSpace(m)
			if n, _, _ := strings.Cut(m, ";"); strings.TrimSpace(n) == name {
				member = m
			}
		}
	}
	if member == "" {
		return ""
	}
	var hit bool
	var fwd, fwdStatus, detail string
	params := strings.Split(member, ";")[1:]
	for _, p := range params {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "hit":
			hit = true
		case "fwd":
			fwd = v
		case "fwd-status":
			fwdStatus = v
		case "detail":
			detail = strings.Trim(v, `"`)
		}
	}
	switch {
	case hit:
		return "hit"
	case fwd == "uri-miss":
		return "miss"
	case fwd == "miss" && detail == "only-if-cached":
		return "only-if-cached"
	case fwd == "stale" && fwdStatus == "304":
		return "revalidated"
	case fwd != "":
		return fwd
	}
	return ""
}
