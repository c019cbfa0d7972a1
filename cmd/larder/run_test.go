package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestConfigErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	up := "http://127.0.0.1:9"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error line
	}{
		{"bad flag", []string{"--upstream", up, "--bogus"}, nil, "bogus"},
		{"no upstream", nil, nil, "--upstream is required"},
		{"upstream scheme", []string{"--upstream", "ftp://example.com"}, nil, "http or https"},
		{"upstream without host", []string{"--upstream", "http://"}, nil, "no host"},
		{"upstream not a URL", []string{"--upstream", "http://[::1"}, nil, "--upstream"},
		{"upstream relative", []string{"--upstream", "example.com"}, nil, "http or https"},
		{"upstream from env", nil, map[string]string{"LARDER_UPSTREAM": "gopher://x"}, "http or https"},
		{"unknown store scheme", []string{"--upstream", up, "--store", "nosuch://x"}, nil, `unknown store scheme "nosuch"`},
		{"redis unreachable", []string{"--upstream", up, "--store", "redis://:pw@127.0.0.1:1/0"}, nil, "--store: redis: PING"},
		{"memcache bad URL", []string{"--upstream", up, "--store", "memcache://"}, nil, "--store: "},
		{"disk relative", []string{"--upstream", up, "--store", "disk://relative/dir"}, nil, "--store: "},
		{"store size", []string{"--upstream", up, "--store", "memory://?size=12XB"}, nil, "invalid size"},
		{"store parameter", []string{"--upstream", up, "--store", "memory://?sise=1MiB"}, nil, "unknown memory:// parameter"},
		{"store no scheme", []string{"--upstream", up, "--store", "memory"}, nil, "--store"},
		{"max object size", []string{"--upstream", up, "--max-object-size", "-1"}, nil, "max-object-size"},
		{"bad duration", []string{"--upstream", up, "--upstream-timeout", "soon"}, nil, "upstream-timeout"},
		{"negative duration", []string{"--upstream", up, "--shutdown-timeout", "-1s"}, nil, "must not be negative"},
		{"log format", []string{"--upstream", up, "--log-format", "xml"}, nil, "log-format"},
		{"log level", []string{"--upstream", up, "--log-level", "loud"}, nil, "log-level"},
		{"env bad bool", []string{"--upstream", up}, map[string]string{"LARDER_ACCESS_LOG": "maybe"}, "LARDER_ACCESS_LOG"},
		{"stray argument", []string{"--upstream", up, "extra"}, nil, "unexpected argument"},
		{"negative body timeout", []string{"--upstream", up, "--body-timeout", "-1s"}, nil, "--body-timeout must not be negative"},
		{"bad body min rate", []string{"--upstream", up, "--body-min-rate", "fast"}, nil, "body-min-rate"},
		{"negative body min rate", []string{"--upstream", up, "--body-min-rate", "-5"}, nil, "body-min-rate"},
		{"negative upstream max conns", []string{"--upstream", up, "--upstream-max-conns", "-1"}, nil, "--upstream-max-conns must not be negative"},
		{"pass header not stripped", []string{"--upstream", up, "--pass-header", "X-Custom"}, nil, "not a field the proxy strips"},
		{"pass header from env not stripped", []string{"--upstream", up}, map[string]string{"LARDER_PASS_HEADER": "Cookie"}, `"Cookie"`},
		{"negative max error ttl", []string{"--upstream", up, "--max-error-ttl", "-1s"}, nil, "--max-error-ttl must not be negative"},
		{"zero max key size", []string{"--upstream", up, "--max-key-size", "0"}, nil, "max-key-size"},
		{"huge max key size", []string{"--upstream", up, "--max-key-size", "4GiB"}, nil, "--max-key-size 4GiB: too large"},
		{"bad bool", []string{"--upstream", up, "--invalidate-unknown-methods=maybe"}, nil, "invalidate-unknown-methods"},
		{"admin on all interfaces without token", []string{"--upstream", up, "--admin", ":0"}, nil, "--admin-token"},
		{"admin on non-loopback without token", []string{"--upstream", up, "--admin", "0.0.0.0:0"}, nil, "not a loopback address"},
		{"listen in use", []string{"--upstream", up, "--listen", busy.Addr().String()}, nil, "address already in use"},
		{"listen not local", []string{"--upstream", up, "--listen", "192.0.2.1:0"}, nil, "cannot assign requested address"},
		{"listen malformed", []string{"--upstream", up, "--listen", "nohost"}, nil, "--listen"},
		{"admin in use", []string{"--upstream", up, "--listen", "127.0.0.1:0", "--admin", busy.Addr().String()}, nil, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			getenv := func(k string) string { return tt.env[k] }
			code := run(context.Background(), tt.args, getenv, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || !strings.HasPrefix(msg, "larder: ") {
				t.Errorf("stderr %q, want one line starting larder: ", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q does not contain %q", msg, tt.want)
			}
			if strings.Contains(msg, ":pw@") {
				t.Errorf("stderr %q shows the store's password", msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		t.Run(arg, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), []string{arg}, func(string) string { return "" }, &stdout, &stderr)
			if code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr %q", stderr.String())
			}
			out := stdout.String()
			for _, f := range []string{"upstream", "listen", "store", "admin", "admin-token", "max-object-size",
				"upstream-timeout", "read-header-timeout", "idle-timeout", "shutdown-timeout", "rewrite-host",
				"log-format", "log-level", "access-log", "body-timeout", "body-min-rate", "upstream-max-conns",
				"pass-header", "max-error-ttl", "max-key-size", "invalidate-unknown-methods"} {
				if !regexp.MustCompile(`(?m)^  --`+f+`( \S+)?$`).MatchString(out) || !strings.Contains(out, envName(f)+"\n") {
					t.Errorf("help does not document --%s and %s", f, envName(f))
				}
			}
			for _, s := range []string{"memory://?size=256MiB", "127.0.0.1:8080", "30s", "PURGE", "/metrics", "/healthz",
				"(default 10s)", "(default 500)", "(default 5s)", "(default 8KiB)", "(default true)", "0: unlimited",
				"X-Original-URL", "Front-End-Https", "Vary"} {
				if !strings.Contains(out, s) {
					t.Errorf("help does not mention %q", s)
				}
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	o := newOrigin(t, echo)
	t.Run("env alone", func(t *testing.T) {
		d := startDaemon(t, nil, map[string]string{"LARDER_UPSTREAM": o.URL, "LARDER_LISTEN": "127.0.0.1:0", "LARDER_REWRITE_HOST": "true"})
		d.get("/")
		if o.Last().Host != o.Listener.Addr().String() {
			t.Errorf("LARDER_REWRITE_HOST ignored: origin got Host %q", o.Last().Host)
		}
	})
	t.Run("flag overrides env", func(t *testing.T) {
		d := startDaemon(t, []string{"--upstream", o.URL, "--rewrite-host=false"},
			map[string]string{"LARDER_UPSTREAM": "http://[bad", "LARDER_REWRITE_HOST": "true"})
		if r := d.get("/"); r.StatusCode != http.StatusAccepted {
			t.Errorf("status %d", r.StatusCode)
		}
		if o.Last().Host != "site.test" {
			t.Errorf("--rewrite-host=false did not override the env: origin got Host %q", o.Last().Host)
		}
	})
}

// slowOrigin answers only once release is closed, after telling started.
func slowOrigin(t *testing.T, body string) (o *origin, started chan struct{}, release chan struct{}) {
	started, release = make(chan struct{}, 1), make(chan struct{})
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, body)
	})
	return o, started, release
}

func TestGracefulShutdown(t *testing.T) {
	body := strings.Repeat("in flight. ", 20000)
	o, started, release := slowOrigin(t, body)
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, nil)

	type result struct {
		r   response
		err error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := d.client.Get("http://" + d.addrs.listen + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{response{resp, string(b)}, err}
	}()
	<-started

	d.cancel() // what SIGTERM does in main
	waitRefused(t, d.addrs.listen)
	waitRefused(t, d.addrs.admin)
	close(release)

	res := <-got
	if res.err != nil {
		t.Fatalf("in-flight request failed: %v", res.err)
	}
	if res.r.StatusCode != 200 || res.r.body != body {
		t.Errorf("in-flight request: %d, %d bytes, want 200 and %d bytes", res.r.StatusCode, len(res.r.body), len(body))
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestShutdownTimeout(t *testing.T) {
	o, started, release := slowOrigin(t, "late")
	defer close(release)
	d := startDaemon(t, []string{"--upstream", o.URL, "--shutdown-timeout", "50ms"}, nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := d.client.Get("http://" + d.addrs.listen + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	if code := d.stop(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if err := <-errc; err == nil {
		t.Error("a request still running after --shutdown-timeout completed; want its connection closed")
	}
	if !strings.Contains(d.stderr.String(), "shutdown timed out") {
		t.Errorf("no shutdown timeout in the log:\n%s", d.stderr)
	}
}

// waitRefused waits until nothing accepts connections on addr any more.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections after shutdown began", addr)
}

// TestSignalShutdown runs the real main in a child process (this test binary,
// re-executed) and stops it with SIGTERM while a request is in flight.
func TestSignalShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	body := strings.Repeat("signal. ", 10000)
	o, started, release := slowOrigin(t, body)

	cmd := exec.Command(os.Args[0]) // no arguments: TestMain runs main()
	cmd.Env = append(os.Environ(), "LARDER_TEST_RUN_MAIN=1",
		"LARDER_UPSTREAM="+o.URL, "LARDER_LISTEN=127.0.0.1:0", "LARDER_ACCESS_LOG=false")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The listen address is in the first log line.
	lines := bufio.NewScanner(stderr)
	var addr string
	re := regexp.MustCompile(`listen=(\S+)`)
	for addr == "" && lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("the child never said where it listens")
	}
	logDone := make(chan string)
	go func() {
		var rest strings.Builder
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		logDone <- rest.String()
	}()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	got := make(chan string, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	}()
	<-started
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, addr)
	close(release)
	if b := <-got; b != body {
		t.Errorf("in-flight response: %.80q (%d bytes), want %d bytes", b, len(b), len(body))
	}
	log := <-logDone
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v; log:\n%s", err, log)
	}
	if !strings.Contains(log, "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", log)
	}
}

// swrInFlight starts a daemon (with args) whose cache is revalidating /a in
// the background, the origin holding that revalidation until release is
// closed; answering is closed as the origin then sends its 304. The client's
// request has been answered.
func swrInFlight(t *testing.T, args ...string) (d *daemon, o *origin, release chan struct{}, answering chan struct{}) {
	t.Helper()
	started, release, answering := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60")
		w.Header().Set("ETag", `"s"`)
		if r.Header.Get("If-None-Match") != `"s"` {
			io.WriteString(w, "swr")
			return
		}
		started <- struct{}{}
		<-release
		close(answering)
		w.WriteHeader(http.StatusNotModified)
	})
	clock := newFakeClock()
	d = startDaemon(t, append([]string{"--upstream", o.URL}, args...), nil, withClock(clock.Now))
	d.get("/a")
	clock.Advance(10 * time.Second)
	if r := d.get("/a"); !strings.Contains(r.Header.Get("Cache-Status"), "stale-while-revalidate") {
		t.Fatalf("Cache-Status %q, want a hit served while revalidating", r.Header.Get("Cache-Status"))
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no background revalidation reached the origin")
	}
	return d, o, release, answering
}

// TestShutdownWaitsForBackgroundRevalidation: once the servers are closed,
// run still waits for the revalidation the cache is making in the background
// (cache.Close), and returns once it is done.
//
// What it proves: run does not return while the revalidation is held at the
// origin, though the listener is closed, and returns only after the origin
// was let go to answer, without giving up on it. That the store is closed after, not
// before, follows from the order of the calls in run; the test cannot see it.
func TestShutdownWaitsForBackgroundRevalidation(t *testing.T) {
	d, _, release, answering := swrInFlight(t)
	d.cancel() // what SIGTERM does in main
	waitRefused(t, d.addrs.listen)
	select {
	case code := <-d.done:
		d.done <- code
		close(release)
		t.Fatalf("run returned (%d) while a background revalidation was in flight", code)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if code := d.stop(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	select {
	case <-answering:
	default:
		t.Error("run returned before the origin answered the background revalidation")
	}
	if log := d.stderr.String(); strings.Contains(log, "not waiting for the background revalidations") {
		t.Errorf("run gave up on the background revalidation:\n%s", log)
	}
}

// TestShutdownTimeoutBackgroundRevalidation: a background revalidation that
// outlasts --shutdown-timeout does not hold the shutdown.
func TestShutdownTimeoutBackgroundRevalidation(t *testing.T) {
	d, _, release, _ := swrInFlight(t, "--shutdown-timeout", "100ms")
	defer close(release)
	start := time.Now()
	if code := d.stop(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v with a 100ms timeout", took)
	}
	if log := d.stderr.String(); !strings.Contains(log, "not waiting for the background revalidations") {
		t.Errorf("no warning about the abandoned revalidation:\n%s", log)
	}
}

// closerFunc is a fake cache for closeCache.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestCloseCache(t *testing.T) {
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	t.Run("nothing to wait for, deadline passed", func(t *testing.T) {
		var logs syncBuffer
		closed := false
		closeCache(expired, closerFunc(func() error { closed = true; return nil }), slog.New(slog.NewTextHandler(&logs, nil)))
		if !closed {
			t.Error("Close not called")
		}
		if logs.String() != "" {
			t.Errorf("a Close with nothing to wait for was taken for a timeout:\n%s", logs.String())
		}
	})
	t.Run("revalidation outlasts the deadline", func(t *testing.T) {
		var logs syncBuffer
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		closeCache(ctx, closerFunc(func() error { <-release; return nil }), slog.New(slog.NewTextHandler(&logs, nil)))
		if took := time.Since(start); took < 100*time.Millisecond || took > 5*time.Second {
			t.Errorf("closeCache took %v, want about the 100ms left", took)
		}
		if !strings.Contains(logs.String(), "not waiting for the background revalidations") {
			t.Errorf("no warning:\n%s", logs.String())
		}
	})
}
