package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seen is one request as the origin received it.
type seen struct {
	Method, Host, URI, Body string
	Proto                   string
	Header                  http.Header
}

// origin is an httptest upstream that records the requests it gets.
type origin struct {
	*httptest.Server
	mu    sync.Mutex
	calls []seen
}

func newOrigin(t *testing.T, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.calls = append(o.calls, seen{Method: r.Method, Host: r.Host, URI: r.RequestURI, Body: string(body),
			Proto: r.Proto, Header: r.Header.Clone()})
		o.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) url(t *testing.T, path string) *url.URL {
	t.Helper()
	u, err := url.Parse(o.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (o *origin) Calls() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.calls)
}

func (o *origin) Last() seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.calls) == 0 {
		return seen{}
	}
	return o.calls[len(o.calls)-1]
}

// ok answers "ok", uncacheable.
func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

// serve starts h on a test server and returns a client for it whose idle
// connections are closed at the end of the test.
func serve(t *testing.T, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr}
}

// newProxy returns proxy.New(cfg) with a transport closed at the end of the
// test, unless cfg has a Transport or a Timeout.
func newProxy(t *testing.T, cfg proxy.Config) http.Handler {
	t.Helper()
	if cfg.Transport == nil && cfg.Timeout == 0 {
		tr := proxy.NewTransport(0)
		t.Cleanup(tr.CloseIdleConnections)
		cfg.Transport = tr
	}
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// response is what a test reads of a response.
type response struct {
	*http.Response
	body string
}

// do sends a request to srv with site.test as Host (unless header has one).
func do(t *testing.T, c *http.Client, srv *httptest.Server, method, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "site.test"
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{resp, string(b)}
}

func TestNewErrors(t *testing.T) {
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	good := mustURL("http://127.0.0.1:9")
	tests := []struct {
		name string
		cfg  proxy.Config
		want string
	}{
		{"no upstream", proxy.Config{}, "no Upstream"},
		{"scheme", proxy.Config{Upstream: mustURL("ftp://example.com")}, "http or https"},
		{"relative", proxy.Config{Upstream: mustURL("example.com")}, "http or https"},
		{"no host", proxy.Config{Upstream: mustURL("http:///x")}, "no host"},
		{"opaque", proxy.Config{Upstream: mustURL("http:example.com")}, "no host"},
		{"user", proxy.Config{Upstream: mustURL("http://u:secret@example.com")}, "user information"},
		{"negative timeout", proxy.Config{Upstream: good, Timeout: -1}, "negative Timeout"},
		{"timeout and transport", proxy.Config{Upstream: good, Timeout: 1, Transport: http.DefaultTransport}, "Timeout"},
		{"via name", proxy.Config{Upstream: good, ViaName: "my proxy"}, "not a token"},
		{"pass a field not stripped", proxy.Config{Upstream: good, PassFields: []string{"X-Custom"}}, "not a field the proxy strips"},
		{"pass a hop-by-hop field", proxy.Config{Upstream: good, PassFields: []string{"Connection"}}, "not a field the proxy strips"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := proxy.New(tt.cfg)
			if err == nil || p != nil {
				t.Fatalf("New = %v, %v; want an error", p, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
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
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, "")}))
	r := do(t, c, srv, http.MethodGet, "/h",
		"Connection", "X-Hop",
		"X-Hop", "1",
		"Keep-Alive", "timeout=5",
		"Proxy-Authorization", "Basic c2VjcmV0",
		"X-Forwarded-For", "203.0.113.9", // not trusted: replaced
		"X-Forwarded-Host", "evil.test",
		"X-End-To-End", "yes",
	)
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
		if v := strings.Join(got.Header.Values(tt.field), ", "); v != tt.want {
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

func TestEveryMethodForwarded(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, r.Method+" "+string(body))
	})
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, "")}))
	for _, method := range []string{"M-SEARCH", "PURGE", "PATCH", "OPTIONS", "PROPFIND", http.MethodPost, http.MethodDelete} {
		req, _ := http.NewRequest(method, srv.URL+"/m?x=1", strings.NewReader("payload"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || string(b) != method+" payload" {
			t.Errorf("%s: got %d %q", method, resp.StatusCode, b)
		}
		if last := o.Last(); last.Method != method || last.URI != "/m?x=1" || last.Body != "payload" {
			t.Errorf("%s: origin got %s %s body %q", method, last.Method, last.URI, last.Body)
		}
	}
}

func TestVia(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cdn" {
			w.Header().Set("Via", "1.1 origin-cdn")
		}
		io.WriteString(w, "ok")
	})
	t.Run("appended both ways", func(t *testing.T) {
		srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, "")}))
		r := do(t, c, srv, http.MethodGet, "/cdn", "Via", "1.0 fred")
		if v := o.Last().Header.Values("Via"); strings.Join(v, ", ") != "1.0 fred, 1.1 larder" {
			t.Errorf("origin got Via %q, want 1.0 fred, 1.1 larder", v)
		}
		if v := r.Header.Values("Via"); strings.Join(v, ", ") != "1.1 origin-cdn, 1.1 larder" {
			t.Errorf("client got Via %q, want 1.1 origin-cdn, 1.1 larder", v)
		}
	})
	t.Run("ViaName", func(t *testing.T) {
		srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, ""), ViaName: "edge-7"}))
		r := do(t, c, srv, http.MethodGet, "/")
		if v := o.Last().Header.Get("Via"); v != "1.1 edge-7" {
			t.Errorf("origin got Via %q, want 1.1 edge-7", v)
		}
		if v := r.Header.Get("Via"); v != "1.1 edge-7" {
			t.Errorf("client got Via %q, want 1.1 edge-7", v)
		}
	})
	t.Run("received protocol version", func(t *testing.T) {
		srv, _ := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, "")}))
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /old HTTP/1.0\r\nHost: site.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := o.Last().Header.Get("Via"); v != "1.0 larder" {
			t.Errorf("origin got Via %q for an HTTP/1.0 request, want 1.0 larder", v)
		}
		if v := resp.Header.Get("Via"); v != "1.1 larder" {
			t.Errorf("client got Via %q for an HTTP/1.1 response, want 1.1 larder", v)
		}
	})
}

func TestHost(t *testing.T) {
	o := newOrigin(t, ok)
	tests := []struct {
		name    string
		rewrite bool
		want    string
	}{
		{"client's host by default", false, "site.test"},
		{"upstream's host with RewriteHost", true, o.Listener.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, ""), RewriteHost: tt.rewrite}))
			do(t, c, srv, http.MethodGet, "/")
			if got := o.Last().Host; got != tt.want {
				t.Errorf("origin got Host %q, want %q", got, tt.want)
			}
			if got := o.Last().Header.Get("X-Forwarded-Host"); got != "site.test" {
				t.Errorf("origin got X-Forwarded-Host %q, want the client's site.test", got)
			}
		})
	}
}

func TestUpstreamBasePath(t *testing.T) {
	o := newOrigin(t, ok)
	tests := []struct{ upstream, path, want string }{
		{"/base/", "/x?y=1", "/base/x?y=1"},
		{"/base", "/x?y=1", "/base/x?y=1"},
		{"", "/x?y=1", "/x?y=1"},
		{"/base?key=k", "/x?y=1", "/base/x?key=k&y=1"},
		{"#frag", "/x", "/x"},
	}
	for _, tt := range tests {
		srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, tt.upstream)}))
		do(t, c, srv, http.MethodGet, tt.path)
		if uri := o.Last().URI; uri != tt.want {
			t.Errorf("upstream %q, request %s: origin got %q, want %q", tt.upstream, tt.path, uri, tt.want)
		}
	}
}

func TestUpstreamCopied(t *testing.T) {
	o := newOrigin(t, ok)
	u := o.url(t, "/a")
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: u}))
	u.Path = "/changed"
	do(t, c, srv, http.MethodGet, "/x")
	if uri := o.Last().URI; uri != "/a/x" {
		t.Errorf("origin got %q: New did not copy its Upstream", uri)
	}
}

// echoUpgrade switches to the "echo" protocol and echoes one line.
func echoUpgrade(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
	}
}

func TestUpgradeTunnelled(t *testing.T) {
	o := newOrigin(t, echoUpgrade(t))
	p := newProxy(t, proxy.Config{Upstream: o.url(t, "")})
	tests := []struct {
		name string
		h    http.Handler
	}{
		{"proxy", p},
		{"behind the cache", larder.New(nil).Middleware(p)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, tt.h)
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
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
			if got := o.Last().Header.Get("Upgrade"); got != "echo" {
				t.Errorf("origin got Upgrade %q", got)
			}
		})
	}
}
