// Package exampletest holds what the examples' tests share: a fake clock, so
// that no test sleeps to expire an entry, and a helper that makes a real HTTP
// request to an httptest.Server.
package exampletest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder/internal/fakeclock"
)

// Clock is a fake clock: tests advance it instead of sleeping.
type Clock = fakeclock.Clock

// NewClock returns a clock stopped at a fixed instant.
func NewClock() *Clock {
	return fakeclock.New(time.Date(2026, time.March, 14, 9, 26, 53, 0, time.UTC))
}

// Response is what a test looks at in an HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Get sends a GET for path to srv; header holds request fields as name, value
// pairs.
func Get(t testing.TB, srv *httptest.Server, path string, header ...string) Response {
	t.Helper()
	return Do(t, srv, http.MethodGet, path, "", header...)
}

// Do sends a request to srv over HTTP and reads the whole response. header
// holds request fields as name, value pairs.
func Do(t testing.TB, srv *httptest.Server, method, path, body string, header ...string) Response {
	t.Helper()
	if len(header)%2 != 0 {
		t.Fatalf("odd header list %q", header)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// Serve starts an httptest.Server for h, closed when the test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
