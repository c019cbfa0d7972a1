package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-cache/larder/internal/testnet"
)

// echo answers with the method and body it got, uncacheable.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, r.Method+" "+string(body))
}

func TestEveryMethodForwarded(t *testing.T) {
	o := newOrigin(t, echo)
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)
	for _, method := range []string{"M-SEARCH", "PURGE", "PATCH", "OPTIONS", "PROPFIND", http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			r := d.do(method, "/m?x=1", nil, "payload")
			if r.StatusCode != http.StatusAccepted || r.body != method+" payload" {
				t.Errorf("got %d %q, want 202 %q", r.StatusCode, r.body, method+" payload")
			}
			last := o.Last()
			if last.Method != method || last.URI != "/m?x=1" || last.Body != "payload" {
				t.Errorf("origin got %s %s body %q", last.Method, last.URI, last.Body)
			}
			if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=method") {
				t.Errorf("Cache-Status %q, want fwd=method", cs)
			}
		})
	}
}

// TestProxyWiring checks that the daemon configures the proxy package as
// documented; the package's own tests cover the details.
func TestProxyWiring(t *testing.T) {
	o := newOrigin(t, echo)
	d := startDaemon(t, []string{"--upstream", o.URL + "/base/"}, nil)
	r := d.do(http.MethodGet, "/x?y=1", hdr("X-Forwarded-For", "203.0.113.9", "Connection", "X-Hop", "X-Hop", "1"), "")
	got := o.Last()
	if got.URI != "/base/x?y=1" {
		t.Errorf("origin got %q, want /base/x?y=1", got.URI)
	}
	if got.Host != "site.test" {
		t.Errorf("origin got Host %q, want the client's site.test", got.Host)
	}
	for field, want := range map[string]string{"Via": "1.1 larder", "X-Forwarded-For": "127.0.0.1", "X-Hop": ""} {
		if v := got.Header.Get(field); v != want {
			t.Errorf("origin got %s = %q, want %q", field, v, want)
		}
	}
	if v := r.Header.Get("Via"); v != "1.1 larder" {
		t.Errorf("client got Via %q, want 1.1 larder", v)
	}
}

func TestUpstreamDown(t *testing.T) {
	addr := testnet.RefusedAddr(t) // connections are refused there
	d := startDaemon(t, []string{"--upstream", "http://" + addr, "--admin", "127.0.0.1:0"}, nil)
	r := d.get("/")
	checkGatewayError(t, r, http.StatusBadGateway)
	// Not stored: the next request tries the upstream again, and fails again.
	checkGatewayError(t, d.get("/"), http.StatusBadGateway)
	m := d.scrape()
	if v := m[`larder_upstream_errors_total{reason="unreachable"}`]; v != 2 {
		t.Errorf("unreachable upstream errors: %v, want 2", v)
	}
	if v := m[`larder_upstream_request_duration_seconds_count`]; v != 2 {
		t.Errorf("upstream requests timed: %v, want 2", v)
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
	d := startDaemon(t, []string{"--upstream", o.URL, "--upstream-timeout", "100ms", "--admin", "127.0.0.1:0"}, nil)
	t.Cleanup(func() { close(release) })
	checkGatewayError(t, d.get("/slow"), http.StatusGatewayTimeout)
	if v := d.scrape()[`larder_upstream_errors_total{reason="timeout"}`]; v != 1 {
		t.Errorf("upstream timeouts: %v, want 1", v)
	}
}

func checkGatewayError(t *testing.T, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %q", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	if !strings.HasPrefix(r.body, strconv.Itoa(status)+" ") {
		t.Errorf("body %q does not say what happened", r.body)
	}
	if len(r.body) > 200 || strings.Contains(r.body, "goroutine") || strings.Contains(r.body, "dial tcp") {
		t.Errorf("body %q: want a short message, no internals", r.body)
	}
}

// TestUpgradeTunnelled goes through the whole daemon: the access log's
// writer must let the proxy hijack the connection.
func TestUpgradeTunnelled(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	})
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)

	conn, err := net.Dial("tcp", d.addrs.listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /tunnel HTTP/1.1\r\nHost: site.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("status %d, Upgrade %q", resp.StatusCode, resp.Header.Get("Upgrade"))
	}
	io.WriteString(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
		t.Errorf("through the tunnel: %q, %v", line, err)
	}
}
