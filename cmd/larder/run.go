package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/tiered"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a failure while serving
	exitConfig  = 2 // a bad flag or value, or a listener that cannot be bound
)

// cacheName is the cache's name in Cache-Status.
const cacheName = "Larder"

// viaName is the proxy's pseudonym in Via fields.
const viaName = proxy.DefaultViaName

// addrs are the addresses the daemon listens on, once bound.
type addrs struct {
	listen string
	admin  string // "" without --admin
}

// runOption adjusts run for tests.
type runOption func(*runOptions)

type runOptions struct {
	ready func(addrs)      // called once both listeners are bound and serving
	clock func() time.Time // the cache's and the store's clock
}

// withReady has run report the bound addresses (for --listen 127.0.0.1:0).
func withReady(fn func(addrs)) runOption { return func(o *runOptions) { o.ready = fn } }

// withClock gives the cache and the store a fake clock.
func withClock(now func() time.Time) runOption { return func(o *runOptions) { o.clock = now } }

// run is the daemon: it serves until ctx is done, then shuts down gracefully,
// and returns the process exit code. Configuration errors are one line on
// stderr and exit code 2, before anything is served.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts ...runOption) int {
	var o runOptions
	for _, fn := range opts {
		fn(&o)
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "larder: "+format+"\n", a...)
		return exitConfig
	}
	if err != nil {
		return fail("%v", err)
	}
	logger := newLogger(cfg, stderr)

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail("--listen %s: %v", cfg.listen, cause(err))
	}
	var adminLn net.Listener
	if cfg.admin != "" {
		if adminLn, err = net.Listen("tcp", cfg.admin); err != nil {
			ln.Close()
			return fail("--admin %s: %v", cfg.admin, cause(err))
		}
	}
	store, stats, closeStore, err := openStore(cfg.store, o.clock)
	if err != nil {
		ln.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		return fail("--store: %v", err)
	}
	defer closeStore()

	m := newMetrics(stats)
	if ts, ok := store.(*tiered.Store); ok {
		m.reg.MustRegister(tieredCollector{ts})
	}
	store = instrumentStore(store, newStoreMetrics(m.reg))
	cache := larder.New(store, cacheOptions(cfg, o, m, logger)...)
	transport := newTransport(cfg)
	defer transport.CloseIdleConnections()
	upstream, err := proxy.New(proxyConfig(cfg, transport, m, logger))
	if err != nil {
		ln.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		return fail("--upstream: %v", err)
	}

	alog := newAccessLog(cfg, stdout, stderr, logger) // nil when off; closed below, once the servers are
	m.reg.MustRegister(accessLogCollector{alog})
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	servers := []*http.Server{{
		Handler:           &accessLog{next: cache.Middleware(upstream), logger: logger, out: alog},
		ConnContext:       alog.ConnContext(), // the access log's outcome slot, per connection
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		IdleTimeout:       cfg.idleTimeout,
		ErrorLog:          errorLog,
	}}
	listeners := []net.Listener{ln}
	bound := addrs{listen: ln.Addr().String()}
	if adminLn != nil {
		servers = append(servers, &http.Server{
			Handler:           newAdmin(cache, m, cfg.adminToken, logger),
			ReadHeaderTimeout: cfg.readHeaderTimeout,
			IdleTimeout:       cfg.idleTimeout,
			ErrorLog:          errorLog,
		})
		listeners = append(listeners, adminLn)
		bound.admin = adminLn.Addr().String()
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	logger.Info("larder serving", "listen", bound.listen, "upstream", cfg.upstream.Redacted(),
		"admin", bound.admin, "store", cfg.store.scheme, "store_bytes", cfg.store.size)
	if o.ready != nil {
		o.ready(bound)
	}

	code := exitOK
	running := len(servers)
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.shutdownTimeout)
	case err := <-errc:
		running--
		logger.Error("serving failed", "err", err)
		code = exitFailure
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	shutdown(stopCtx, servers, logger)
	// The servers are closed, but revalidations the cache started in the
	// background may still be running: they write to the store, so wait for
	// them, within what is left of the shutdown timeout, before it is closed.
	closeCache(stopCtx, cache, logger)
	for ; running > 0; running-- {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving failed", "err", err)
			code = exitFailure
		}
	}
	alog.Close() // the lines still buffered
	logger.Info("stopped")
	return code
}

// cacheOptions configures the cache from the flags.
func cacheOptions(cfg *config, o runOptions, m *metrics, logger *slog.Logger) []larder.Option {
	copts := []larder.Option{
		larder.WithName(cacheName),
		larder.WithMaxObjectSize(cfg.maxObjectSize),
		larder.WithBodyBuffer(cfg.bodyBuffer),
		larder.WithMaxKeySize(cfg.maxKeySize),
		larder.WithMaxErrorLifetime(cfg.maxErrorTTL),
		larder.WithLogger(slog.New(newLimitHandler(logger.Handler(), storeLogInterval, nil))),
		larder.WithObserver(func(ev larder.Event) {
			m.observe(ev)
			if cfg.accessLog {
				recordOutcome(ev) // a context lookup per request, for the log line only
			}
		}),
	}
	if !cfg.invalidateUnknown {
		copts = append(copts, larder.WithKnownMethodInvalidation())
	}
	if len(cfg.keyDropQuery) > 0 {
		copts = append(copts, larder.WithKeyDropQuery(cfg.keyDropQuery...))
	}
	if cfg.keySortQuery {
		copts = append(copts, larder.WithKeySortQuery())
	}
	if len(cfg.keyCookies) > 0 {
		copts = append(copts, larder.WithKeyCookie(cfg.keyCookies...))
	}
	if len(cfg.keyHeaders) > 0 {
		copts = append(copts, larder.WithKeyHeader(cfg.keyHeaders...))
	}
	if cfg.purgePrefixDepth >= 0 {
		copts = append(copts, larder.WithPrefixPurge(cfg.purgePrefixDepth))
	}
	if cfg.keepTagFields {
		copts = append(copts, larder.WithKeepTagFields())
	}
	if cfg.fleetCoalescing > 0 {
		copts = append(copts, larder.WithFleetCoalescing(cfg.fleetCoalescing))
	}
	if o.clock != nil {
		copts = append(copts, larder.WithClock(o.clock))
	}
	return copts
}

// newTransport is the transport to the upstream.
func newTransport(cfg *config) *http.Transport {
	t := proxy.NewTransport(cfg.upstreamTimeout)
	t.MaxConnsPerHost = cfg.upstreamMaxConns
	return t
}

// proxyConfig configures the proxy from the flags. The flags' zero values
// turn the body timeout off, where the proxy package's mean its defaults.
func proxyConfig(cfg *config, transport http.RoundTripper, m *metrics, logger *slog.Logger) proxy.Config {
	pc := proxy.Config{
		Upstream:    cfg.upstream,
		RewriteHost: cfg.rewriteHost,
		Transport:   transport,
		ErrorLog:    logger,
		OnUpstream:  m.upstreamDone,
		ViaName:     viaName,
		BodyTimeout: cfg.bodyTimeout,
		BodyMinRate: cfg.bodyMinRate,
		PassFields:  cfg.passHeaders,
	}
	if pc.BodyTimeout == 0 {
		pc.BodyTimeout = -1
	}
	if pc.BodyMinRate == 0 {
		pc.BodyMinRate = -1
	}
	return pc
}

// shutdown stops the servers accepting and waits until ctx is done for the
// requests in flight; connections still busy after that are closed.
func shutdown(ctx context.Context, servers []*http.Server, logger *slog.Logger) {
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				logger.Warn("shutdown timed out: closing the remaining connections", "err", err)
				_ = srv.Close()
			}
		})
	}
	wg.Wait()
}

// closeGrace is how long closeCache waits at least, so that a Close with
// nothing to wait for is not taken for a timeout when the shutdown deadline
// has passed already.
const closeGrace = 50 * time.Millisecond

// closeCache waits until ctx is done (or closeGrace, if longer) for the
// cache's background revalidations: cache.Close. Past that it gives up on
// them: the process is about to exit, and a revalidation cut short only
// loses one update of the store.
func closeCache(ctx context.Context, cache io.Closer, logger *slog.Logger) {
	done := make(chan struct{})
	go func() {
		_ = cache.Close()
		close(done)
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	select {
	case <-done:
		return
	case <-grace.C:
	}
	select {
	case <-done:
	case <-ctx.Done():
		logger.Warn("shutdown timed out: not waiting for the background revalidations still running")
	}
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	hopts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// cause drops the operation wrapping of a net error, which repeats the address.
func cause(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}
