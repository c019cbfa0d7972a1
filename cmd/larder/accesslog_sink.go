package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the --access-log-buffer and --access-log-flush flags.
const (
	defaultAccessLogBuffer = 1 << 20
	defaultAccessLogFlush  = time.Second
)

// accessBatch is the most bytes the access log waits for before it writes
// them (unless the flush interval comes first): one write for ~200 lines of
// ~160 bytes. Smaller batches are written more often; larger ones leave the
// buffer colder in the CPU's caches by the time it is filled again (in a
// profile of the daemon under load, the access log took ~2.2 % of its CPU
// with 16 KiB batches, ~3 % with 64 KiB, written to /dev/null). Half of a
// pipe's default capacity: a batch fits in a pipe its reader has drained.
const accessBatch = 32 << 10

// accessLogger formats the access log's lines and writes them: through a
// bounded buffer, written by a goroutine of its own in batches (when
// accessBatch bytes are waiting, or flush after the first line of a batch,
// and at Close), or, without a buffer (limit 0), by each request as it ends.
//
// The buffer never blocks a request: a line that would take it beyond limit
// bytes while the writer is still busy with the previous batch (the output
// cannot keep up, or blocks) is dropped and counted, and the writer reports
// the count in the daemon's log after its next write. A failed write counts
// the lines it held as dropped too. Either count is a metric,
// larder_access_log_dropped_total.
//
// A line logged after Close, by a handler that outlived the shutdown
// timeout, is written at once.
type accessLogger struct {
	format accessFormat
	w      io.Writer
	logger *slog.Logger // the daemon's log: drops and write errors
	limit  int          // bytes; 0: no buffer
	flush  time.Duration

	mu       sync.Mutex
	buf      []byte // the lines waiting
	lines    int    // in buf
	kicked   bool   // full has been signalled for this batch
	closed   bool
	writeErr error // of the last write

	first     chan struct{} // a line entered an empty buffer
	full      chan struct{} // accessBatch bytes are waiting
	stop      chan struct{}
	done      chan struct{}
	once      sync.Once
	closeWait time.Duration

	droppedFull  atomic.Uint64 // the buffer was full
	droppedError atomic.Uint64 // the write failed
	reported     uint64        // droppedFull + droppedError when last reported; the writer's
}

// newAccessLogger starts the access log writing to w; a limit of 0 writes
// each line at once, flush is then unused. Close stops it.
func newAccessLogger(format accessFormat, w io.Writer, limit int, flush time.Duration, logger *slog.Logger) *accessLogger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &accessLogger{format: format, w: w, logger: logger, limit: limit, flush: flush,
		done: make(chan struct{}), closeWait: accessLogCloseWait}
	if limit == 0 {
		close(l.done)
		return l
	}
	l.buf = make([]byte, 0, min(limit, 2*accessBatch))
	l.first, l.full, l.stop = make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{})
	go l.run()
	return l
}

// log writes the line of a request that has been answered.
func (l *accessLogger) log(r *http.Request, lw *logWriter, start time.Time, aborted bool) {
	// One clock read: the end's wall time from the start's and the
	// monotonic duration.
	d := time.Since(start)
	end := start.Add(d)
	status := lw.status
	if status == 0 {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	rec := accessRecord{r: r, end: end, duration: d, status: status,
		outcome: lw.slot.outcome, bytes: lw.bytes, aborted: aborted}
	var scratch [512]byte // most lines fit: no allocation
	l.add(l.format.appendLine(scratch[:0], &rec))
}

// add queues a line (or writes it, without a buffer). It does not keep line.
func (l *accessLogger) add(line []byte) {
	l.mu.Lock()
	if l.limit == 0 || l.closed {
		// Through buf, so that line never reaches the io.Writer: it stays
		// on the caller's stack.
		l.buf = append(l.buf[:0], line...)
		l.writeLocked(l.buf, 1)
		l.mu.Unlock()
		return
	}
	if len(l.buf) > 0 && len(l.buf)+len(line) > l.limit {
		l.mu.Unlock()
		l.droppedFull.Add(1)
		return
	}
	wasEmpty := len(l.buf) == 0
	l.buf = append(l.buf, line...)
	l.lines++
	kick := !l.kicked && len(l.buf) >= min(accessBatch, l.limit/2)
	if kick {
		l.kicked = true
	}
	l.mu.Unlock()
	if wasEmpty {
		select {
		case l.first <- struct{}{}:
		default:
		}
	}
	if kick {
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
}

// run is the writer: it waits for a first line, then for the flush interval
// or for a batch's worth, and writes what is waiting. An idle access log does
// not wake it.
func (l *accessLogger) run() {
	defer close(l.done)
	timer := time.NewTimer(l.flush)
	timer.Stop()
	var spare []byte
	for {
		select {
		case <-l.first:
		case <-l.stop:
			l.final()
			return
		}
		timer.Reset(l.flush)
		select {
		case <-timer.C:
		case <-l.full:
			timer.Stop()
		case <-l.stop:
			timer.Stop()
			l.final()
			return
		}
		l.mu.Lock()
		b, n := l.buf, l.lines
		l.buf, l.lines, l.kicked = spare[:0], 0, false
		l.mu.Unlock()
		l.write(b, n)
		spare = b
	}
}

// final writes the last batch and leaves the log unbuffered. It holds the
// lock while it writes, so that a line logged after it follows.
func (l *accessLogger) final() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.writeLocked(l.buf, l.lines)
	l.buf, l.lines = nil, 0
	l.reportDrops()
}

// write writes a batch, then reports the lines dropped since the last report.
func (l *accessLogger) write(b []byte, lines int) {
	l.writeLocked(b, lines) // the writer is the only one writing while the log is open
	l.reportDrops()
}

// writeLocked writes b, holding lines lines, and counts the lines a failed
// write lost. It reports a write error once, until a write succeeds again.
func (l *accessLogger) writeLocked(b []byte, lines int) {
	if len(b) == 0 {
		return
	}
	n, err := l.w.Write(b)
	if err == nil {
		l.writeErr = nil
		return
	}
	lost := bytes.Count(b[min(n, len(b)):], []byte{'\n'})
	if lines == 1 || lost > lines {
		lost = lines
	}
	l.droppedError.Add(uint64(lost))
	if l.writeErr == nil {
		l.logger.Warn("access log: write failed, lines lost", "err", err, "lines", lost)
	}
	l.writeErr = err
}

// reportDrops logs the lines dropped since the last report, if any. Only
// the writer calls it.
func (l *accessLogger) reportDrops() {
	full, failed := l.droppedFull.Load(), l.droppedError.Load()
	if total := full + failed; total > l.reported {
		l.logger.Warn("access log: lines dropped, the output could not keep up", "dropped", total-l.reported,
			"total_buffer_full", full, "total_write_error", failed)
		l.reported = total
	}
}

// accessLogCloseWait is the longest Close waits for the last lines to be
// written, so that an output that blocks (a pipe nobody reads) does not hold
// the daemon's exit.
const accessLogCloseWait = 5 * time.Second

// Close writes the lines still waiting and stops the writer, waiting at
// most closeWait for the output. Lines logged after it are written at once.
// It may be called more than once, and on nil.
func (l *accessLogger) Close() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		if l.stop == nil {
			return // no buffer, no writer
		}
		close(l.stop)
		t := time.NewTimer(l.closeWait)
		defer t.Stop()
		select {
		case <-l.done:
		case <-t.C:
			l.logger.Warn("access log: the output blocks; its last lines are not written", "waited", l.closeWait)
		}
	})
}

// accessLogDroppedDesc describes the lines the access log dropped.
var accessLogDroppedDesc = prometheus.NewDesc("larder_access_log_dropped_total",
	"Access log lines not written, by reason (buffer-full: the output could not keep up and --access-log-buffer was full; write-error: the write failed).",
	[]string{"reason"}, nil)

// accessLogCollector reports the access log's drops; with a nil log, zeros.
type accessLogCollector struct{ l *accessLogger }

func (c accessLogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- accessLogDroppedDesc }

func (c accessLogCollector) Collect(ch chan<- prometheus.Metric) {
	var full, failed uint64
	if c.l != nil {
		full, failed = c.l.droppedFull.Load(), c.l.droppedError.Load()
	}
	ch <- prometheus.MustNewConstMetric(accessLogDroppedDesc, prometheus.CounterValue, float64(full), "buffer-full")
	ch <- prometheus.MustNewConstMetric(accessLogDroppedDesc, prometheus.CounterValue, float64(failed), "write-error")
}
