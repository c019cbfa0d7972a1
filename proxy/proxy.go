// Package proxy is the forwarding half of Larder's caching reverse proxy, the
// one the larder command runs: a reverse proxy to one upstream, meant to sit
// behind a larder.Cache, which answers what it can from storage and passes
// the rest on.
//
//	p, err := proxy.New(proxy.Config{Upstream: upstream})
//	if err != nil {
//		// a bad Config
//	}
//	http.ListenAndServe(":8080", cache.Middleware(p))
//
// The proxy is an httputil.ReverseProxy. It forwards every method, removes
// the hop-by-hop fields (RFC 9110 §7.6.1), keeps the client's Host unless
// told to rewrite it, sets X-Forwarded-For, X-Forwarded-Host and
// X-Forwarded-Proto (replacing any the client sent), adds itself to Via in
// both directions (RFC 9110 §7.6.3) and tunnels protocol upgrades such as
// WebSocket. When the upstream does not answer it answers 502 Bad Gateway,
// or 504 Gateway Timeout when the upstream took too long, with a short
// plain-text body marked no-store, so that no cache keeps it; the error
// itself goes to the log, never to the client.
//
// # What the upstream does not get
//
// A cache keys its entries on the method and the target URI (and the fields
// a response varies on), not on the rest of the request. A request field
// that makes the origin answer something else, when the cache does not know
// it, lets one client store a response that every other client then gets:
// cache poisoning. So the proxy does not forward:
//
//   - The fields that some frameworks and origins take to override the
//     request's target, method, scheme, port or host: X-Original-URL,
//     X-Rewrite-URL, X-HTTP-Method-Override, X-HTTP-Method,
//     X-Method-Override, X-Forwarded-Scheme, X-Forwarded-Port,
//     X-Forwarded-Server, X-Forwarded-Prefix, X-Host, X-Forwarded-Ssl and
//     Front-End-Https (StrippedFields). Config.PassFields forwards some of
//     them anyway; the origin must then list them in Vary.
//   - The content of a GET or HEAD request. It has no defined semantics
//     (RFC 9110 §9.3.1, §9.3.2) and the cache keys without it: an origin
//     that read it could answer two requests with the same key differently.
//     The request goes to the upstream without a body (nor Content-Length);
//     the server discards what the client sends of it, as it does of any
//     body a handler leaves unread (or closes the connection, when it is
//     large).
//
// # Slow request bodies
//
// A client that sends its request body slowly holds a connection to the
// upstream all along. The proxy bounds the time a body may take, with a
// read deadline on the client's connection (http.ResponseController): the
// body must arrive within Config.BodyTimeout, plus one second per
// Config.BodyMinRate bytes received so far, as Apache's mod_reqtimeout does
// with body=10,MinRate=500, the defaults: a body that keeps coming at 500
// bytes/s or faster never misses its deadline, one that trickles slower or
// stalls does, 10 s after it started plus 1 s per 500 bytes it sent. A body
// that misses its deadline fails: the request to the upstream is abandoned
// and the client gets 408 Request Timeout, with its connection closed
// (HTTP/1; over HTTP/2, only the stream ends).
package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/larder-cache/larder/internal/httpsyntax"
)

// DefaultViaName is the proxy's name in Via fields when Config.ViaName is "".
const DefaultViaName = "larder"

// Config configures a proxy. Only Upstream is required: the zero value of
// every other field is a sensible default.
type Config struct {
	// Upstream is where requests go: an absolute http or https URL with a
	// host and no user information. A path prefixes every request's path
	// (with Upstream http://app:9000/base, /x goes to /base/x) and a query
	// is joined to every request's query, as httputil.ProxyRequest.SetURL
	// does. New copies it.
	Upstream *url.URL

	// RewriteHost sends the upstream's host as the Host field. By default
	// the client's Host is kept: a cache in front keys its entries on it, and
	// virtual hosts at the upstream may depend on it.
	RewriteHost bool

	// Timeout bounds the wait for the upstream's response header after the
	// request is sent, and the connection attempt if shorter than 30 s; the
	// client then gets a 504. Zero means no bound. It configures the default
	// transport, NewTransport(Timeout): with a Transport of your own, set
	// that transport's timeouts instead. New rejects a Config with both.
	Timeout time.Duration

	// Transport sends the requests to the upstream. Nil means
	// NewTransport(Timeout), made for this proxy, whose idle connections
	// close after 90 s unused. Pass a transport of your own to close them
	// sooner (CloseIdleConnections: at shutdown, at the end of a test) or to
	// tune it.
	Transport http.RoundTripper

	// ErrorLog receives the failed upstream requests (at Warn, or at Debug
	// when the client went away first) and the errors httputil.ReverseProxy
	// logs by itself. Nil discards them.
	ErrorLog *slog.Logger

	// OnUpstream, if not nil, is called after every request to the upstream
	// with the time from sending it to receiving the response header (or to
	// failing), and the failure, nil when a response came. A failure wraps
	// ErrTimeout when the upstream took too long (the client gets 504) and
	// ErrClientGone when the client went away first; any other failure is a
	// 502. It is called on the request's goroutine, so it must be fast and
	// safe for concurrent use; metrics are its purpose.
	OnUpstream func(d time.Duration, err error)

	// ViaName is the proxy's name in Via fields: a pseudonym rather than a
	// host name, so that no internal name leaks. It must be an RFC 9110
	// token. "" means DefaultViaName.
	ViaName string

	// BodyTimeout bounds the time the client may take to send its request
	// body, from the moment the proxy gets the request, extended by
	// BodyMinRate. A body that misses it fails, the request to the upstream
	// is abandoned and the client gets 408 (see the package documentation).
	// Zero means DefaultBodyTimeout (10 s); negative means no bound. The
	// bound is a read deadline on the client's connection, which the
	// ResponseWriter must support (http.ResponseController.SetReadDeadline:
	// net/http's server does, over HTTP/1 and HTTP/2, and so do writers that
	// unwrap to it); with one that does not, the body is not timed.
	BodyTimeout time.Duration

	// BodyMinRate, in bytes per second, extends BodyTimeout by one second
	// per BodyMinRate bytes of the body received, so that a large body sent
	// at a decent rate is not cut. Zero means DefaultBodyMinRate (500);
	// negative means no extension: the whole body within BodyTimeout.
	BodyMinRate int64

	// PassFields names request fields that the proxy strips by default
	// (StrippedFields) and should forward after all, case-insensitively.
	// A cache in front does not key on them: the origin must list each one
	// it reads in Vary, or one client's value decides the response that
	// every client gets. New rejects a name that is not a stripped field.
	PassFields []string
}

// strippedFields are the request fields the proxy does not forward unless
// Config.PassFields names them, in their usual spelling.
var strippedFields = []string{
	"X-Original-URL", "X-Rewrite-URL",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
	"X-Forwarded-Scheme", "X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Prefix",
	"X-Host", "X-Forwarded-Ssl", "Front-End-Https",
}

// StrippedFields returns the request fields the proxy removes before
// forwarding unless Config.PassFields names them: fields that origins
// commonly honour to override the request's target, method, scheme, port or
// host, and that a cache does not key on. The slice is a fresh copy.
func StrippedFields() []string { return slices.Clone(strippedFields) }

// Errors wrapped by the failures Config.OnUpstream receives, saying why the
// upstream did not answer. Any other failure (a refused connection, a reset,
// a malformed response) is a 502.
var (
	// ErrTimeout is a request to the upstream that took too long: the
	// response header timeout, a dial timeout or a deadline. The client gets
	// 504 Gateway Timeout.
	ErrTimeout = errors.New("proxy: upstream timed out")
	// ErrClientGone is a request to the upstream cancelled because the client
	// went away (its request's context ended) before the upstream answered.
	ErrClientGone = errors.New("proxy: client went away")
)

// New returns a reverse proxy to cfg.Upstream, as an http.Handler meant to be
// put behind a cache (larder.Cache.Middleware). It returns an error when cfg
// is not usable: no Upstream, an Upstream that is not an absolute http or
// https URL with a host, a negative Timeout, a Timeout with a Transport, a
// ViaName that is not a token, or a PassFields name that is not a stripped
// field.
func New(cfg Config) (http.Handler, error) {
	u := cfg.Upstream
	switch {
	case u == nil:
		return nil, errors.New("proxy: no Upstream")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("proxy: Upstream %q: scheme must be http or https", u.Redacted())
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("proxy: Upstream %q: no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("proxy: Upstream %q: user information is not supported", u.Redacted())
	case cfg.Timeout < 0:
		return nil, errors.New("proxy: negative Timeout")
	case cfg.Timeout != 0 && cfg.Transport != nil:
		return nil, errors.New("proxy: Timeout is for the default transport: with a Transport, set its own timeouts")
	}
	via := cfg.ViaName
	if via == "" {
		via = DefaultViaName
	}
	if !httpsyntax.IsToken(via) {
		return nil, fmt.Errorf("proxy: ViaName %q is not a token", via)
	}
	strip := make(map[string]bool, len(strippedFields))
	for _, f := range strippedFields {
		strip[http.CanonicalHeaderKey(f)] = true
	}
	for _, f := range cfg.PassFields {
		k := http.CanonicalHeaderKey(f)
		if !strip[k] {
			return nil, fmt.Errorf("proxy: PassFields: %q is not a field the proxy strips (%s)", f, strings.Join(strippedFields, ", "))
		}
		delete(strip, k)
	}
	logger := cfg.ErrorLog
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rt := cfg.Transport
	if rt == nil {
		rt = NewTransport(cfg.Timeout)
	}
	if cfg.OnUpstream != nil {
		rt = timedTransport{next: rt, hook: cfg.OnUpstream}
	}

	target := *u
	target.Fragment, target.RawFragment = "", ""
	rewriteHost := cfg.RewriteHost
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&target)
			if !rewriteHost {
				pr.Out.Host = pr.In.Host
			}
			pr.SetXForwarded()
			for k := range strip {
				delete(pr.Out.Header, k)
			}
			if pr.Out.Method == http.MethodGet || pr.Out.Method == http.MethodHead {
				dropBody(pr.Out)
			}
			appendVia(pr.Out.Header, pr.In.ProtoMajor, pr.In.ProtoMinor, via)
		},
		Transport: rt,
		ModifyResponse: func(resp *http.Response) error {
			appendVia(resp.Header, resp.ProtoMajor, resp.ProtoMinor, via)
			return nil
		},
		ErrorHandler: errorHandler(logger),
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &handler{next: rp, limits: newBodyLimits(cfg.BodyTimeout, cfg.BodyMinRate)}, nil
}

// dropBody makes r a request without content: what a GET or HEAD has. The
// inbound body stays with the server, which discards it.
func dropBody(r *http.Request) {
	r.Body, r.GetBody = nil, nil
	r.ContentLength = 0
	r.TransferEncoding = nil
	r.Trailer = nil
	r.Header.Del("Content-Length")
	r.Header.Del("Transfer-Encoding")
	r.Header.Del("Trailer")
}

// appendVia appends the proxy to the Via field of h (RFC 9110 §7.6.3): the
// protocol version the message was received with, then the pseudonym. An
// existing Via is kept, the proxy joining its last line.
func appendVia(h http.Header, major, minor int, name string) {
	proto := strconv.Itoa(major)
	if major < 2 {
		proto += "." + strconv.Itoa(minor)
	}
	via := proto + " " + name
	if old := h["Via"]; len(old) > 0 {
		vs := make([]string, len(old))
		copy(vs, old)
		vs[len(vs)-1] += ", " + via
		h["Via"] = vs
		return
	}
	h["Via"] = []string{via}
}
