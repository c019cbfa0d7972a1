package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// accessPaths returns the path of each access log line of out, in the
// format f, failing on a line of the access log that does not parse; other
// lines (the daemon's own, in text or JSON) are skipped unless only is set.
func accessPaths(t *testing.T, f accessFormat, out string, only bool) []string {
	t.Helper()
	textPath := regexp.MustCompile(` path=(\S+) `)
	var paths []string
	for line := range strings.Lines(out) {
		switch f {
		case formatText:
			if !strings.Contains(line, " msg=request ") {
				if only {
					t.Fatalf("not an access log line: %q", line)
				}
				continue
			}
			m := textPath.FindStringSubmatch(line)
			if m == nil || !strings.HasSuffix(line, "\n") {
				t.Fatalf("access log line without a path: %q", line)
			}
			paths = append(paths, m[1])
		case formatJSON:
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q is not JSON: %v", line, err)
			}
			if m["msg"] != "request" {
				if only {
					t.Fatalf("not an access log line: %q", line)
				}
				continue
			}
			for _, k := range []string{"time", "level", "method", "host", "path", "status", "cache", "bytes", "duration", "remote"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("access log line without %s: %q", k, line)
				}
			}
			paths = append(paths, m["path"].(string))
		default:
			m := combinedRE.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
			if m == nil {
				if only {
					t.Fatalf("%q does not match the combined format", line)
				}
				continue
			}
			req := strings.Fields(m[4])
			path, _, _ := strings.Cut(req[1], "?")
			paths = append(paths, path)
		}
	}
	return paths
}

// TestAccessLogEveryRequestOnce: under concurrent load, every request is in
// the access log once, whole, once the daemon has stopped, in each format.
func TestAccessLogEveryRequestOnce(t *testing.T) {
	o := newOrigin(t, cacheable)
	for _, tc := range []struct {
		name   string
		args   []string
		format accessFormat
		stdout bool
	}{
		{"default", nil, formatText, false},
		{"json", []string{"--log-format", "json"}, formatJSON, false},
		{"combined on stdout", []string{"--access-log-format", "combined", "--access-log-output", "stdout"}, formatCombined, true},
		{"small buffer, short flush", []string{"--access-log-buffer", "64KiB", "--access-log-flush", "1ms"}, formatText, false},
		{"unbuffered", []string{"--access-log-buffer", "0"}, formatText, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, append([]string{"--upstream", o.URL}, tc.args...), nil)
			const workers, each = 16, 60
			var wg sync.WaitGroup
			for g := range workers {
				wg.Go(func() {
					for i := range each {
						path := fmt.Sprintf("/load/%d/%d", g, i) // a miss
						if i%2 == 1 {
							path = "/hot" // mostly hits
						}
						resp, err := d.client.Get("http://" + d.addrs.listen + path + "?q=1")
						if err != nil {
							t.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			}
			wg.Wait()
			if code := d.stop(); code != 0 {
				t.Fatalf("exit code %d", code)
			}

			out := d.stderr.String()
			if tc.stdout {
				out = d.stdout.String()
				if p := accessPaths(t, formatText, d.stderr.String(), false); len(p) != 0 || strings.Contains(d.stderr.String(), "/load/") {
					t.Errorf("access log lines on stderr with --access-log-output stdout:\n%s", d.stderr)
				}
			}
			seen := make(map[string]int)
			for _, p := range accessPaths(t, tc.format, out, tc.stdout) {
				seen[p]++
			}
			if seen["/hot"] != workers*each/2 {
				t.Errorf("/hot logged %d times, want %d", seen["/hot"], workers*each/2)
			}
			for g := range workers {
				for i := 0; i < each; i += 2 {
					if p := fmt.Sprintf("/load/%d/%d", g, i); seen[p] != 1 {
						t.Fatalf("%s logged %d times, want once", p, seen[p])
					}
				}
			}
			if len(seen) != 1+workers*each/2 {
				t.Errorf("%d distinct paths logged, want %d", len(seen), 1+workers*each/2)
			}
		})
	}
}

// heldOrigin answers /held/... only once release is closed, telling
// started of each request it holds; other paths at once.
func heldOrigin(t *testing.T) (o *origin, started chan struct{}, release chan struct{}) {
	started, release = make(chan struct{}, 64), make(chan struct{})
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/held/") {
			started <- struct{}{}
			<-release
		}
		cacheable(w, r)
	})
	return o, started, release
}

// TestAccessLogAcrossShutdown: the lines still in the buffer when the
// shutdown begins, and those of the requests in flight then, are all
// written before run returns.
func TestAccessLogAcrossShutdown(t *testing.T) {
	o, started, release := heldOrigin(t)
	// An hour: nothing is written but by the shutdown.
	d := startDaemon(t, []string{"--upstream", o.URL, "--access-log-flush", "1h"}, nil)
	const done, held = 100, 8
	for i := range done {
		d.get(fmt.Sprintf("/done/%d", i))
	}
	if strings.Contains(d.stderr.String(), "msg=request") {
		t.Fatalf("access log written before the flush interval:\n%s", d.stderr)
	}
	errs := make(chan error, held)
	for i := range held {
		go func() {
			resp, err := d.client.Get(fmt.Sprintf("http://%s/held/%d", d.addrs.listen, i))
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for range held {
		<-started
	}
	d.cancel() // what SIGTERM and SIGINT do in main
	waitRefused(t, d.addrs.listen)
	close(release)
	for range held {
		if err := <-errs; err != nil {
			t.Errorf("in-flight request: %v", err)
		}
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	log := d.stderr.String()
	paths := accessPaths(t, formatText, log, false)
	if len(paths) != done+held {
		t.Fatalf("%d access log lines, want %d:\n%s", len(paths), done+held, log)
	}
	seen := make(map[string]bool)
	for _, p := range paths {
		seen[p] = true
	}
	for i := range held {
		if !seen[fmt.Sprintf("/held/%d", i)] {
			t.Errorf("in-flight request /held/%d not logged", i)
		}
	}
	// Every line is written before run says it stopped.
	if i, j := strings.LastIndex(log, "msg=request"), strings.Index(log, "msg=stopped"); j < i {
		t.Errorf("access log lines after \"stopped\":\n%s", log)
	}
}

// TestAccessLogSignal runs the real main in a child process and stops it
// with SIGTERM, then SIGINT, with lines in the buffer and a request in
// flight: every request is in its stderr, once.
func TestAccessLogSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			o, started, release := heldOrigin(t)
			cmd := exec.Command(os.Args[0]) // no arguments: TestMain runs main()
			cmd.Env = append(os.Environ(), "LARDER_TEST_RUN_MAIN=1",
				"LARDER_UPSTREAM="+o.URL, "LARDER_LISTEN=127.0.0.1:0", "LARDER_ACCESS_LOG_FLUSH=1h")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := bufio.NewScanner(stderr)
			lines.Buffer(nil, 1<<20)
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
			client := &http.Client{Transport: tr}
			get := func(path string) error {
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				_, err = io.Copy(io.Discard, resp.Body)
				return err
			}
			const n = 300
			for i := range n {
				if err := get(fmt.Sprintf("/done/%d", i%50)); err != nil {
					t.Fatal(err)
				}
			}
			inFlight := make(chan error, 1)
			go func() { inFlight <- get("/held/1") }()
			<-started
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitRefused(t, addr)
			close(release)
			if err := <-inFlight; err != nil {
				t.Errorf("in-flight request: %v", err)
			}
			log := <-logDone
			if err := cmd.Wait(); err != nil {
				t.Errorf("child: %v; log:\n%s", err, log)
			}
			paths := accessPaths(t, formatText, log, false)
			if len(paths) != n+1 || !strings.Contains(log, " path=/held/1 ") {
				t.Errorf("%d access log lines, want %d with /held/1:\n%.2000s", len(paths), n+1, log)
			}
		})
	}
}

// TestAccessLogMetric: the drop counter is exported from the start, at 0.
func TestAccessLogMetric(t *testing.T) {
	o := newOrigin(t, cacheable)
	for _, args := range [][]string{nil, {"--access-log=false"}} {
		d := startDaemon(t, append([]string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, args...), nil)
		d.get("/a")
		m := d.scrape()
		for _, name := range []string{`larder_access_log_dropped_total{reason="buffer-full"}`, `larder_access_log_dropped_total{reason="write-error"}`} {
			if v, ok := m[name]; !ok || v != 0 {
				t.Errorf("%v: %s = %v (present %v), want 0", args, name, v, ok)
			}
		}
	}
}

// TestAccessLogConfig: the --access-log-* flags, their defaults and errors.
func TestAccessLogConfig(t *testing.T) {
	up := []string{"--upstream", "http://origin.test"}
	parse := func(args ...string) (*config, error) {
		return parseConfig(append(up, args...), func(string) string { return "" }, io.Discard)
	}
	c, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if !c.accessLog || c.accessLogFormat != formatText || c.accessLogStdout || c.accessLogBuffer != 1<<20 || c.accessLogFlush != time.Second {
		t.Errorf("defaults: %v %v %v %v %v", c.accessLog, c.accessLogFormat, c.accessLogStdout, c.accessLogBuffer, c.accessLogFlush)
	}
	for _, tc := range []struct {
		args   []string
		on     bool
		format accessFormat
	}{
		{[]string{"--log-format", "json"}, true, formatJSON},
		{[]string{"--log-format", "json", "--access-log-format", "text"}, true, formatText},
		{[]string{"--access-log-format", "combined"}, true, formatCombined},
		{[]string{"--access-log-format", "common"}, true, formatCommon},
		{[]string{"--log-level", "warn"}, false, formatText},                                       // a record at level info
		{[]string{"--log-level", "error", "--log-format", "json"}, false, formatJSON},              // likewise
		{[]string{"--log-level", "warn", "--access-log-format", "combined"}, true, formatCombined}, // not a leveled record
		{[]string{"--log-level", "debug"}, true, formatText},
		{[]string{"--access-log=false", "--access-log-format", "combined"}, false, formatCombined},
	} {
		c, err := parse(tc.args...)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if c.accessLog != tc.on || c.accessLogFormat != tc.format {
			t.Errorf("%v: access log %v format %v, want %v %v", tc.args, c.accessLog, c.accessLogFormat, tc.on, tc.format)
		}
	}
	if c, err := parse("--access-log-buffer", "0", "--access-log-output", "stdout", "--access-log-flush", "250ms"); err != nil ||
		c.accessLogBuffer != 0 || !c.accessLogStdout || c.accessLogFlush != 250*time.Millisecond {
		t.Errorf("buffer 0, stdout, 250ms: %+v, %v", c, err)
	}
	if c, err := parseConfig(up, func(k string) string {
		return map[string]string{"LARDER_ACCESS_LOG_FORMAT": "combined", "LARDER_ACCESS_LOG_BUFFER": "64KiB"}[k]
	}, io.Discard); err != nil || c.accessLogFormat != formatCombined || c.accessLogBuffer != 64<<10 {
		t.Errorf("from the environment: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--access-log-format", "nginx"}, `--access-log-format "nginx": want text, json, common or combined`},
		{[]string{"--access-log-output", "/var/log/x"}, `--access-log-output "/var/log/x": want stderr or stdout`},
		{[]string{"--access-log-flush", "0"}, "--access-log-flush must be positive"},
		{[]string{"--access-log-buffer", "2GiB"}, "--access-log-buffer 2GiB: too large"},
		{[]string{"--access-log-buffer", "-1"}, "invalid size"},
	} {
		if _, err := parse(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	var help strings.Builder
	if _, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &help); err != errHelp {
		t.Fatal(err)
	}
	for _, want := range []string{"--access-log-format format", "--access-log-output", "--access-log-buffer SIZE", "(default 1MiB)", "--access-log-flush", "(default 1s)", "LARDER_ACCESS_LOG_BUFFER"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
