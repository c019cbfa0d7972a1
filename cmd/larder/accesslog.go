package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/larder-cache/larder"
	"github.com/prometheus/client_golang/prometheus"
)

// accessLog is the outermost handler of the proxy listener. It logs one line
// per request (when out is set) and turns a panic below it into a 500, or
// into an aborted connection when the response had already begun, so that a
// bug never takes the process down nor shows a stack trace to a client.
//
// The cache's outcome in the log line comes from the cache's observer:
// recordOutcome, called by the observer, fills in the outcomeSlot of the
// request's context. That slot is the connection's (connContext), which its
// HTTP/1 requests use one after the other, or else one accessLog adds to
// the request's context (a slotContext), at the cost of two allocations,
// the context and the request's shallow copy.
type accessLog struct {
	next   http.Handler
	logger *slog.Logger  // the daemon's log: panics
	out    *accessLogger // nil: no access log
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	lw := &logWriter{ResponseWriter: w}
	if a.out != nil {
		start = time.Now()
		if slot, ok := r.Context().Value(outcomeSlotKey{}).(*outcomeSlot); ok && r.ProtoMajor == 1 {
			slot.outcome = "" // the connection's previous request's
			lw.slot = slot
		} else {
			ctx := &slotContext{Context: r.Context()}
			lw.slot = &ctx.slot
			r = r.WithContext(ctx)
		}
	}
	defer func() {
		v := recover()
		if v != nil && v != http.ErrAbortHandler {
			a.logger.Error("panic serving request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if lw.status == 0 {
				h := w.Header()
				clear(h)
				h.Set("Content-Type", "text/plain; charset=utf-8")
				h.Set("Cache-Control", "no-store")
				lw.WriteHeader(http.StatusInternalServerError)
				_, _ = lw.Write([]byte("500 internal server error\n"))
				v = nil
			}
		}
		if a.out != nil {
			a.out.log(r, lw, start, v != nil)
		}
		if v != nil {
			// The response has begun: abort it rather than let it look complete.
			panic(http.ErrAbortHandler)
		}
	}()
	a.next.ServeHTTP(lw, r)
}

// logWriter records the status and the body bytes written, and where the
// cache's outcome is: slot. Unwrap keeps Flush, Hijack and the rest
// reachable through http.ResponseController.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	slot   *outcomeSlot // with the access log on
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outcomeSlot is where the cache's observer leaves what the cache did for a
// request, for the access log line. The zero value means the cache did not
// report the request (it never got to the cache).
type outcomeSlot struct {
	outcome larder.Outcome
}

// outcomeSlotKey is the request context key of the access log's outcomeSlot.
type outcomeSlotKey struct{}

// connContext is the proxy server's ConnContext when the access log is on:
// it gives each connection an outcomeSlot, which its requests use in turn.
// An HTTP/1 connection serves one request at a time, its handler returning
// before the next is read; the cache reports a request before its handler
// returns. So a request costs the access log no context, nor a copy of
// itself. A background revalidation keeps its request's context values, the
// connection's slot included, but recordOutcome skips it.
func connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, outcomeSlotKey{}, new(outcomeSlot))
}

// ConnContext is the ConnContext of the proxy server: connContext, or nil
// without an access log.
func (l *accessLogger) ConnContext() func(context.Context, net.Conn) context.Context {
	if l == nil {
		return nil
	}
	return connContext
}

// slotContext is a request's context with its outcomeSlot under
// outcomeSlotKey: what context.WithValue would make, in one allocation with
// the slot. Everything else is the parent's, Value included, so that the
// context package recognises a cancelable parent as it does through a
// context.WithValue (no goroutine per derived context).
type slotContext struct {
	context.Context
	slot outcomeSlot
}

func (c *slotContext) Value(key any) any {
	if key == (outcomeSlotKey{}) {
		return &c.slot
	}
	return c.Context.Value(key)
}

// recordOutcome is the access log's part of the cache's observer: it records
// ev.Outcome in the slot of ev's request, if it has one.
//
// The cache reports a client's request before its handler returns, on the
// request's goroutine, so the slot needs no lock: the access log reads it
// after. A background revalidation (stale-while-revalidate) carries the
// context values of the request that started it, slot included, but it is
// not that request, which has been answered (and maybe logged) already:
// it is skipped.
func recordOutcome(ev larder.Event) {
	if ev.Background || ev.Request == nil {
		return
	}
	if slot, ok := ev.Request.Context().Value(outcomeSlotKey{}).(*outcomeSlot); ok {
		slot.outcome = ev.Outcome
	}
}

// accessFormat is the format of the access log's lines.
type accessFormat int

// The access log formats. Text and JSON are the lines slog's TextHandler and
// JSONHandler would write for the record "request" (level INFO) with the
// attributes method, host, path, status, cache, bytes, duration, remote (and
// aborted=true for a response cut short by a panic), byte for byte: they fit
// in the daemon's log of the same format. Common and combined are nginx's
// (and Apache's) formats, for the tools that read those.
const (
	formatText accessFormat = iota
	formatJSON
	formatCommon
	formatCombined
)

// accessFormats are the --access-log-format names.
var accessFormats = map[string]accessFormat{
	"text": formatText, "json": formatJSON, "common": formatCommon, "combined": formatCombined,
}

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

// accessRecord is what a line says about a request.
type accessRecord struct {
	r        *http.Request
	end      time.Time
	duration time.Duration
	status   int
	outcome  larder.Outcome
	bytes    int64
	aborted  bool
}

// appendLine appends rec's line, newline included, to b.
func (f accessFormat) appendLine(b []byte, rec *accessRecord) []byte {
	r := rec.r
	switch f {
	case formatJSON:
		b = append(b, `{"time":"`...)
		b = appendTime(b, rec.end, false)
		b = append(b, `","level":"INFO","msg":"request","method":`...)
		b = appendJSONString(b, r.Method)
		b = append(b, `,"host":`...)
		b = appendJSONString(b, r.Host)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, r.URL.Path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(rec.status), 10)
		b = append(b, `,"cache":`...)
		b = appendJSONString(b, string(rec.outcome))
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, rec.bytes, 10)
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, int64(rec.duration), 10)
		b = append(b, `,"remote":`...)
		b = appendJSONString(b, r.RemoteAddr)
		if rec.aborted {
			b = append(b, `,"aborted":true`...)
		}
		return append(b, "}\n"...)
	case formatCommon, formatCombined:
		// nginx: $remote_addr - $remote_user [$time_local] "$request"
		// $status $body_bytes_sent "$http_referer" "$http_user_agent"
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		b = appendCLFField(b, host)
		b = append(b, " - - ["...)
		b = appendCLFTime(b, rec.end)
		b = append(b, `] "`...)
		b = appendCLFEscaped(b, r.Method)
		b = append(b, ' ')
		if r.RequestURI != "" {
			b = appendCLFEscaped(b, r.RequestURI)
		} else {
			b = appendCLFEscaped(b, r.URL.RequestURI())
		}
		b = append(b, ' ')
		b = appendCLFEscaped(b, r.Proto)
		b = append(b, `" `...)
		b = strconv.AppendInt(b, int64(rec.status), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, rec.bytes, 10)
		if f == formatCombined {
			b = append(b, ` "`...)
			b = appendCLFString(b, r.Header.Get("Referer"))
			b = append(b, `" "`...)
			b = appendCLFString(b, r.Header.Get("User-Agent"))
			b = append(b, '"')
		}
		return append(b, '\n')
	default:
		b = append(b, "time="...)
		b = appendTime(b, rec.end, true)
		b = append(b, " level=INFO msg=request method="...)
		b = appendTextString(b, r.Method)
		b = append(b, " host="...)
		b = appendTextString(b, r.Host)
		b = append(b, " path="...)
		b = appendTextString(b, r.URL.Path)
		b = append(b, " status="...)
		b = strconv.AppendInt(b, int64(rec.status), 10)
		b = append(b, " cache="...)
		b = appendTextString(b, string(rec.outcome))
		b = append(b, " bytes="...)
		b = strconv.AppendInt(b, rec.bytes, 10)
		b = append(b, " duration="...)
		b = append(b, rec.duration.String()...) // String is inlined: its string stays on the stack
		b = append(b, " remote="...)
		b = appendTextString(b, r.RemoteAddr)
		if rec.aborted {
			b = append(b, " aborted=true"...)
		}
		return append(b, '\n')
	}
}

// secondStamp is the formatted part of a time that changes once a second.
type secondStamp struct {
	unix int64
	loc  *time.Location
	date string // 2006-01-02T15:04:05
	zone string // Z07:00
	clf  string // 02/Jan/2006:15:04:05 -0700
}

// lastStamp is the secondStamp of the last time formatted: lines are
// formatted in the same second many times over.
var lastStamp atomic.Pointer[secondStamp]

func stampOf(t time.Time) *secondStamp {
	s := lastStamp.Load()
	if s != nil && s.unix == t.Unix() && s.loc == t.Location() {
		return s
	}
	t = t.Truncate(time.Second)
	s = &secondStamp{unix: t.Unix(), loc: t.Location(),
		date: t.Format("2006-01-02T15:04:05"), zone: t.Format("Z07:00"), clf: t.Format("02/Jan/2006:15:04:05 -0700")}
	lastStamp.Store(s)
	return s
}

// appendTime appends t as slog does: RFC 3339 with milliseconds in text,
// with nanoseconds, trailing zeros trimmed, in JSON (time.RFC3339Nano).
func appendTime(b []byte, t time.Time, millis bool) []byte {
	s := stampOf(t)
	b = append(b, s.date...)
	ns := t.Nanosecond()
	if millis {
		b = append(b, '.')
		b = appendDigits(b, ns/1e6, 3)
	} else if ns != 0 {
		digits := 9
		for ns%10 == 0 {
			ns /= 10
			digits--
		}
		b = append(b, '.')
		b = appendDigits(b, ns, digits)
	}
	return append(b, s.zone...)
}

// appendDigits appends v in exactly n decimal digits, zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	var d [9]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// appendCLFTime appends t as nginx's $time_local.
func appendCLFTime(b []byte, t time.Time) []byte { return append(b, stampOf(t).clf...) }

// appendTextString appends s as slog's TextHandler does: bare, or quoted
// when it is empty or holds a space, '=', '"', a control character or an
// invalid or non-printing rune.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// textSafe holds, for each ASCII byte, whether a text value holding it may
// go unquoted: slog's rule, a table for speed.
var textSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c == '\\' || c != ' ' && c != '=' && jsonSafe(byte(c))
	}
	return t
}()

// needsQuoting is slog's (log/slog/text_handler.go).
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !textSafe[c] {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// jsonSafe reports whether the ASCII byte c needs no escaping in a JSON
// string (slog's safeSet).
func jsonSafe(c byte) bool { return c >= ' ' && c != '"' && c != '\\' }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as slog's
// JSONHandler does (log/slog/json_handler.go): invalid UTF-8 as U+FFFD,
// U+2028 and U+2029 escaped, no HTML escaping.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe(c) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCLFString appends a quoted field of the combined format: "-" when
// empty, as nginx logs an absent $http_referer.
func appendCLFString(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendCLFEscaped(b, s)
}

// appendCLFField appends an unquoted field: "-" when empty.
func appendCLFField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendCLFEscaped(b, s)
}

// appendCLFEscaped appends s escaped as nginx escapes its log variables
// (escape=default): '"', '\', control bytes and bytes from 0x7f as \xHH. A
// space is left as it is, as nginx does; a quoted field ends only at an
// unescaped '"'.
func appendCLFEscaped(b []byte, s string) []byte {
	const upper = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'x', upper[c>>4], upper[c&0xF])
			start = i + 1
		}
	}
	return append(b, s[start:]...)
}

// checkAccessLog validates the --access-log-* flags into c; --log-format
// and --log-level are in c already. Text and JSON lines are records of the
// daemon's log at level info: above it, the access log is off, as it was
// when the daemon's logger wrote it.
func (c *config) checkAccessLog(format, output string, buffer int64) error {
	if format == "" {
		format = c.logFormat
	}
	f, ok := accessFormats[format]
	if !ok {
		return fmt.Errorf("--access-log-format %q: want text, json, common or combined", format)
	}
	c.accessLogFormat = f
	switch output {
	case "stderr", "stdout":
		c.accessLogStdout = output == "stdout"
	default:
		return fmt.Errorf("--access-log-output %q: want stderr or stdout", output)
	}
	if buffer > 1<<30 {
		return fmt.Errorf("--access-log-buffer %s: too large (want at most 1GiB)", formatSize(buffer))
	}
	c.accessLogBuffer = int(buffer)
	if c.accessLogFlush <= 0 {
		return errors.New("--access-log-flush must be positive (--access-log-buffer 0 writes each line at once)")
	}
	if (f == formatText || f == formatJSON) && c.logLevel > slog.LevelInfo {
		c.accessLog = false
	}
	return nil
}

// bufferSizeValue is a flag.Value holding a byte count in the parseSize
// syntax, or 0.
type bufferSizeValue int64

func (s *bufferSizeValue) Set(v string) error {
	if strings.TrimSpace(v) == "0" {
		*s = 0
		return nil
	}
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = bufferSizeValue(n)
	return nil
}

func (s *bufferSizeValue) String() string { return formatSize(int64(*s)) }

// newAccessLog starts the access log cfg asks for: nil when it is off.
func newAccessLog(cfg *config, stdout, stderr io.Writer, logger *slog.Logger) *accessLogger {
	if !cfg.accessLog {
		return nil
	}
	w := stderr
	if cfg.accessLogStdout {
		w = stdout
	}
	return newAccessLogger(cfg.accessLogFormat, w, cfg.accessLogBuffer, cfg.accessLogFlush, logger)
}
