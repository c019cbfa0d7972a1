package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// viaPseudonym names this proxy in Via fields (RFC 9110 §7.6.3); it is a
// pseudonym, not a host name, so that no internal name leaks.
const viaPseudonym = "larder"

// newTransport returns the transport to the upstream. Its response header
// timeout is --upstream-timeout; environment proxies are ignored, since the
// upstream is named explicitly.
func newTransport(c *config) *http.Transport {
	dialTimeout := 30 * time.Second
	if c.upstreamTimeout > 0 && c.upstreamTimeout < dialTimeout {
		dialTimeout = c.upstreamTimeout
	}
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   dialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256, // one upstream: let it keep many idle connections
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: c.upstreamTimeout,
	}
}

// newProxy returns the reverse proxy to c.upstream. It forwards every method
// and body, keeps the client's Host unless c.rewriteHost, sets the
// X-Forwarded-* fields, and adds this proxy to Via in both directions.
// Hop-by-hop fields are removed by httputil.ReverseProxy.
func newProxy(c *config, rt http.RoundTripper, logger *slog.Logger, m *metrics) *httputil.ReverseProxy {
	target := c.upstream
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if !c.rewriteHost {
				pr.Out.Host = pr.In.Host
			}
			pr.SetXForwarded()
			appendVia(pr.Out.Header, pr.In.ProtoMajor, pr.In.ProtoMinor)
		},
		Transport: rt,
		ModifyResponse: func(resp *http.Response) error {
			appendVia(resp.Header, resp.ProtoMajor, resp.ProtoMinor)
			return nil
		},
		ErrorHandler: errorHandler(logger, m),
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// appendVia appends this proxy to the Via field of h (RFC 9110 §7.6.3): the
// protocol version the message was received with, then the pseudonym. An
// existing Via is kept, this proxy joining its last line.
func appendVia(h http.Header, major, minor int) {
	proto := strconv.Itoa(major)
	if major < 2 {
		proto += "." + strconv.Itoa(minor)
	}
	via := proto + " " + viaPseudonym
	if old := h["Via"]; len(old) > 0 {
		vs := make([]string, len(old))
		copy(vs, old)
		vs[len(vs)-1] += ", " + via
		h["Via"] = vs
		return
	}
	h["Via"] = []string{via}
}

// errorHandler answers a request the upstream did not: 504 when it timed out,
// 502 otherwise, with a short plain-text body. It never shows the error
// itself to the client, only to the log.
func errorHandler(logger *slog.Logger, m *metrics) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, reason, body := http.StatusBadGateway, "unreachable", "502 bad gateway: the upstream did not answer\n"
		switch {
		case r.Context().Err() != nil:
			// The client went away; nobody reads this response.
			reason = "client-gone"
		case isTimeout(err):
			status, reason, body = http.StatusGatewayTimeout, "timeout", "504 gateway timeout: the upstream took too long to answer\n"
		}
		m.upstreamError(reason)
		level := slog.LevelWarn
		if reason == "client-gone" {
			level = slog.LevelDebug
		}
		logger.Log(r.Context(), level, "upstream request failed",
			"method", r.Method, "host", r.Host, "path", r.URL.Path, "status", status, "reason", reason, "err", err)

		h := w.Header()
		clear(h)
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

// isTimeout reports whether err is a timeout: the response header timeout,
// a dial timeout or a deadline.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
