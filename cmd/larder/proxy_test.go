package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
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

func TestForwardedHeaders(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "1")
		w.Header().Set("X-End", "1")
		io.WriteString(w, "ok")
	})
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)
	r := d.do(http.MethodGet, "/h", hdr(
		"Connection", "X-Hop",
		"X-Hop", "1",
		"Keep-Alive", "timeout=5",
		"Proxy-Authorization", "Basic c2VjcmV0",
		"X-Forwarded-For", "203.0.113.9", // not trusted: replaced
		"X-End-To-End", "yes",
	), "")
	got := o.Last()

	tests := []struct{ field, want string }{
		{"X-Hop", ""},
		{"Keep-Alive", ""},
		{"Proxy-Authorization", ""},
		{"X-End-To-End", "yes"},
		{"X-Forwarded-For", "127.0.0.1"},
		{"X-Forwarded-Host", "site.test"},
		{"X-Forwarded-Proto", "http"},
		{"Via", "1.1 larder"},
	}
	for _, tt := range tests {
		if v := got.Header.Get(tt.field); v != tt.want {
			t.Errorf("origin got %s = %q, want %q", tt.field, v, tt.want)
		}
	}
	if got.Host != "site.test" {
		t.Errorf("origin got Host %q, want the client's site.test", got.Host)
	}
	if v := r.Header.Get("X-Resp-Hop"); v != "" {
		t.Errorf("client got the response's hop-by-hop X-Resp-Hop = %q", v)
	}
	if r.Header.Get("X-End") != "1" {
		t.Error("client did not get X-End")
	}
	if v := r.Header.Get("Via"); v != "1.1 larder" {
		t.Errorf("client got Via %q, want 1.1 larder", v)
	}
}

func TestViaAppended(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Via", "1.1 origin-cdn")
		io.WriteString(w, "ok")
	})
	d := startDaemon(t, []string{"--upstream", o.URL}, nil)
	r := d.do(http.MethodGet, "/", hdr("Via", "1.0 fred"), "")
	if v := o.Last().Header.Values("Via"); strings.Join(v, ", ") != "1.0 fred, 1.1 larder" {
		t.Errorf("origin got Via %q, want 1.0 fred, 1.1 larder", v)
	}
	if v := r.Header.Values("Via"); strings.Join(v, ", ") != "1.1 origin-cdn, 1.1 larder" {
		t.Errorf("client got Via %q, want 1.1 origin-cdn, 1.1 larder", v)
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(o *origin) string
	}{
		{"client's host by default", nil, func(*origin) string { return "site.test" }},
		{"upstream's host with --rewrite-host", []string{"--rewrite-host"}, func(o *origin) string { return o.Listener.Addr().String() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, echo)
			d := startDaemon(t, append([]string{"--upstream", o.URL}, tt.args...), nil)
			d.get("/")
			if got, want := o.Last().Host, tt.want(o); got != want {
				t.Errorf("origin got Host %q, want %q", got, want)
			}
		})
	}
}

func TestUpstreamBasePath(t *testing.T) {
	o := newOrigin(t, echo)
	d := startDaemon(t, []string{"--upstream", o.URL + "/base/"}, nil)
	d.get("/x?y=1")
	if uri := o.Last().URI; uri != "/base/x?y=1" {
		t.Errorf("origin got %q, want /base/x?y=1", uri)
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	d := startDaemon(t, []string{"--upstream", "http://" + addr}, nil)
	r := d.get("/")
	checkGatewayError(t, r, http.StatusBadGateway)
	// Not stored: the next request tries the upstream again, and fails again.
	checkGatewayError(t, d.get("/"), http.StatusBadGateway)
}

func TestUpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	d := startDaemon(t, []string{"--upstream", o.URL, "--upstream-timeout", "100ms"}, nil)
	t.Cleanup(func() { close(release) })
	checkGatewayError(t, d.get("/slow"), http.StatusGatewayTimeout)
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

func TestErrorHandlerStatus(t *testing.T) {
	m := newMetrics(nil)
	h := errorHandler(slog.New(slog.DiscardHandler), m)
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"refused", &net.OpError{Op: "dial", Err: io.EOF}, http.StatusBadGateway},
		{"timeout", &net.DNSError{IsTimeout: true}, http.StatusGatewayTimeout},
		{"deadline", context.DeadlineExceeded, http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Length", "99999") // left over: must not survive
			h(rec, httptest.NewRequest(http.MethodGet, "/", nil), tt.err)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if cl := rec.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %s for a body of %d", cl, rec.Body.Len())
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("error response is not no-store")
			}
		})
	}
}

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
