package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-cache/larder"
)

func TestAdminPurge(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, nil)

	tests := []struct {
		name, path string
	}{
		{"path", "/a"},
		{"path and query", "/q?x=1&y=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.get(tt.path)
			before := o.Calls()
			d.get(tt.path)
			if o.Calls() != before {
				t.Fatal("not stored before the purge")
			}
			r := d.doAdmin("PURGE", tt.path, hdr("Host", "site.test"))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("PURGE: %d %q", r.StatusCode, r.body)
			}
			if want := "http://site.test" + tt.path; !strings.Contains(r.body, want) {
				t.Errorf("PURGE body %q does not name %s", r.body, want)
			}
			d.get(tt.path)
			if o.Calls() != before+1 {
				t.Errorf("origin calls = %d after the purge, want %d (the GET went to the origin)", o.Calls(), before+1)
			}
		})
	}

	t.Run("nothing stored", func(t *testing.T) {
		if r := d.doAdmin("PURGE", "/never", hdr("Host", "site.test")); r.StatusCode != http.StatusOK {
			t.Errorf("PURGE of nothing: %d %q, want 200", r.StatusCode, r.body)
		}
	})
	t.Run("other host untouched", func(t *testing.T) {
		d.get("/keep")
		n := o.Calls()
		d.doAdmin("PURGE", "/keep", hdr("Host", "other.test"))
		d.get("/keep")
		if o.Calls() != n {
			t.Error("a purge for other.test removed site.test's response")
		}
	})
	t.Run("healthz", func(t *testing.T) {
		if r := d.doAdmin(http.MethodGet, "/healthz", nil); r.StatusCode != 200 || r.body != "ok\n" {
			t.Errorf("healthz: %d %q", r.StatusCode, r.body)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		if r := d.doAdmin(http.MethodGet, "/nope", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET /nope: %d", r.StatusCode)
		}
	})
	t.Run("PURGE on the main listener goes upstream", func(t *testing.T) {
		d.get("/p")
		n := o.Calls()
		d.do("PURGE", "/p", nil, "")
		if o.Calls() != n+1 || o.Last().Method != "PURGE" {
			t.Errorf("PURGE on the proxy did not reach the origin")
		}
	})
}

func TestAdminToken(t *testing.T) {
	o := newOrigin(t, cacheable)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		auth  string
		state int
	}{
		{"loopback without token", nil, nil, "", 200},
		{"token, no credentials", []string{"--admin-token", "s3cret"}, nil, "", 401},
		{"token, wrong", []string{"--admin-token", "s3cret"}, nil, "Bearer nope", 401},
		{"token, prefix", []string{"--admin-token", "s3cret"}, nil, "Bearer s3cre", 401},
		{"token, basic scheme", []string{"--admin-token", "s3cret"}, nil, "Basic s3cret", 401},
		{"token, right", []string{"--admin-token", "s3cret"}, nil, "Bearer s3cret", 200},
		{"token, scheme case", []string{"--admin-token", "s3cret"}, nil, "bearer s3cret", 200},
		{"token from env", nil, map[string]string{"LARDER_ADMIN_TOKEN": "envtok"}, "Bearer envtok", 200},
		{"token from env, none sent", nil, map[string]string{"LARDER_ADMIN_TOKEN": "envtok"}, "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, tt.args...)
			d := startDaemon(t, args, tt.env)
			var h http.Header
			if tt.auth != "" {
				h = hdr("Authorization", tt.auth)
			}
			for _, req := range []struct{ method, path string }{{"GET", "/healthz"}, {"GET", "/metrics"}, {"PURGE", "/a"}} {
				r := d.doAdmin(req.method, req.path, h)
				if r.StatusCode != tt.state {
					t.Errorf("%s %s: %d, want %d", req.method, req.path, r.StatusCode, tt.state)
				}
				if r.StatusCode == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, nil)
	scrape := d.scrape

	m0 := scrape()
	for _, name := range []string{
		`larder_requests_total{cache="hit"}`, `larder_requests_total{cache="miss"}`,
		`larder_store_errors_total`, `larder_responses_stored_total`,
		`larder_stored_bytes`, `larder_stored_entries`,
		`larder_upstream_request_duration_seconds_count`,
	} {
		if v, ok := m0[name]; !ok || v != 0 {
			t.Errorf("before any request: %s = %v (present %v), want 0", name, v, ok)
		}
	}

	d.get("/a") // miss, stored
	d.get("/a") // hit
	d.get("/a") // hit
	d.do(http.MethodPost, "/a", nil, "x")

	m1 := scrape()
	want := map[string]float64{
		`larder_requests_total{cache="hit"}`:             2,
		`larder_requests_total{cache="miss"}`:            1,
		`larder_requests_total{cache="method"}`:          1,
		`larder_responses_stored_total`:                  1,
		`larder_store_errors_total`:                      0,
		`larder_upstream_request_duration_seconds_count`: 2,
	}
	for name, v := range want {
		if m1[name] != v {
			t.Errorf("%s = %v, want %v", name, m1[name], v)
		}
	}
	// The POST invalidated /a; what is left is at most the entries of /a.
	if m1["larder_stored_entries"] < 0 || m1["larder_stored_bytes"] < 0 {
		t.Errorf("negative store gauges: %v", m1)
	}

	d.get("/b")
	m2 := scrape()
	if m2["larder_stored_entries"] < 1 || m2["larder_stored_bytes"] <= 0 {
		t.Errorf("after storing /b: entries %v, bytes %v", m2["larder_stored_entries"], m2["larder_stored_bytes"])
	}
	if m2[`larder_requests_total{cache="miss"}`] != 2 {
		t.Errorf("miss counter %v, want 2", m2[`larder_requests_total{cache="miss"}`])
	}
}

// scrape reads the daemon's metrics (it needs --admin).
func (d *daemon) scrape() map[string]float64 {
	d.t.Helper()
	r := d.doAdmin(http.MethodGet, "/metrics", nil)
	if r.StatusCode != 200 {
		d.t.Fatalf("GET /metrics: %d", r.StatusCode)
	}
	return parseMetrics(d.t, r.body)
}

// parseMetrics reads the Prometheus text format: "name{labels} value" lines.
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// TestAdminPurgeBadTarget sends PURGE with targets that name no URL, over a
// raw connection (Go's client sends neither "*" nor these for PURGE): 400,
// and no store error counted.
func TestAdminPurgeBadTarget(t *testing.T) {
	o := newOrigin(t, cacheable)
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, nil)
	tests := []struct {
		name, target, host string
		status             int
	}{
		{"asterisk", "*", "site.test", http.StatusBadRequest},
		{"absolute form", "http://site.test/a", "site.test", http.StatusBadRequest},
		{"absolute form, bad host", "http://bad%zz/a", "site.test", http.StatusBadRequest},
		{"absolute form, bad port", "http://site.test:x/a", "site.test:x", http.StatusBadRequest},
		{"authority form", "site.test:80", "site.test", http.StatusBadRequest},
		{"no slash", "a/b", "site.test", http.StatusBadRequest},
		{"bad port in Host", "/a", "site.test:port", http.StatusBadRequest},
		{"good", "/a", "site.test", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", d.addrs.admin)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "PURGE %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", tt.target, tt.host)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("PURGE %s (Host %s): %d %q, want %d", tt.target, tt.host, resp.StatusCode, body, tt.status)
			}
		})
	}
	if v := d.scrape()["larder_store_errors_total"]; v != 0 {
		t.Errorf("larder_store_errors_total = %v after bad purges, want 0", v)
	}
}

// TestAdminPurgeStatus checks what the admin API answers to each error Purge
// may report.
func TestAdminPurgeStatus(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		status      int
		storeErrors float64
	}{
		{"purged", nil, http.StatusOK, 0},
		{"bad URL", fmt.Errorf("%w: %q", larder.ErrBadURL, "http://x"), http.StatusBadRequest, 0},
		{"store error", errors.New("store down"), http.StatusInternalServerError, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(nil)
			a := newAdmin(purgeFunc(func(context.Context, string) error { return tt.err }), m, "", slog.New(slog.DiscardHandler))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("PURGE", "/a", nil)
			req.Host = "site.test"
			a.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("status %d %q, want %d", rec.Code, rec.Body, tt.status)
			}
			if v := scrapeRegistry(t, m)["larder_store_errors_total"]; v != tt.storeErrors {
				t.Errorf("larder_store_errors_total = %v, want %v", v, tt.storeErrors)
			}
		})
	}
}

type purgeFunc func(context.Context, string) error

func (f purgeFunc) Purge(ctx context.Context, u string) error { return f(ctx, u) }

func (f purgeFunc) PurgeBatch(ctx context.Context, b larder.PurgeBatch) error {
	for _, u := range b.URLs {
		if err := f(ctx, u); err != nil {
			return err
		}
	}
	return nil
}
