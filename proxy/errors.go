package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/larder-cache/larder"
)

// classify wraps err, the failure of a request to the upstream made with ctx,
// in ErrBodyTimeout, ErrClientGone or ErrTimeout when it is one of those. A
// body timeout comes first: the server cancels the request's context when
// the body's deadline passes.
func classify(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrBodyTimeout):
		return err
	case bodyTimedOut(ctx):
		return fmt.Errorf("%w: %w", ErrBodyTimeout, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrClientGone, err)
	case isTimeout(err):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// isTimeout reports whether err is a timeout: the response header timeout,
// a dial timeout or a deadline.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errorHandler answers a request the upstream did not: 504 when it timed out,
// 502 otherwise, with a short plain-text body marked no-store; or 408, with
// an HTTP/1 connection closed, when the client's request body was too slow. It
// shows the error itself only to the log, never to the client.
func errorHandler(logger *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, reason, body := http.StatusBadGateway, "unreachable", "502 bad gateway: the upstream did not answer\n"
		level := slog.LevelWarn
		unreachable := true
		switch err = classify(r.Context(), err); {
		case errors.Is(err, ErrBodyTimeout):
			// The client's fault, not the upstream's: no stale response
			// instead, and the connection, whose reads failed, is closed.
			status, reason, body = http.StatusRequestTimeout, "body-timeout", "408 request timeout: the request body was sent too slowly\n"
			level, unreachable = slog.LevelInfo, false
		case errors.Is(err, ErrClientGone):
			// Nobody reads this response.
			reason, level = "client-gone", slog.LevelDebug
		case errors.Is(err, ErrTimeout):
			status, reason, body = http.StatusGatewayTimeout, "timeout", "504 gateway timeout: the upstream took too long to answer\n"
		}
		logger.Log(r.Context(), level, "upstream request failed",
			"method", r.Method, "host", r.Host, "path", r.URL.Path, "status", status, "reason", reason, "err", err)

		if unreachable {
			// A cache in front may answer with a stale response instead.
			larder.OriginUnreachable(w)
		}
		h := w.Header()
		clear(h)
		if status == http.StatusRequestTimeout && r.ProtoMajor == 1 {
			// Over HTTP/2 this would close the client's other streams.
			h.Set("Connection", "close")
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, body)
		}
	}
}
