package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/testnet"
	"github.com/larder-cache/larder/proxy"
)

// roundTripFunc is a fake transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// upstreamCalls records what Config.OnUpstream was called with.
type upstreamCalls struct {
	mu    sync.Mutex
	durs  []time.Duration
	fails []error
}

func (u *upstreamCalls) hook(d time.Duration, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.durs = append(u.durs, d)
	u.fails = append(u.fails, err)
}

func (u *upstreamCalls) get() ([]time.Duration, []error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Duration(nil), u.durs...), append([]error(nil), u.fails...)
}

// checkGatewayError checks a 502 or 504 of the proxy: plain text, no-store,
// short, saying what happened without internals.
func checkGatewayError(t *testing.T, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %q", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if !strings.HasPrefix(r.body, strconv.Itoa(status)+" ") {
		t.Errorf("body %q does not say what happened", r.body)
	}
	if len(r.body) > 200 || strings.Contains(r.body, "goroutine") || strings.Contains(r.body, "dial tcp") {
		t.Errorf("body %q: want a short message, no internals", r.body)
	}
}

// refusedURL is an address where nothing listens.
func refusedURL(t *testing.T) *url.URL {
	t.Helper()
	return &url.URL{Scheme: "http", Host: testnet.RefusedAddr(t)}
}

func TestUpstreamDown(t *testing.T) {
	var calls upstreamCalls
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: refusedURL(t), OnUpstream: calls.hook, ErrorLog: logger}))

	checkGatewayError(t, do(t, c, srv, http.MethodGet, "/"), http.StatusBadGateway)
	if r := do(t, c, srv, http.MethodHead, "/"); r.StatusCode != http.StatusBadGateway || r.body != "" {
		t.Errorf("HEAD: %d %q, want a 502 without a body", r.StatusCode, r.body)
	}
	_, fails := calls.get()
	if len(fails) != 2 {
		t.Fatalf("OnUpstream called %d times, want 2", len(fails))
	}
	for _, err := range fails {
		if err == nil || errors.Is(err, proxy.ErrTimeout) || errors.Is(err, proxy.ErrClientGone) {
			t.Errorf("OnUpstream error %v, want a plain failure (502)", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "upstream request failed") ||
		!strings.Contains(s, "reason=unreachable") || !strings.Contains(s, "refused") {
		t.Errorf("log does not report the failure:\n%s", s)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestUpstreamDownNotStored(t *testing.T) {
	// Behind a cache, a 502 is not stored: the next request tries again.
	srv, c := serve(t, larder.New(nil).Middleware(newProxy(t, proxy.Config{Upstream: refusedURL(t)})))
	for range 2 {
		r := do(t, c, srv, http.MethodGet, "/")
		checkGatewayError(t, r, http.StatusBadGateway)
		if cs := r.Header.Get("Cache-Status"); strings.Contains(cs, "stored") || strings.Contains(cs, "hit") {
			t.Errorf("Cache-Status %q: the 502 was stored", cs)
		}
	}
}

func TestUpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	var calls upstreamCalls
	// The default transport, with its response header timeout.
	p, err := proxy.New(proxy.Config{Upstream: o.url(t, ""), Timeout: 100 * time.Millisecond, OnUpstream: calls.hook})
	if err != nil {
		t.Fatal(err)
	}
	srv, c := serve(t, p)
	checkGatewayError(t, do(t, c, srv, http.MethodGet, "/slow"), http.StatusGatewayTimeout)
	durs, fails := calls.get()
	if len(fails) != 1 || !errors.Is(fails[0], proxy.ErrTimeout) {
		t.Fatalf("OnUpstream errors %v, want one ErrTimeout", fails)
	}
	if durs[0] < 100*time.Millisecond {
		t.Errorf("OnUpstream duration %v, want at least the timeout", durs[0])
	}
}

func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		is     error
	}{
		{"refused", &net.OpError{Op: "dial", Err: io.EOF}, http.StatusBadGateway, nil},
		{"reset", io.ErrUnexpectedEOF, http.StatusBadGateway, nil},
		{"timeout", &net.DNSError{IsTimeout: true}, http.StatusGatewayTimeout, proxy.ErrTimeout},
		{"deadline", context.DeadlineExceeded, http.StatusGatewayTimeout, proxy.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls upstreamCalls
			p := newProxy(t, proxy.Config{
				Upstream:   &url.URL{Scheme: "http", Host: "upstream.test"},
				Transport:  roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, tt.err }),
				OnUpstream: calls.hook,
			})
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Length", "99999") // left over: must not survive
			rec.Header().Set("Cache-Status", "x")       // likewise
			p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %s for a body of %d", cl, rec.Body.Len())
			}
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("header %v: want no-store and nosniff", rec.Header())
			}
			if rec.Header().Get("Cache-Status") != "" {
				t.Error("a field set before the error survived")
			}
			_, fails := calls.get()
			if len(fails) != 1 || !errors.Is(fails[0], tt.err) {
				t.Fatalf("OnUpstream errors %v, want one wrapping %v", fails, tt.err)
			}
			if tt.is != nil && !errors.Is(fails[0], tt.is) {
				t.Errorf("OnUpstream error %v does not wrap %v", fails[0], tt.is)
			}
			if tt.is == nil && (errors.Is(fails[0], proxy.ErrTimeout) || errors.Is(fails[0], proxy.ErrClientGone)) {
				t.Errorf("OnUpstream error %v is classified; want a plain failure", fails[0])
			}
		})
	}
}

func TestClientGone(t *testing.T) {
	var calls upstreamCalls
	var logs bytes.Buffer
	var mu sync.Mutex
	p := newProxy(t, proxy.Config{
		Upstream: &url.URL{Scheme: "http", Host: "upstream.test"},
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}),
		OnUpstream: calls.hook,
		ErrorLog:   slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)), // Info: no Debug
	})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	time.AfterFunc(10*time.Millisecond, cancel)
	p.ServeHTTP(httptest.NewRecorder(), req)
	_, fails := calls.get()
	if len(fails) != 1 || !errors.Is(fails[0], proxy.ErrClientGone) || !errors.Is(fails[0], context.Canceled) {
		t.Fatalf("OnUpstream errors %v, want one ErrClientGone", fails)
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() != 0 {
		t.Errorf("a client going away was logged above Debug:\n%s", logs.String())
	}
}

func TestOnUpstreamSuccess(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	var calls upstreamCalls
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, ""), OnUpstream: calls.hook}))
	if r := do(t, c, srv, http.MethodGet, "/"); r.StatusCode != 200 || r.body != "ok" {
		t.Fatalf("%d %q", r.StatusCode, r.body)
	}
	durs, fails := calls.get()
	if len(fails) != 1 || fails[0] != nil {
		t.Fatalf("OnUpstream errors %v, want one nil", fails)
	}
	if durs[0] < 20*time.Millisecond {
		t.Errorf("OnUpstream duration %v, want at least the origin's 20ms", durs[0])
	}
}
