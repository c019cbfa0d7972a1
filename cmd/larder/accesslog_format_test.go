package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// slogLine is the line the daemon's slog logger wrote for a request before
// the access log formatted its own: the reference for the text and JSON
// formats.
func slogLine(t testing.TB, f accessFormat, rec *accessRecord) string {
	t.Helper()
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if f == formatJSON {
		h = slog.NewJSONHandler(&buf, nil)
	}
	r := rec.r
	sr := slog.NewRecord(rec.end, slog.LevelInfo, "request", 0)
	sr.AddAttrs(
		slog.String("method", r.Method),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status),
		slog.String("cache", string(rec.outcome)),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", rec.duration),
		slog.String("remote", r.RemoteAddr),
	)
	if rec.aborted {
		sr.AddAttrs(slog.Bool("aborted", true))
	}
	if err := h.Handle(context.Background(), sr); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// awkward are strings that slog quotes or escapes, each its own way.
var awkward = []string{
	"", "plain", "with space", "a=b", `quote"d`, `back\slash`, "tab\there", "new\nline", "cr\r",
	"\x00nul", "\x1b[31mred", "del\x7f", "caf\u00e9", "\u00b5s", "bad\xffutf8", "\xc3", "line\u2028sep", "para\u2029",
	"nbsp\u00a0", "zero\u200bwidth", "emoji\U0001F600", "<html>&amp;", "/path?q=1&r=2#f", "tr\u0301e",
}

func awkwardRecords() []accessRecord {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	times := []time.Time{
		time.Date(2026, 11, 30, 16, 3, 15, 0, time.UTC),
		time.Date(2026, 11, 30, 16, 3, 15, 123456789, time.UTC),
		time.Date(2026, 11, 30, 16, 3, 15, 120000000, time.UTC),
		time.Date(2026, 11, 30, 16, 3, 15, 999999999, paris),
		time.Date(2026, 7, 1, 0, 0, 0, 1000, paris),
		time.Date(2026, 3, 29, 1, 59, 59, 500, time.FixedZone("", -(9*3600+30*60))),
		time.Now(),
	}
	durations := []time.Duration{0, 1, 999, 1500, 812 * time.Microsecond, 1234567, time.Second, 61*time.Second + 5, 3*time.Hour + 1, -time.Millisecond}
	var recs []accessRecord
	for i, s := range awkward {
		r := httptest.NewRequest("GET", "/", nil)
		r.Method = awkward[(i+3)%len(awkward)]
		r.Host = s
		r.URL.Path = awkward[(i+1)%len(awkward)]
		r.RemoteAddr = awkward[(i+2)%len(awkward)]
		recs = append(recs, accessRecord{
			r: r, end: times[i%len(times)], duration: durations[i%len(durations)], status: 200 + i,
			outcome: larder.Outcome(awkward[(i+5)%len(awkward)]), bytes: int64(i) * 1000003, aborted: i%3 == 0,
		})
	}
	return recs
}

// TestAccessFormatMatchesSlog: the text and JSON lines are, byte for byte,
// what the daemon's slog logger writes for the same record.
func TestAccessFormatMatchesSlog(t *testing.T) {
	for _, f := range []accessFormat{formatText, formatJSON} {
		for _, rec := range awkwardRecords() {
			got := string(f.appendLine(nil, &rec))
			if want := slogLine(t, f, &rec); got != want {
				t.Errorf("format %d:\n got %q\nwant %q", f, got, want)
			}
		}
	}
	// Every time of a day, nanoseconds included, and the second cache.
	base := time.Date(2026, 11, 30, 23, 59, 58, 0, time.Local)
	r := httptest.NewRequest("GET", "/", nil)
	for i := range 5000 {
		end := base.Add(time.Duration(i) * 999_937 * time.Nanosecond)
		rec := accessRecord{r: r, end: end, status: 200}
		for _, f := range []accessFormat{formatText, formatJSON} {
			if got, want := string(f.appendLine(nil, &rec)), slogLine(t, f, &rec); got != want {
				t.Fatalf("format %d at %v:\n got %q\nwant %q", f, end, got, want)
			}
		}
	}
}

// combinedRE is nginx's combined format, strictly: $remote_addr -
// $remote_user [$time_local] "$request" $status $body_bytes_sent
// "$http_referer" "$http_user_agent", the quoted fields with no unescaped
// quote.
var combinedRE = regexp.MustCompile(`^(\S+) - (\S+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$`)

// commonRE is the common log format.
var commonRE = regexp.MustCompile(`^(\S+) - (\S+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "([^"]*)" (\d{3}) (\d+)$`)

// fluentBitNginxRE is the regex of fluent-bit's "nginx" parser
// (conf/parsers.conf), as GoAccess's COMBINED, what log collectors apply.
var fluentBitNginxRE = regexp.MustCompile(`^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)")`)

// unescapeNginx undoes nginx's \xHH escapes.
func unescapeNginx(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i+4 > len(s) || s[i+1] != 'x' {
				t.Fatalf("bad escape in %q", s)
			}
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				t.Fatalf("bad escape in %q: %v", s, err)
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestAccessFormatCombined(t *testing.T) {
	end := time.Date(2026, 11, 30, 16, 3, 15, 123456789, time.FixedZone("", -(4*3600+30*60)))
	cases := []struct {
		remote, method, uri, proto, referer, agent string
		wantRemote                                 string
	}{
		{"127.0.0.1:51234", "GET", "/1k", "HTTP/1.1", "", "", "127.0.0.1"},
		{"[::1]:8080", "POST", "/a/b?x=1&y=%22z%22", "HTTP/2.0", "https://ref.example/p?q", "curl/8.5.0", "::1"},
		{"10.0.0.1:1", "GET", "/sp%20ace", "HTTP/1.0", `quote"d \ back`, "Mozilla/5.0 (X11; Linux x86_64) \"evil\" \x01\x7f\xff caf\u00e9", "10.0.0.1"},
		{"unix-socket", "PURGE", "*", "HTTP/1.1", "-", " ", "unix-socket"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/", nil)
		r.RemoteAddr, r.RequestURI, r.Proto = c.remote, c.uri, c.proto
		if c.referer != "" {
			r.Header.Set("Referer", c.referer)
		}
		if c.agent != "" {
			r.Header.Set("User-Agent", c.agent)
		} else {
			r.Header.Del("User-Agent")
		}
		rec := accessRecord{r: r, end: end, status: 304, bytes: 1234, outcome: larder.OutcomeHit, duration: time.Millisecond}

		line := string(formatCombined.appendLine(nil, &rec))
		if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Fatalf("%q: not one line", line)
		}
		line = strings.TrimSuffix(line, "\n")
		m := combinedRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%q does not match the combined format", line)
		}
		if !fluentBitNginxRE.MatchString(line) {
			t.Errorf("%q does not match fluent-bit's nginx parser", line)
		}
		tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[3])
		if err != nil || !tm.Equal(end.Truncate(time.Second)) {
			t.Errorf("time %q: %v, %v; want %v", m[3], tm, err, end)
		}
		dash := func(s string) string {
			if s == "" {
				return "-"
			}
			return s
		}
		for _, f := range []struct{ name, got, want string }{
			{"remote", m[1], c.wantRemote},
			{"user", m[2], "-"},
			{"request", unescapeNginx(t, m[4]), c.method + " " + c.uri + " " + c.proto},
			{"status", m[5], "304"},
			{"bytes", m[6], "1234"},
			{"referer", unescapeNginx(t, m[7]), dash(c.referer)},
			{"agent", unescapeNginx(t, m[8]), dash(c.agent)},
		} {
			if f.got != f.want {
				t.Errorf("%s: %q, want %q (line %q)", f.name, f.got, f.want, line)
			}
		}

		common := strings.TrimSuffix(string(formatCommon.appendLine(nil, &rec)), "\n")
		if !commonRE.MatchString(common) || !strings.HasPrefix(line, common+` "`) {
			t.Errorf("common %q: not the combined line %q without its last two fields", common, line)
		}
	}
}

// TestAccessFormatNoAlloc: a line is formatted without an allocation.
func TestAccessFormatNoAlloc(t *testing.T) {
	r := httptest.NewRequest("GET", "http://site.test/some/path?q=1", nil)
	r.Header.Set("User-Agent", "wrk")
	rec := accessRecord{r: r, end: time.Now(), duration: 812 * time.Microsecond, status: 200,
		outcome: larder.OutcomeHit, bytes: 1024}
	for _, f := range []accessFormat{formatText, formatJSON, formatCommon, formatCombined} {
		buf := make([]byte, 0, 512)
		if n := testing.AllocsPerRun(100, func() { buf = f.appendLine(buf[:0], &rec) }); n != 0 {
			t.Errorf("format %d: %v allocations per line", f, n)
		}
	}
}

// TestAccessLogAllocs: the access log costs a request of a connection with
// its outcome slot (connContext, HTTP/1) no allocation; without one, two:
// a context with a slot, and the shallow copy of the request carrying it.
func TestAccessLogAllocs(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordOutcome(larder.Event{Outcome: larder.OutcomeHit, Request: r})
		_, _ = w.Write([]byte("hello"))
	})
	w := &discardWriter{h: http.Header{}}
	bare := httptest.NewRequest("GET", "http://site.test/a", nil)
	conn := bare.WithContext(connContext(bare.Context(), nil))
	allocs := func(out *accessLogger, r *http.Request) float64 {
		h := &accessLog{next: next, logger: slog.New(slog.DiscardHandler), out: out}
		return testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) })
	}
	off := allocs(nil, bare)
	for _, f := range []accessFormat{formatText, formatJSON, formatCombined} {
		var lines syncBuffer
		out := newAccessLogger(f, &lines, defaultAccessLogBuffer, time.Hour, nil)
		if on := allocs(out, conn); on > off {
			t.Errorf("format %d, slot per connection: %v allocations per request, %v without the access log", f, on, off)
		}
		if on := allocs(out, bare); on > off+2 {
			t.Errorf("format %d, no slot per connection: %v allocations per request, %v without the access log", f, on, off)
		}
		out.Close()
		// AllocsPerRun runs once more than asked; combined has no outcome.
		if n, h := strings.Count(lines.String(), "\n"), strings.Count(lines.String(), "hit"); n != 2002 || f != formatCombined && h != n {
			t.Errorf("format %d: %d lines, %d with the outcome, want 2002", f, n, h)
		}
	}
}

// TestAccessLogConnSlot: the requests of a keep-alive connection share its
// slot, each starting with it empty; an HTTP/2 request, served concurrently
// with others of its connection, gets a slot of its own.
func TestAccessLogConnSlot(t *testing.T) {
	var lines syncBuffer
	out := newAccessLogger(formatJSON, &lines, 0, 0, nil)
	var slots []*outcomeSlot
	h := &accessLog{logger: slog.New(slog.DiscardHandler), out: out,
		next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			slots = append(slots, r.Context().Value(outcomeSlotKey{}).(*outcomeSlot))
			if r.URL.Path == "/reported" {
				recordOutcome(larder.Event{Outcome: larder.OutcomeHit, Request: r})
			}
		})}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnContext = out.ConnContext()
	srv.Start()
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	for _, p := range []string{"/reported", "/not-reported", "/reported", "/not-reported"} {
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	got := requestLines(t, lines.String())
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4", len(got))
	}
	for i, l := range got {
		if want := []string{"hit", ""}[i%2]; l["cache"] != want {
			t.Errorf("line %d (%s): cache=%q, want %q", i, l["path"], l["cache"], want)
		}
	}
	if len(slots) != 4 || slots[0] != slots[3] {
		t.Errorf("the requests of one connection did not share its slot")
	}

	// HTTP/2 (here without a connection, as a test would): a slot of its own.
	r := httptest.NewRequest("GET", "/reported", nil)
	r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
	connSlot := new(outcomeSlot)
	r = r.WithContext(context.WithValue(r.Context(), outcomeSlotKey{}, connSlot))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if slots[4] == connSlot || connSlot.outcome != "" {
		t.Error("an HTTP/2 request used its connection's slot")
	}
	if got := requestLines(t, lines.String()); got[4]["cache"] != "hit" {
		t.Errorf("HTTP/2 line: %v", got[4])
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkAccessLog is the access log's cost per request, in process:
// off, each format through the buffer (on a connection with its slot, as
// the daemon's requests are, and text without), and the slog logger it
// replaces (one record and one write, here to io.Discard, per request).
func BenchmarkAccessLog(b *testing.B) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recordOutcome(larder.Event{Outcome: larder.OutcomeHit, Request: r})
		_, _ = w.Write([]byte("hello"))
	})
	bare := httptest.NewRequest("GET", "http://site.test/1k", nil)
	bare.RemoteAddr = "127.0.0.1:40000"
	run := func(b *testing.B, h http.Handler, connSlot bool) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := &discardWriter{h: http.Header{}}
			r := bare
			if connSlot { // each goroutine a connection
				r = bare.WithContext(connContext(bare.Context(), nil))
			}
			for pb.Next() {
				h.ServeHTTP(w, r)
			}
		})
	}
	b.Run("off", func(b *testing.B) { run(b, &accessLog{next: next, logger: slog.New(slog.DiscardHandler)}, false) })
	for _, f := range []struct {
		name     string
		format   accessFormat
		connSlot bool
	}{
		{"text", formatText, true}, {"json", formatJSON, true}, {"combined", formatCombined, true},
		{"text-no-conn-slot", formatText, false},
	} {
		b.Run(f.name, func(b *testing.B) {
			out := newAccessLogger(f.format, io.Discard, defaultAccessLogBuffer, defaultAccessLogFlush, nil)
			defer out.Close()
			run(b, &accessLog{next: next, logger: slog.New(slog.DiscardHandler), out: out}, f.connSlot)
		})
	}
	b.Run("slog-text-unbuffered", func(b *testing.B) {
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			slot := new(outcomeSlot)
			r = r.WithContext(context.WithValue(r.Context(), outcomeSlotKey{}, slot))
			lw := &logWriter{ResponseWriter: w}
			next.ServeHTTP(lw, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("host", r.Host), slog.String("path", r.URL.Path),
				slog.Int("status", lw.status), slog.String("cache", string(slot.outcome)),
				slog.Int64("bytes", lw.bytes), slog.Duration("duration", time.Since(start)),
				slog.String("remote", r.RemoteAddr))
		}), false)
	})
}
