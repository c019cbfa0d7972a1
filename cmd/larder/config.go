package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/bytesize"
	"github.com/larder-cache/larder/proxy"
)

// envPrefix prefixes the environment variable of every flag: --admin-token is
// LARDER_ADMIN_TOKEN.
const envPrefix = "LARDER_"

// config is the daemon's validated configuration.
type config struct {
	upstream          *url.URL
	listen            string
	store             storeConfig
	admin             string
	adminToken        string
	maxObjectSize     int64
	bodyBuffer        int64 // --body-buffer
	upstreamTimeout   time.Duration
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	shutdownTimeout   time.Duration
	rewriteHost       bool
	logFormat         string
	logLevel          slog.Level
	accessLog         bool
	accessLogFormat   accessFormat
	accessLogStdout   bool          // the access log on stdout, not stderr
	accessLogBuffer   int           // bytes; 0: each line written at once
	accessLogFlush    time.Duration // the longest a line waits in the buffer
	bodyTimeout       time.Duration // 0: the body is not timed
	bodyMinRate       int64         // bytes/s; 0: no extension
	upstreamMaxConns  int           // 0: unlimited
	passHeaders       []string      // canonical names
	maxErrorTTL       time.Duration // 0: no cap
	fleetCoalescing   time.Duration // --fleet-coalescing; 0: off
	maxKeySize        int
	invalidateUnknown bool     // any method not known safe invalidates (RFC 9111 §4.4)
	keyDropQuery      []string // query parameter names, NAME* a prefix
	keySortQuery      bool
	keyCookies        []string
	keyHeaders        []string // canonical names
	purgePrefixDepth  int      // -1: prefix purge off
	keepTagFields     bool
}

// errHelp is returned by parseConfig when --help was asked for; the usage has
// then been written.
var errHelp = flag.ErrHelp

// envName is the environment variable read for a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads the flags, falling back on the LARDER_* environment for
// each one not given, and validates the result. Usage goes to stdout on
// --help; every error is one line meant for stderr.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (*config, error) {
	fs := flag.NewFlagSet("larder", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		upstream, store, logFormat, logLevel string
		accessFormatName, accessOutput       string
		accessBuffer                         = bufferSizeValue(defaultAccessLogBuffer)
		c                                    = config{maxObjectSize: larder.DefaultMaxObjectSize}
		passHeaders                          listValue
		keyDrop, keyCookies, keyHeaders      listValue
	)
	maxObject := sizeValue(c.maxObjectSize)
	bodyBuffer := sizeValue(larder.DefaultBodyBuffer)
	maxKey := sizeValue(larder.DefaultMaxKeySize)
	bodyMinRate := rateValue(proxy.DefaultBodyMinRate)
	fs.StringVar(&upstream, "upstream", "", "origin `URL` (http or https) the proxy forwards to; required")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "`address` the proxy listens on")
	fs.StringVar(&store, "store", defaultStore, "cache store `URL`: memory://?size=SIZE, redis://host:port/db, redis+cluster://h1:p1,h2:p2, redis+sentinel://h:26379/master, memcache://h1:11211,h2:11211, disk:///dir?size=SIZE, tiered:memory?size=SIZE+REDIS-URL")
	fs.StringVar(&c.admin, "admin", "", "`address` of the admin API (purge, /metrics, /healthz); off when empty")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer `token` the admin API requires; mandatory unless --admin is a loopback address (prefer the environment variable)")
	fs.Var(&maxObject, "max-object-size", "largest response body stored (`SIZE`: 1000000, 512KiB, 8MiB, 1GiB, ...)")
	fs.Var(&bodyBuffer, "body-buffer", "with --store disk://: largest body held in memory while it is stored; a larger one streams into the store as it goes to the client, up to --max-object-size (`SIZE`)")
	fs.DurationVar(&c.upstreamTimeout, "upstream-timeout", 30*time.Second, "how long to wait for the upstream's response header (504 after)")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send a request header")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 120*time.Second, "how long an idle client keep-alive connection is kept")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests, and the cache's background revalidations, may run on after SIGINT/SIGTERM")
	fs.BoolVar(&c.rewriteHost, "rewrite-host", false, "send the upstream's host as Host instead of the client's")
	fs.StringVar(&logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.BoolVar(&c.accessLog, "access-log", true, "log every request (method, path, status, cache outcome, bytes, duration)")
	fs.StringVar(&accessFormatName, "access-log-format", "", "access log `format`: text or json (lines of the daemon's log, at level info: off with --log-level warn or error), common or combined (nginx's, for GoAccess and other tools that read it); default: the --log-format")
	fs.StringVar(&accessOutput, "access-log-output", "stderr", "where the access log goes: stderr (with the daemon's log) or stdout (alone)")
	fs.Var(&accessBuffer, "access-log-buffer", "most access log bytes (`SIZE`) waiting to be written, in memory; lines beyond it, when the output cannot keep up, are dropped and counted (larder_access_log_dropped_total); 0: no buffer, each request writes its line, blocking while the output blocks")
	fs.DurationVar(&c.accessLogFlush, "access-log-flush", defaultAccessLogFlush, "longest an access log line waits in the buffer before it is written (sooner once 32KiB are waiting; all at shutdown)")
	fs.DurationVar(&c.bodyTimeout, "body-timeout", proxy.DefaultBodyTimeout, "how long a client may take to send a request body, plus 1s per --body-min-rate bytes received (408 and the connection closed after); 0: no limit")
	fs.Var(&bodyMinRate, "body-min-rate", "bytes per second (`SIZE`: 500, 1KiB, ...): each that many bytes of a request body received extend --body-timeout by 1s; 0: no extension, the whole body within --body-timeout")
	fs.IntVar(&c.upstreamMaxConns, "upstream-max-conns", 0, "most connections (`N`) open to the upstream at once, requests beyond waiting for one; 0: unlimited")
	fs.Var(&passHeaders, "pass-header", "forward the request field `NAME`, which the proxy strips by default, repeatable or comma-separated; the origin must then list it in Vary, since the cache keys without it. Stripped: "+strings.Join(proxy.StrippedFields(), ", "))
	fs.DurationVar(&c.fleetCoalescing, "fleet-coalescing", 0, "fleet-wide coalescing: a miss waits up to `D` for another node sharing the store that is fetching the same URL (a short lock per URL in the store: redis, and tiered over redis), and is served what that node stored; at most D, also when that node dies; 0: off (each node coalesces its own misses)")
	fs.DurationVar(&c.maxErrorTTL, "max-error-ttl", 5*time.Second, "longest an error response (status 400-599) is kept, fresh or stale, whatever its Cache-Control; 0: no cap")
	fs.Var(&maxKey, "max-key-size", "`SIZE` of the longest cache key (the request's absolute URL, plus the fields it varies on); a request with a longer one is forwarded, and its response not stored")
	fs.BoolVar(&c.invalidateUnknown, "invalidate-unknown-methods", true, "let a successful request with a method not known to be safe invalidate its URL (RFC 9111 §4.4); false: only the registered unsafe methods (POST, PUT, DELETE, PATCH, WebDAV's) do")
	fs.Var(&keyDrop, "key-drop-query", "leave the query parameter `NAME` out of the cache key and out of the request forwarded (so that the upstream never sees what the key ignores), repeatable or comma-separated; NAME* is every name starting with NAME, e.g. utm_*,fbclid,gclid")
	fs.BoolVar(&c.keySortQuery, "key-sort-query", false, "sort the query parameters by name, in the cache key and in the request forwarded: /a?b=1&a=2 and /a?a=2&b=1 are one entry")
	fs.Var(&keyCookies, "key-cookie", "store a copy of each response per value of the cookie `NAME`, as if it had Vary on it (the value is hashed in the key), repeatable or comma-separated")
	fs.Var(&keyHeaders, "key-header", "store a copy of each response per value of the request field `NAME`, as if it had Vary on it (the value is hashed in the key), repeatable or comma-separated")
	fs.IntVar(&c.purgePrefixDepth, "purge-prefix-depth", 3, "index every stored URL under its host and its directories down to `N` path segments, for purge by prefix (PURGE /docs/v2/*, POST /purge with prefixes): N+1 index records per URL; -1: prefix purge off")
	fs.BoolVar(&c.keepTagFields, "keep-tag-fields", false, "pass the upstream's tag fields (Surrogate-Key, Cache-Tag, xkey) on to clients, and store them; by default the proxy reads them for purge by tag and removes them")
	help := fs.Bool("help", false, "show this help and exit")
	fs.BoolVar(help, "h", false, "show this help and exit")

	// The environment first, so that flags given on the command line override it.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || f.Name == "help" || f.Name == "h" {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("invalid value for %s: %v", name, err)
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	// The command line replaces the environment's lists.
	for _, l := range []*listValue{&passHeaders, &keyDrop, &keyCookies, &keyHeaders} {
		l.fromEnv = true
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return nil, errHelp
		}
		return nil, fmt.Errorf("%v (see larder --help)", firstLine(err.Error()))
	}
	if *help {
		usage(fs, stdout)
		return nil, errHelp
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see larder --help)", fs.Arg(0))
	}

	var err error
	if c.upstream, err = parseUpstream(upstream); err != nil {
		return nil, err
	}
	if c.store, err = parseStore(store); err != nil {
		return nil, err
	}
	if c.listen == "" {
		return nil, errors.New("--listen must not be empty")
	}
	c.maxObjectSize = int64(maxObject)
	c.bodyBuffer = int64(bodyBuffer)
	if int64(maxKey) > math.MaxInt32 {
		return nil, fmt.Errorf("--max-key-size %s: too large (want under 2GiB)", maxKey.String())
	}
	c.maxKeySize = int(maxKey)
	c.bodyMinRate = int64(bodyMinRate)
	if c.upstreamMaxConns < 0 {
		return nil, errors.New("--upstream-max-conns must not be negative (0: unlimited)")
	}
	if c.passHeaders, err = checkPassHeaders(passHeaders.vals); err != nil {
		return nil, err
	}
	if err = c.checkKeyFlags(keyDrop.vals, keyCookies.vals, keyHeaders.vals); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"upstream-timeout", c.upstreamTimeout},
		{"read-header-timeout", c.readHeaderTimeout},
		{"idle-timeout", c.idleTimeout},
		{"shutdown-timeout", c.shutdownTimeout},
		{"body-timeout", c.bodyTimeout},
		{"max-error-ttl", c.maxErrorTTL},
		{"fleet-coalescing", c.fleetCoalescing},
	} {
		if d.v < 0 {
			return nil, fmt.Errorf("--%s must not be negative", d.name)
		}
	}
	switch logFormat {
	case "text", "json":
		c.logFormat = logFormat
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", logFormat)
	}
	if err := c.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
	}
	if err := c.checkAccessLog(accessFormatName, accessOutput, int64(accessBuffer)); err != nil {
		return nil, err
	}
	if c.admin != "" && c.adminToken == "" && !isLoopback(c.admin) {
		return nil, fmt.Errorf("--admin %s is not a loopback address: set --admin-token (or %s)", c.admin, envName("admin-token"))
	}
	return &c, nil
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `larder: a caching reverse proxy (RFC 9111 HTTP cache) in front of one upstream.

Usage:
  larder --upstream URL [flags]

Every flag can also be set in the environment as LARDER_<NAME>, upper case with
dashes as underscores (--admin-token is LARDER_ADMIN_TOKEN); a flag on the
command line overrides the environment.

Flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "h" {
			return
		}
		arg, text := flag.UnquoteUsage(f)
		if arg == "value" {
			arg = ""
		}
		fmt.Fprintf(w, "  --%s\n", strings.TrimSpace(f.Name+" "+arg))
		fmt.Fprintf(w, "        %s", text)
		if f.DefValue != "" && f.DefValue != "false" && f.Name != "help" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		if f.Name != "help" {
			fmt.Fprintf(w, "\n        env %s", envName(f.Name))
		}
		fmt.Fprintln(w)
	})
	fmt.Fprint(w, `
Admin API (on --admin):
  PURGE /path?query   with "Host: site" removes every stored variant of that URL
  GET /metrics        Prometheus metrics
  GET /healthz        "ok"
  With a token, every admin request needs "Authorization: Bearer TOKEN".

Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime
failure, 2 on a configuration error.
`)
}

func parseUpstream(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("--upstream is required (or %s)", envName("upstream"))
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--upstream %q: %v", s, cause(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("--upstream %q: scheme must be http or https", s)
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("--upstream %q: no host", s)
	case u.User != nil:
		return nil, fmt.Errorf("--upstream %q: user information is not supported", s)
	case u.Fragment != "":
		return nil, fmt.Errorf("--upstream %q: a fragment makes no sense here", s)
	}
	return u, nil
}

// checkPassHeaders canonicalises the --pass-header names, each of which must
// be a field the proxy strips.
func checkPassHeaders(names []string) ([]string, error) {
	stripped := proxy.StrippedFields()
	var out []string
	for _, n := range names {
		k := http.CanonicalHeaderKey(n)
		if !slices.ContainsFunc(stripped, func(s string) bool { return http.CanonicalHeaderKey(s) == k }) {
			return nil, fmt.Errorf("--pass-header %q: not a field the proxy strips (%s)", n, strings.Join(stripped, ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// checkKeyFlags validates the --key-* lists into c: a "*" only at the end
// of a parameter name, cookie and field names that are tokens
// (RFC 6265 §4.1.1, RFC 9110 §5.1), and no Host, which the key has already.
func (c *config) checkKeyFlags(drop, cookies, headers []string) error {
	for _, n := range drop {
		if i := strings.IndexByte(n, '*'); i >= 0 && i != len(n)-1 {
			return fmt.Errorf("--key-drop-query %q: a * only at the end (a prefix)", n)
		}
	}
	for _, n := range cookies {
		if !isToken(n) {
			return fmt.Errorf("--key-cookie %q: not a cookie name", n)
		}
	}
	for _, n := range headers {
		k := http.CanonicalHeaderKey(n)
		if !isToken(n) || k == "Host" {
			return fmt.Errorf("--key-header %q: not a request field name (Host is in the key already)", n)
		}
		if !slices.Contains(c.keyHeaders, k) {
			c.keyHeaders = append(c.keyHeaders, k)
		}
	}
	c.keyDropQuery, c.keyCookies = drop, cookies
	return nil
}

// isToken reports whether s is a token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// listValue is a repeatable flag.Value of comma-separated names. Once
// fromEnv is set, the next Set (from the command line) replaces the list
// the environment gave instead of adding to it.
type listValue struct {
	vals    []string
	fromEnv bool
}

func (l *listValue) Set(v string) error {
	if l.fromEnv {
		l.vals, l.fromEnv = nil, false
	}
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			l.vals = append(l.vals, f)
		}
	}
	return nil
}

func (l *listValue) String() string { return strings.Join(l.vals, ",") }

// rateValue is a flag.Value holding bytes per second: 0, or a size in the
// parseSize syntax, optionally followed by "/s".
type rateValue int64

func (r *rateValue) Set(v string) error {
	t := strings.TrimSuffix(strings.TrimSpace(v), "/s")
	if strings.TrimSpace(t) == "0" {
		*r = 0
		return nil
	}
	n, err := parseSize(t)
	if err != nil {
		return err
	}
	*r = rateValue(n)
	return nil
}

func (r *rateValue) String() string { return formatSize(int64(*r)) }

// sizeValue is a flag.Value holding a byte count in the parseSize syntax.
type sizeValue int64

func (s *sizeValue) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}

func (s *sizeValue) String() string { return formatSize(int64(*s)) }

// parseSize parses a positive byte count: a plain number of bytes, or a
// number with a unit, binary (KiB, MiB, GiB, TiB) or decimal (KB, MB, GB,
// TB), case-insensitive (internal/bytesize).
func parseSize(s string) (int64, error) { return bytesize.Parse(s) }

// formatSize writes n in the largest binary unit that divides it exactly.
func formatSize(n int64) string { return bytesize.Format(n) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
