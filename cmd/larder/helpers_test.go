package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/larder-cache/larder/internal/fakeclock"
)

func TestMain(m *testing.M) {
	if os.Getenv("LARDER_TEST_RUN_MAIN") == "1" {
		// The test binary re-executed as the daemon (see TestSignalShutdown).
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// seen is one request as the origin received it.
type seen struct {
	Method, Host, URI, Body string
	Header                  http.Header
}

// origin is an httptest upstream that counts and records its calls.
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
		o.calls = append(o.calls, seen{Method: r.Method, Host: r.Host, URI: r.RequestURI, Body: string(body), Header: r.Header.Clone()})
		o.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
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

// cacheable answers every request with a body naming its path, cacheable for
// a minute with an ETag, and 304 to a matching If-None-Match.
func cacheable(w http.ResponseWriter, r *http.Request) {
	const etag = `"v1"`
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "body of "+r.URL.Path)
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is the daemon's clock in tests that expire entries.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// daemon is run() serving in-process.
type daemon struct {
	t      *testing.T
	addrs  addrs
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
	client *http.Client
}

// startDaemon runs the daemon with args (plus --listen 127.0.0.1:0 unless
// given) and waits until it serves. It stops it at the end of the test.
func startDaemon(t *testing.T, args []string, env map[string]string, opts ...runOption) *daemon {
	t.Helper()
	if !hasFlag(args, "listen") {
		args = append([]string{"--listen", "127.0.0.1:0"}, args...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	ready := make(chan addrs, 1)
	opts = append(opts, withReady(func(a addrs) { ready <- a }))
	getenv := func(k string) string { return env[k] }
	go func() { d.done <- run(ctx, args, getenv, d.stdout, d.stderr, opts...) }()
	select {
	case d.addrs = <-ready:
	case code := <-d.done:
		cancel()
		t.Fatalf("run exited with %d before serving; stderr:\n%s", code, d.stderr)
	}
	tr := &http.Transport{}
	d.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if code := d.stop(); code != 0 {
			t.Errorf("run exited with %d; stderr:\n%s", code, d.stderr)
		}
	})
	return d
}

// stop cancels run's context and returns its exit code.
func (d *daemon) stop() int {
	d.cancel()
	select {
	case code := <-d.done:
		d.done <- code // a second stop sees it too
		return code
	case <-time.After(30 * time.Second):
		d.t.Fatal("run did not return after its context was cancelled")
		return -1
	}
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// response is what a test reads of a response.
type response struct {
	*http.Response
	body string
}

// do sends a request to the proxy (site.test as Host unless hdr has one).
func (d *daemon) do(method, path string, hdr http.Header, body string) response {
	return d.send(d.addrs.listen, method, path, hdr, body)
}

// doAdmin sends a request to the admin listener.
func (d *daemon) doAdmin(method, path string, hdr http.Header) response {
	return d.send(d.addrs.admin, method, path, hdr, "")
}

func (d *daemon) send(addr, method, path string, hdr http.Header, body string) response {
	d.t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rb)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Host = "site.test"
	for k, vs := range hdr {
		if k == "Host" {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{resp, string(b)}
}

func (d *daemon) get(path string) response { return d.do(http.MethodGet, path, nil, "") }

// hdr builds an http.Header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
