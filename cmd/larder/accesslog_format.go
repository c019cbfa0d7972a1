package main

import (
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/larder-cache/larder"
)

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
