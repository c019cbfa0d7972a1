package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
)

func noEnv(string) string { return "" }

// TestParseConfigLimits covers the flags that bound what clients may do:
// their defaults, their values, and their environment variables.
func TestParseConfigLimits(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*config) bool
	}{
		{"defaults", nil, nil, func(c *config) bool {
			return c.bodyTimeout == 10*time.Second && c.bodyMinRate == 500 && c.upstreamMaxConns == 0 &&
				c.passHeaders == nil && c.maxErrorTTL == 5*time.Second && c.maxKeySize == larder.DefaultMaxKeySize &&
				c.invalidateUnknown
		}},
		{"body timeout", []string{"--body-timeout", "3s", "--body-min-rate", "1KiB"}, nil, func(c *config) bool {
			return c.bodyTimeout == 3*time.Second && c.bodyMinRate == 1024
		}},
		{"body timeout off", []string{"--body-timeout", "0", "--body-min-rate", "0"}, nil, func(c *config) bool {
			return c.bodyTimeout == 0 && c.bodyMinRate == 0
		}},
		{"body min rate per second", []string{"--body-min-rate", "2KB/s"}, nil, func(c *config) bool { return c.bodyMinRate == 2000 }},
		{"body from env", nil, map[string]string{"LARDER_BODY_TIMEOUT": "1m", "LARDER_BODY_MIN_RATE": "100"}, func(c *config) bool {
			return c.bodyTimeout == time.Minute && c.bodyMinRate == 100
		}},
		{"upstream max conns", []string{"--upstream-max-conns", "64"}, nil, func(c *config) bool { return c.upstreamMaxConns == 64 }},
		{"pass headers", []string{"--pass-header", "x-forwarded-prefix, X-Host", "--pass-header", "X-Original-URL", "--pass-header", "X-HOST"}, nil,
			func(c *config) bool {
				return slices.Equal(c.passHeaders, []string{"X-Forwarded-Prefix", "X-Host", "X-Original-Url"})
			}},
		{"pass headers from env", nil, map[string]string{"LARDER_PASS_HEADER": "X-Host,X-Forwarded-Port"}, func(c *config) bool {
			return slices.Equal(c.passHeaders, []string{"X-Host", "X-Forwarded-Port"})
		}},
		{"pass headers: the flag replaces the env", []string{"--pass-header", "X-Forwarded-Ssl"},
			map[string]string{"LARDER_PASS_HEADER": "X-Host"}, func(c *config) bool {
				return slices.Equal(c.passHeaders, []string{"X-Forwarded-Ssl"})
			}},
		{"max error ttl", []string{"--max-error-ttl", "30s"}, nil, func(c *config) bool { return c.maxErrorTTL == 30*time.Second }},
		{"max error ttl off", []string{"--max-error-ttl", "0"}, nil, func(c *config) bool { return c.maxErrorTTL == 0 }},
		{"max key size", []string{"--max-key-size", "64KiB"}, nil, func(c *config) bool { return c.maxKeySize == 64<<10 }},
		{"invalidate unknown methods off", []string{"--invalidate-unknown-methods=false"}, nil, func(c *config) bool { return !c.invalidateUnknown }},
		{"invalidate unknown methods off from env", nil, map[string]string{"LARDER_INVALIDATE_UNKNOWN_METHODS": "false"},
			func(c *config) bool { return !c.invalidateUnknown }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--upstream", "http://o"}, tt.args...)
			c, err := parseConfig(args, func(k string) string { return tt.env[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

// TestUpstreamMaxConns checks that the daemon's transport gets the limit.
func TestUpstreamMaxConns(t *testing.T) {
	for _, n := range []int{0, 1, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			args := []string{"--upstream", "http://o"}
			if n != 0 {
				args = append(args, "--upstream-max-conns", fmt.Sprint(n))
			}
			c, err := parseConfig(args, noEnv, nil)
			if err != nil {
				t.Fatal(err)
			}
			tr := newTransport(c)
			defer tr.CloseIdleConnections()
			if tr.MaxConnsPerHost != n {
				t.Errorf("MaxConnsPerHost = %d, want %d", tr.MaxConnsPerHost, n)
			}
			if tr.ResponseHeaderTimeout != 30*time.Second {
				t.Errorf("ResponseHeaderTimeout = %v: not the proxy's transport with --upstream-timeout", tr.ResponseHeaderTimeout)
			}
		})
	}
}

// TestProxyConfig checks the flags' zero values: off, where the proxy
// package's zero values are its defaults.
func TestProxyConfig(t *testing.T) {
	tests := []struct {
		args        []string
		timeout     time.Duration
		rate        int64
		passHeaders []string
	}{
		{nil, 10 * time.Second, 500, nil},
		{[]string{"--body-timeout", "0", "--body-min-rate", "0"}, -1, -1, nil},
		{[]string{"--body-timeout", "2s", "--body-min-rate", "1KiB", "--pass-header", "X-Host"}, 2 * time.Second, 1024, []string{"X-Host"}},
	}
	for _, tt := range tests {
		c, err := parseConfig(append([]string{"--upstream", "http://o"}, tt.args...), noEnv, nil)
		if err != nil {
			t.Fatal(err)
		}
		pc := proxyConfig(c, nil, newMetrics(nil), nil)
		if pc.BodyTimeout != tt.timeout || pc.BodyMinRate != tt.rate || !slices.Equal(pc.PassFields, tt.passHeaders) {
			t.Errorf("%v: BodyTimeout %v, BodyMinRate %d, PassFields %v; want %v, %d, %v",
				tt.args, pc.BodyTimeout, pc.BodyMinRate, pc.PassFields, tt.timeout, tt.rate, tt.passHeaders)
		}
	}
}

// TestBodyTimeout trickles a request body through the whole daemon (the
// access log's and the cache's writers between the server and the proxy).
func TestBodyTimeout(t *testing.T) {
	o := newOrigin(t, echo)
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0",
		"--body-timeout", "200ms", "--body-min-rate", "1KiB"}, nil)

	// A normal upload passes.
	big := strings.Repeat("u", 256<<10)
	if r := d.do(http.MethodPost, "/up", nil, big); r.StatusCode != http.StatusAccepted || r.body != "POST "+big {
		t.Fatalf("upload: %d, %d bytes", r.StatusCode, len(r.body))
	}
	calls := o.Calls()

	// 1 byte every 100 ms, of 20: 2 s.
	conn, err := net.Dial("tcp", d.addrs.listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	io.WriteString(conn, "POST /slow HTTP/1.1\r\nHost: site.test\r\nContent-Length: 20\r\n\r\n")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range 20 {
			if _, err := conn.Write([]byte("s")); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	_ = conn.SetReadDeadline(start.Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	elapsed := time.Since(start)
	close(stop)
	conn.Close()
	wg.Wait()
	switch {
	case err == nil:
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("status %d, want 408", resp.StatusCode)
		}
	case isTimeout(err):
		t.Fatal("no answer to a trickled body")
	}
	if elapsed > time.Second {
		t.Errorf("answered after %v: want soon after the 200ms body timeout, well before the 2s trickle ends", elapsed)
	}
	o.mu.Lock()
	for _, c := range o.calls[calls:] {
		if len(c.Body) >= 20 {
			t.Errorf("the origin got the whole trickled body %q: want the request abandoned before", c.Body)
		}
	}
	o.mu.Unlock()
	if v := d.scrape()[`larder_upstream_errors_total{reason="body-timeout"}`]; v != 1 {
		t.Errorf("body timeouts counted: %v, want 1", v)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestPassHeader(t *testing.T) {
	o := newOrigin(t, echo)
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		passed []string
	}{
		{"none by default", nil, nil, nil},
		{"flags", []string{"--pass-header", "X-Forwarded-Prefix,x-host", "--pass-header", "X-Original-URL"}, nil,
			[]string{"X-Forwarded-Prefix", "X-Host", "X-Original-URL"}},
		{"env", nil, map[string]string{"LARDER_PASS_HEADER": "X-Forwarded-Port"}, []string{"X-Forwarded-Port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemon(t, append([]string{"--upstream", o.URL}, tt.args...), tt.env)
			h := http.Header{}
			for _, f := range proxy.StrippedFields() {
				h.Set(f, "v")
			}
			d.do(http.MethodGet, "/p", h, "")
			got := o.Last().Header
			for _, f := range proxy.StrippedFields() {
				want := ""
				if slices.Contains(tt.passed, f) {
					want = "v"
				}
				if v := got.Get(f); v != want {
					t.Errorf("origin got %s = %q, want %q", f, v, want)
				}
			}
		})
	}
}

func TestGetBodyNotForwarded(t *testing.T) {
	o := newOrigin(t, echo)
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)
	d.do(http.MethodGet, "/g", nil, "poison")
	if last := o.Last(); last.Method != http.MethodGet || last.Body != "" {
		t.Errorf("origin got %s with body %q, want a GET without one", last.Method, last.Body)
	}
}

// errorOrigin answers 404 with a long freshness lifetime, its Date from the
// daemon's clock, and counts the calls.
func errorOrigin(t *testing.T, clock *fakeClock) *origin {
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=3600")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "no such page")
	})
}

// TestMaxErrorTTL needs the core's WithMaxErrorLifetime cap.
func TestMaxErrorTTL(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		after time.Duration // the clock moves this much after the first request
		hit   bool
	}{
		{"default: a hit before 5s", nil, 4 * time.Second, true},
		{"default: a miss after 5s", nil, 6 * time.Second, false},
		{"1m: a hit after 6s", []string{"--max-error-ttl", "1m"}, 6 * time.Second, true},
		{"1m: a miss after 61s", []string{"--max-error-ttl", "1m"}, 61 * time.Second, false},
		{"no cap: the response's own lifetime", []string{"--max-error-ttl", "0"}, 59 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			o := errorOrigin(t, clock)
			d := startDaemon(t, append([]string{"--upstream", o.URL}, tt.args...), nil, withClock(clock.Now))
			if r := d.get("/gone"); r.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d", r.StatusCode)
			}
			clock.Advance(tt.after)
			r := d.get("/gone")
			if r.StatusCode != http.StatusNotFound || r.body != "no such page" {
				t.Errorf("second request: %d %q", r.StatusCode, r.body)
			}
			if hit := o.Calls() == 1; hit != tt.hit {
				t.Errorf("after %v: origin calls %d (hit %v), want hit %v; Cache-Status %q",
					tt.after, o.Calls(), hit, tt.hit, r.Header.Get("Cache-Status"))
			}
		})
	}
}

// TestMaxKeySize needs the core's key size limit (Event.NotStored
// "key-too-large").
func TestMaxKeySize(t *testing.T) {
	query := "/k?q=" + strings.Repeat("a", 20<<10)
	tests := []struct {
		name   string
		args   []string
		path   string
		stored bool
	}{
		{"short key", nil, "/k?q=short", true},
		{"20KiB query over the default", nil, query, false},
		{"20KiB query under --max-key-size 64KiB", []string{"--max-key-size", "64KiB"}, query, true},
		{"short key over --max-key-size 16B", []string{"--max-key-size", "16B"}, "/k?q=0123456789abcdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, cacheable)
			d := startDaemon(t, append([]string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, tt.args...), nil)
			for range 2 {
				r := d.get(tt.path)
				if r.StatusCode != http.StatusOK || r.body != "body of /k" {
					t.Fatalf("%d %q", r.StatusCode, r.body)
				}
				if o.Last().URI != tt.path {
					t.Fatalf("origin got a %d-byte URI, want the %d-byte one", len(o.Last().URI), len(tt.path))
				}
			}
			m := d.scrape()
			calls, tooLarge := 1, 0.0
			if !tt.stored {
				calls, tooLarge = 2, 2
			}
			if o.Calls() != calls {
				t.Errorf("origin calls %d, want %d (stored: %v)", o.Calls(), calls, tt.stored)
			}
			if v := m[`larder_not_stored_total{reason="key-too-large"}`]; v != tooLarge {
				t.Errorf(`larder_not_stored_total{reason="key-too-large"} = %v, want %v`, v, tooLarge)
			}
		})
	}
}

// TestInvalidateUnknownMethods checks the wiring of the flag (the core tests
// WithKnownMethodInvalidation itself).
func TestInvalidateUnknownMethods(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		method      string
		invalidates bool
	}{
		{"default: an unknown method invalidates", nil, "BREW", true},
		{"default: POST invalidates", nil, http.MethodPost, true},
		{"off: an unknown method does not", []string{"--invalidate-unknown-methods=false"}, "BREW", false},
		{"off: POST still does", []string{"--invalidate-unknown-methods=false"}, http.MethodPost, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				cacheable(w, r)
			})
			d := startDaemon(t, append([]string{"--upstream", o.URL}, tt.args...), nil)
			d.get("/doc")
			if r := d.do(tt.method, "/doc", nil, ""); r.StatusCode != http.StatusNoContent {
				t.Fatalf("%s: %d", tt.method, r.StatusCode)
			}
			d.get("/doc")
			if invalidated := o.Calls() == 3; invalidated != tt.invalidates {
				t.Errorf("origin calls %d after GET, %s, GET: invalidated %v, want %v", o.Calls(), tt.method, invalidated, tt.invalidates)
			}
		})
	}
}
