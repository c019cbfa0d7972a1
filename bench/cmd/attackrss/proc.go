package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// origin is the test origin: /big and /q.
type origin struct {
	srv  *http.Server
	addr string
}

func startOrigin(bigSize int) (*origin, error) {
	big := bytes.Repeat([]byte("0123456789abcdef"), bigSize/16+1)[:bigSize]
	sum := sha256.Sum256(big)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", etag)
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(len(big)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(big)
	})
	mux.HandleFunc("/q", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Content-Type", "text/plain")
		h.Set("Content-Length", "1")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write([]byte("q"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 20, // attack A's request lines reach the origin too
	}
	go func() { _ = srv.Serve(ln) }()
	return &origin{srv: srv, addr: ln.Addr().String()}, nil
}

func (o *origin) Close() { _ = o.srv.Close() }

// larder is the running subprocess.
type larder struct {
	cmd    *exec.Cmd
	args   []string
	listen string
	admin  string
	done   chan struct{} // closed when the process has exited
	err    error         // the Wait error, once done is closed
	log    *tailBuffer
}

func (l *larder) pid() int { return l.cmd.Process.Pid }

// freePort returns a loopback address that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startLarder runs the binary and waits until both its listeners answer.
func startLarder(ctx context.Context, cfg config, upstream string) (*larder, error) {
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	admin, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--listen", listen, "--admin", admin, "--upstream", upstream,
		"--store", "memory://?size=32MiB", "--access-log=false", "--max-object-size", "16MiB",
	}
	args = append(args, cfg.larderArgs...)
	l := &larder{args: args, listen: listen, admin: admin, done: make(chan struct{}), log: &tailBuffer{max: 64 << 10}}
	l.cmd = exec.Command(cfg.larder, args...)
	l.cmd.Stdout = l.log
	l.cmd.Stderr = l.log
	if cfg.verbose {
		l.cmd.Stdout = io.MultiWriter(l.log, os.Stderr)
		l.cmd.Stderr = io.MultiWriter(l.log, os.Stderr)
	}
	l.cmd.Env = larderEnv()
	setPdeathsig(l.cmd)
	if err := l.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		l.err = l.cmd.Wait()
		close(l.done)
	}()
	// Kill it as soon as the global deadline passes or a signal arrives, even
	// in the middle of a request.
	go func() {
		select {
		case <-ctx.Done():
			_ = l.cmd.Process.Kill()
		case <-l.done:
		}
	}()

	c := &http.Client{Timeout: time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-l.done:
			return nil, fmt.Errorf("exited before answering: %v%s", l.err, l.logNote())
		case <-ctx.Done():
			l.stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			l.stop()
			return nil, fmt.Errorf("no answer on %s and %s within 15s%s", admin, listen, l.logNote())
		}
		if resp, err := c.Get("http://" + admin + "/healthz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if conn, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
					conn.Close()
					return l, nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// larderEnv is this process's environment without LARDER_ variables, so
// that only the flags shown configure the subprocess.
func larderEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LARDER_") {
			env = append(env, kv)
		}
	}
	return env
}

// stop kills the process and waits for it; it may be called more than once.
func (l *larder) stop() {
	select {
	case <-l.done:
		return
	default:
	}
	_ = l.cmd.Process.Kill()
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		fmt.Fprintf(os.Stderr, "attackrss: larder (pid %d) did not exit after SIGKILL\n", l.pid())
	}
}

// exitNote explains an error by the subprocess's exit, if it has exited
// (killed by the OOM killer, say).
func (l *larder) exitNote() string {
	select {
	case <-l.done:
		return fmt.Sprintf(" (larder exited: %v)%s", l.err, l.logNote())
	default:
		return ""
	}
}

func (l *larder) logNote() string {
	s := strings.TrimSpace(l.log.String())
	if s == "" {
		return ""
	}
	return "\nlarder's log (tail):\n" + s
}

// resetPeak resets the process's VmHWM to its current RSS (writing 5 to
// clear_refs, Linux 4.0 and later); it reports whether that worked.
func (l *larder) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", l.pid()), []byte("5"), 0) == nil
}

func peakNote(reset bool) string {
	if reset {
		return " (peak reset)"
	}
	return " (peak since start: clear_refs not writable)"
}

// metrics returns the metric lines of interest from the admin API's
// /metrics, or one line saying why there are none.
func (l *larder) metrics(ctx context.Context) []string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.admin+"/metrics", nil)
	if err != nil {
		return []string{"# metrics: " + err.Error()}
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return []string{"# metrics: " + err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return []string{"# metrics: " + resp.Status}
	}
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, p := range []string{"larder_stored_bytes", "larder_stored_entries", "larder_not_stored_total", "larder_responses_stored_total"} {
			if strings.HasPrefix(line, p) {
				lines = append(lines, line)
				break
			}
		}
	}
	var missing []string
	for _, p := range []string{"larder_stored_bytes", "larder_not_stored_total", "larder_responses_stored_total"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, p) }) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		lines = append(lines, "# not exported by this binary: "+strings.Join(missing, ", "))
	}
	return lines
}

// printMetrics prints the metric lines, leaving out counters at zero.
func printMetrics(lines []string) {
	var zero []string
	for _, line := range lines {
		if strings.HasPrefix(line, "larder_not_stored_total") && strings.HasSuffix(line, " 0") {
			zero = append(zero, line)
			continue
		}
		fmt.Println("  " + line)
	}
	if len(zero) > 0 {
		fmt.Printf("  (%d larder_not_stored_total reasons at 0)\n", len(zero))
	}
}

// storeBytes is the larder_stored_bytes gauge in lines, or "n/a".
func storeBytes(lines []string) string {
	for _, line := range lines {
		if v, ok := strings.CutPrefix(line, "larder_stored_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return v
			}
			return fmt.Sprintf("%.0f", f)
		}
	}
	return "n/a"
}

// mem is a process's memory, in MiB.
type mem struct{ rss, hwm float64 }

// readMem reads VmRSS and VmHWM from /proc/<pid>/status.
func readMem(pid int) (mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}, err
	}
	var m mem
	var found int
	for line := range strings.SplitSeq(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "12345", "kB"
		if len(f) != 2 || f[1] != "kB" {
			return mem{}, fmt.Errorf("/proc/%d/status: unexpected %q", pid, line)
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return mem{}, fmt.Errorf("/proc/%d/status: %q: %v", pid, line, err)
		}
		if name == "VmRSS" {
			m.rss = kb / 1024
		} else {
			m.hwm = kb / 1024
		}
		found++
	}
	if found != 2 {
		return mem{}, errors.New("VmRSS or VmHWM missing from /proc/" + strconv.Itoa(pid) + "/status")
	}
	return m, nil
}
