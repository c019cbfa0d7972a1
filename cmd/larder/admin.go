package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/larder-cache/larder"
)

// purger is what the admin API needs of the cache.
type purger interface {
	Purge(ctx context.Context, absoluteURL string) error
}

// admin serves the admin API: PURGE of one URL, GET /metrics, GET /healthz.
// With a token, every request needs "Authorization: Bearer <token>".
type admin struct {
	cache   purger
	metrics *metrics
	prom    http.Handler
	token   []byte // sha256 of the token; nil when none is required
	logger  *slog.Logger
}

func newAdmin(cache purger, m *metrics, token string, logger *slog.Logger) *admin {
	a := &admin{cache: cache, metrics: m, prom: m.handler(), logger: logger}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		a.token = sum[:]
	}
	return a
}

func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="larder admin"`)
		plain(w, http.StatusUnauthorized, "401 unauthorized: send Authorization: Bearer <admin token>\n")
		return
	}
	if r.Method == "PURGE" {
		a.purge(w, r)
		return
	}
	switch r.URL.Path {
	case "/metrics":
		if !getOrHead(w, r) {
			return
		}
		a.prom.ServeHTTP(w, r)
	case "/healthz":
		if !getOrHead(w, r) {
			return
		}
		plain(w, http.StatusOK, "ok\n")
	default:
		plain(w, http.StatusNotFound, "404 not found: the admin API has PURGE /<path>, GET /metrics and GET /healthz\n")
	}
}

// authorized compares the bearer token in constant time (of hashes, so that
// not even the token's length leaks).
func (a *admin) authorized(r *http.Request) bool {
	if a.token == nil {
		return true
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	return subtle.ConstantTimeCompare(sum[:], a.token) == 1
}

// purge removes every stored variant of http://<Host><path>?<query>. It
// answers 200 whether or not anything was stored, and 400 to a target that
// is not a path (an absolute URL, "*") or that makes no URL with the Host.
func (a *admin) purge(w http.ResponseWriter, r *http.Request) {
	if r.Header["Surrogate-Key"] != nil {
		plain(w, http.StatusNotImplemented, "501 not implemented: purge by Surrogate-Key is not supported yet; purge URLs one by one\n")
		return
	}
	if !strings.HasPrefix(r.RequestURI, "/") {
		plain(w, http.StatusBadRequest, "400 bad request: PURGE takes a path (PURGE /path?query, with the site in Host)\n")
		return
	}
	if r.Host == "" {
		plain(w, http.StatusBadRequest, "400 bad request: PURGE needs a Host header naming the site\n")
		return
	}
	target := "http://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		target += "?" + r.URL.RawQuery
	}
	if err := a.cache.Purge(r.Context(), target); errors.Is(err, larder.ErrBadURL) {
		plain(w, http.StatusBadRequest, "400 bad request: the Host and path make no URL to purge\n")
		return
	} else if err != nil {
		a.metrics.storeErrors.Inc()
		a.logger.Error("purge failed", "url", target, "err", err)
		plain(w, http.StatusInternalServerError, "500 purge failed: store error\n")
		return
	}
	a.logger.Info("purged", "url", target)
	plain(w, http.StatusOK, "purged "+target+"\n")
}

func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	plain(w, http.StatusMethodNotAllowed, "405 method not allowed\n")
	return false
}

func plain(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// isLoopback reports whether a listen address is bound to loopback only: an
// IP in 127.0.0.0/8 or ::1, or "localhost". An empty host (all interfaces) or
// any other name is not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
