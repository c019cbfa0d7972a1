package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAccessLog(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL, "--log-format", "json"}, nil)
	d.get("/a")
	d.get("/a")
	d.do(http.MethodPost, "/a", nil, "x")
	d.stop() // flush: every request has been logged once run returned

	var lines []map[string]any
	for line := range strings.Lines(d.stderr.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	want := []struct {
		method, cache string
		status        float64
	}{
		{"GET", "miss", 200},
		{"GET", "hit", 200},
		{"POST", "method", 200},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d access log lines, want %d:\n%s", len(lines), len(want), d.stderr)
	}
	for i, w := range want {
		l := lines[i]
		if l["method"] != w.method || l["cache"] != w.cache || l["status"] != w.status || l["path"] != "/a" {
			t.Errorf("line %d: %v, want %s /a %v cache=%s", i, l, w.method, w.status, w.cache)
		}
		if w.method == "GET" && l["bytes"] != float64(len("body of /a")) {
			t.Errorf("line %d: bytes %v", i, l["bytes"])
		}
		if _, ok := l["duration"].(float64); !ok {
			t.Errorf("line %d: no duration", i)
		}
	}
}

func TestAccessLogOff(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL, "--access-log=false"}, nil)
	d.get("/a")
	d.stop()
	if strings.Contains(d.stderr.String(), "msg=request") {
		t.Errorf("access log written with --access-log=false:\n%s", d.stderr)
	}
}

func TestPanicRecovered(t *testing.T) {
	var logs syncBuffer
	h := &accessLog{
		logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		enabled: true,
		name:    cacheName,
		next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/early":
				w.Header().Set("Content-Length", "1000")
				panic("boom")
			case "/late":
				w.WriteHeader(200)
				io.WriteString(w, "partial")
				panic("boom")
			}
			io.WriteString(w, "fine")
		}),
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL + "/early")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || strings.Contains(string(b), "goroutine") || strings.Contains(string(b), "boom") {
		t.Errorf("panic before the header: %d %q, want a bare 500", resp.StatusCode, b)
	}

	// After the header: the response is cut short, not passed off as complete.
	if resp, err := client.Get(srv.URL + "/late"); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Error("panic after the header: the response looked complete")
		}
	}

	// The server still serves.
	resp, err = client.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "fine" {
		t.Errorf("after the panics: %q", b)
	}
	if !strings.Contains(logs.String(), "panic serving request") {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
}

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		fields []string
		want   string
	}{
		{nil, ""},
		{[]string{"Larder; hit; ttl=59"}, "hit"},
		{[]string{"Larder; fwd=uri-miss; stored; ttl=60"}, "miss"},
		{[]string{"Larder; fwd=vary-miss"}, "vary-miss"},
		{[]string{"Larder; fwd=stale; fwd-status=304; stored; ttl=60"}, "revalidated"},
		{[]string{"Larder; fwd=stale; fwd-status=200"}, "stale"},
		{[]string{"Larder; fwd=request"}, "request"},
		{[]string{"Larder; fwd=method"}, "method"},
		{[]string{"Larder; fwd=bypass"}, "bypass"},
		{[]string{"Larder; fwd=miss; detail=only-if-cached"}, "only-if-cached"},
		{[]string{"OriginCache; hit", "Larder; fwd=uri-miss"}, "miss"},
		{[]string{"OriginCache; hit, Larder; fwd=uri-miss"}, "miss"},
		{[]string{"OriginCache; hit"}, ""},
	}
	for _, tt := range tests {
		if got := outcomeOf(tt.fields, "Larder"); got != tt.want {
			t.Errorf("outcomeOf(%q) = %q, want %q", tt.fields, got, tt.want)
		}
	}
}
