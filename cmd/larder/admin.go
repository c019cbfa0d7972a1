package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
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
	PurgeBatch(ctx context.Context, b larder.PurgeBatch) error
}

// admin serves the admin API: PURGE of one URL, of a prefix or of tags
// (Surrogate-Key), POST /purge (JSON), GET /metrics, GET /healthz.
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
	case "/purge":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			plain(w, http.StatusMethodNotAllowed, "405 method not allowed: POST /purge with a JSON body\n")
			return
		}
		a.purgeJSON(w, r)
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
		plain(w, http.StatusNotFound, "404 not found: the admin API has PURGE /<path>, POST /purge, GET /metrics and GET /healthz\n")
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

// purge answers PURGE. With a Surrogate-Key field it purges the tags it
// lists (separated by spaces, as Fastly's), whatever the target. Otherwise
// it purges http://<Host><path>?<query>, every stored variant, or with a
// path ending in "*" every URL of the Host whose path starts with what
// comes before the "*" (a prefix purge). With Fastly-Soft-Purge: 1 (or
// Soft-Purge: 1) the responses are marked stale instead (a soft purge). It
// answers 200 whether or not anything was stored, 400 to a target that is
// not a path (an absolute URL, "*") or that makes no URL with the Host, 501
// when the store cannot purge by tag or prefix.
func (a *admin) purge(w http.ResponseWriter, r *http.Request) {
	soft := r.Header.Get("Fastly-Soft-Purge") == "1" || r.Header.Get("Soft-Purge") == "1"
	if keys := r.Header.Values("Surrogate-Key"); keys != nil {
		var tags []string
		for _, v := range keys {
			tags = append(tags, strings.Fields(v)...)
		}
		if len(tags) == 0 {
			plain(w, http.StatusBadRequest, "400 bad request: Surrogate-Key lists no tag\n")
			return
		}
		a.do(w, r, larder.PurgeBatch{Tags: tags, Soft: soft}, "tags "+strings.Join(tags, " "))
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
	if p := r.URL.EscapedPath(); strings.HasSuffix(p, "*") && r.URL.RawQuery == "" && !r.URL.ForceQuery {
		prefix := "http://" + r.Host + strings.TrimSuffix(p, "*")
		a.do(w, r, larder.PurgeBatch{Prefixes: []string{prefix}, Soft: soft}, "prefix "+prefix)
		return
	}
	target := "http://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		target += "?" + r.URL.RawQuery
	}
	if soft {
		a.do(w, r, larder.PurgeBatch{URLs: []string{target}, Soft: true}, target)
		return
	}
	a.report(w, a.cache.Purge(r.Context(), target), target)
}

// maxPurgeBody bounds the JSON body of POST /purge.
const maxPurgeBody = 1 << 20

// purgeRequest is the JSON body of POST /purge.
type purgeRequest struct {
	URLs     []string `json:"urls"`
	Tags     []string `json:"tags"`
	Prefixes []string `json:"prefixes"`
	Soft     bool     `json:"soft"`
}

// purgeJSON answers POST /purge, whose body is a JSON object with "urls"
// (absolute URLs), "tags", "prefixes" (absolute URLs without query) and
// "soft" (a boolean), for tooling: one call purges them all, and answers
// once every purge is complete in the store. A body that is not such an
// object (unknown members included), or larger than 1 MiB, is a 400.
func (a *admin) purgeJSON(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPurgeBody))
	dec.DisallowUnknownFields()
	var req purgeRequest
	if err := dec.Decode(&req); err != nil || dec.More() {
		plain(w, http.StatusBadRequest, "400 bad request: the body must be one JSON object with urls, tags, prefixes and soft\n")
		return
	}
	if len(req.URLs)+len(req.Tags)+len(req.Prefixes) == 0 {
		plain(w, http.StatusBadRequest, "400 bad request: nothing to purge (urls, tags and prefixes are empty)\n")
		return
	}
	what := fmt.Sprintf("%d urls, %d tags, %d prefixes", len(req.URLs), len(req.Tags), len(req.Prefixes))
	a.do(w, r, larder.PurgeBatch{URLs: req.URLs, Tags: req.Tags, Prefixes: req.Prefixes, Soft: req.Soft}, what)
}

func (a *admin) do(w http.ResponseWriter, r *http.Request, b larder.PurgeBatch, what string) {
	if b.Soft {
		what = "softly " + what
	}
	a.report(w, a.cache.PurgeBatch(r.Context(), b), what)
}

// report answers a purge of what that ended with err.
func (a *admin) report(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, larder.ErrBadURL):
		plain(w, http.StatusBadRequest, "400 bad request: "+err.Error()+"\n")
	case errors.Is(err, larder.ErrTagsUnsupported), errors.Is(err, larder.ErrPrefixPurgeOff):
		plain(w, http.StatusNotImplemented, "501 not implemented: "+err.Error()+"\n")
	case err != nil:
		a.metrics.storeErrors.Inc()
		a.logger.Error("purge failed", "what", what, "err", err)
		plain(w, http.StatusInternalServerError, "500 purge failed: store error\n")
	default:
		a.logger.Info("purged", "what", what)
		plain(w, http.StatusOK, "purged "+what+"\n")
	}
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
