package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

// lineOf is a distinct access log line.
func lineOf(i int) []byte { return fmt.Appendf(nil, "line %06d %s\n", i, strings.Repeat("x", 100)) }

// checkLines fails unless out holds lines 0 to n-1, once each, in order.
func checkLines(t *testing.T, out string, n int) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		got = nil
	}
	if len(got) != n {
		t.Fatalf("%d lines written, want %d", len(got), n)
	}
	for i, l := range got {
		if l+"\n" != string(lineOf(i)) {
			t.Fatalf("line %d is %.20q, want %.20q", i, l, lineOf(i))
		}
	}
}

// TestAccessLoggerFlushInterval: a line waits for the flush interval, not
// for more lines, nor for Close.
func TestAccessLoggerFlushInterval(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out syncBuffer
	l := newAccessLogger(formatText, &out, defaultAccessLogBuffer, 20*time.Millisecond, nil)
	defer l.Close()
	for round := range 3 { // the writer waits for a first line again after each write
		l.add(lineOf(round))
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(out.String(), "\n") != round+1 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the line was not written after the flush interval: %q", round, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	checkLines(t, out.String(), 3)
}

// TestAccessLoggerBuffers: lines wait in the buffer (here for an hour)
// until a batch's worth is waiting, and the rest until Close.
func TestAccessLoggerBuffers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out syncBuffer
	l := newAccessLogger(formatText, &out, defaultAccessLogBuffer, time.Hour, nil)
	l.add(lineOf(0))
	time.Sleep(50 * time.Millisecond)
	if out.String() != "" {
		t.Fatalf("written before the flush interval: %q", out.String())
	}
	n := 1
	for ; n*len(lineOf(0)) < accessBatch+len(lineOf(0)); n++ {
		l.add(lineOf(n))
	}
	deadline := time.Now().Add(10 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("a batch's worth waiting was not written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.add(lineOf(n))
	n++
	l.Close()
	checkLines(t, out.String(), n)
	l.Close() // again: nothing happens
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	out     syncBuffer
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return w.out.Write(p)
}

// TestAccessLoggerDropsWhenFull: while the output blocks, the lines beyond
// the buffer are dropped, never blocking the request; each is counted, in
// the metric and in a warning once the output writes again; every other
// line is written once.
func TestAccessLoggerDropsWhenFull(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	var logs syncBuffer
	const limit = 16 << 10
	l := newAccessLogger(formatText, w, limit, time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	l.add([]byte("first\n"))
	<-w.entered // the writer is stuck writing the first batch

	const n = 1000 // ~110 KB: far beyond the buffer
	start := time.Now()
	for i := range n {
		l.add(lineOf(i))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("adding lines while the output blocks took %v", took)
	}
	dropped := l.droppedFull.Load()
	kept := n - int(dropped)
	if dropped == 0 || kept*len(lineOf(0)) > limit {
		t.Fatalf("%d lines dropped, %d kept: want the buffer (%d bytes) full, the rest dropped", dropped, kept, limit)
	}
	if got := collect(t, accessLogCollector{l}); got["buffer-full"] != float64(dropped) || got["write-error"] != 0 {
		t.Errorf("metric %v, want buffer-full=%d", got, dropped)
	}

	close(w.release)
	l.Close()
	out := strings.TrimPrefix(w.out.String(), "first\n")
	checkLines(t, out, kept) // the first lines, those that fitted
	if want := fmt.Sprintf("dropped=%d ", dropped); !strings.Contains(logs.String(), want) {
		t.Errorf("no warning with %s:\n%s", want, logs.String())
	}
}

// failingWriter fails every write after the first ok ones.
type failingWriter struct {
	mu sync.Mutex
	ok int
	syncBuffer
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ok == 0 {
		return 0, errors.New("disk full")
	}
	w.ok--
	return w.syncBuffer.Write(p)
}

// TestAccessLoggerWriteError: the lines of a failed write are counted as
// dropped, and the failure is reported once.
func TestAccessLoggerWriteError(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, limit := range []int{0, defaultAccessLogBuffer} {
		var logs syncBuffer
		l := newAccessLogger(formatText, &failingWriter{}, limit, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)))
		for i := range 5 {
			l.add(lineOf(i))
		}
		l.Close()
		if got := l.droppedError.Load(); got != 5 {
			t.Errorf("buffer %d: %d lines counted lost, want 5", limit, got)
		}
		if c := strings.Count(logs.String(), "write failed"); c != 1 {
			t.Errorf("buffer %d: %d warnings, want 1:\n%s", limit, c, logs.String())
		}
		if got := collect(t, accessLogCollector{l}); got["write-error"] != 5 {
			t.Errorf("buffer %d: metric %v", limit, got)
		}
	}
}

// TestAccessLoggerAfterClose: a line logged after Close (a handler that
// outlived the shutdown timeout) is written at once, after the last batch.
func TestAccessLoggerAfterClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out syncBuffer
	l := newAccessLogger(formatText, &out, defaultAccessLogBuffer, time.Hour, nil)
	l.add(lineOf(0))
	l.Close()
	l.add(lineOf(1))
	checkLines(t, out.String(), 2)
	var nilLog *accessLogger
	nilLog.Close() // the access log off
	if got := collect(t, accessLogCollector{nilLog}); got["buffer-full"] != 0 || got["write-error"] != 0 || len(got) != 2 {
		t.Errorf("metric of no access log: %v", got)
	}
}

// TestAccessLoggerConcurrent: lines added from many goroutines, with
// batches and flushes in between, are each written once, whole.
func TestAccessLoggerConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, limit := range []int{0, 4 << 10, defaultAccessLogBuffer} {
		var out syncBuffer
		l := newAccessLogger(formatText, &out, limit, time.Millisecond, nil)
		const workers, each = 8, 500
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				for i := range each {
					l.add(lineOf(g*each + i))
				}
			})
		}
		wg.Wait()
		l.Close()
		seen := make(map[string]int)
		for line := range strings.Lines(out.String()) {
			seen[line]++
		}
		dropped := int(l.droppedFull.Load())
		if limit >= defaultAccessLogBuffer && dropped != 0 {
			t.Errorf("buffer %d: %d lines dropped with a fast output", limit, dropped)
		}
		if len(seen)+dropped != workers*each {
			t.Errorf("buffer %d: %d distinct lines written, %d dropped, want %d in all", limit, len(seen), dropped, workers*each)
		}
		for line, c := range seen {
			if c != 1 || len(line) != len(lineOf(0)) {
				t.Fatalf("buffer %d: line %.20q written %d times, %d bytes", limit, line, c, len(line))
			}
		}
	}
}

// collect returns the access log metric's values by reason.
func collect(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return got
}

// TestAccessLoggerCloseBlocked: an output that blocks does not hold Close
// beyond its wait, and says so in the daemon's log.
func TestAccessLoggerCloseBlocked(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	var logs syncBuffer
	l := newAccessLogger(formatText, w, defaultAccessLogBuffer, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)))
	l.closeWait = 50 * time.Millisecond
	l.add(lineOf(0))
	start := time.Now()
	l.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with a 50ms wait", took)
	}
	if !strings.Contains(logs.String(), "the output blocks") {
		t.Errorf("no warning:\n%s", logs.String())
	}
	close(w.release) // the writer ends: no goroutine left
	<-l.done
	checkLines(t, w.out.String(), 1)
}
