package main

import (
	"strings"
	"testing"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/examples/internal/exampletest"
	"github.com/larder-cache/larder/store/memory"
)

func newTestApp(t *testing.T) *app {
	t.Helper()
	clock := exampletest.NewClock()
	store, err := memory.New(memory.Options{MaxBytes: 1 << 20, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return newApp(store, larder.WithClock(clock.Now))
}

// varyOf returns the response's Vary members, lowercased, in order.
func varyOf(res exampletest.Response) []string {
	var out []string
	for _, v := range res.Header.Values("Vary") {
		for m := range strings.SplitSeq(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(m)))
		}
	}
	return out
}

// The per-route cache_vary: one stored variant per (Accept-Language,
// X-Custom-Header) pair, each served only to requests that match it.
func TestRouteVaryKeepsVariantsApart(t *testing.T) {
	a := newTestApp(t)
	srv := exampletest.Serve(t, a)

	requests := []struct {
		lang, custom string
		want         string
		calls        int64 // handler calls after the request
	}{
		{"en", "a", "Bob Bobber (en, a)", 1},
		{"en", "b", "Bob Bobber (en, b)", 2},
		{"pl", "a", "Bob Bobber (pl, a)", 3},
		{"en", "a", "Bob Bobber (en, a)", 3}, // hit
		{"pl", "a", "Bob Bobber (pl, a)", 3}, // hit
		{"en", "b", "Bob Bobber (en, b)", 3}, // hit
		{"pl", "b", "Bob Bobber (pl, b)", 4},
	}
	for _, rq := range requests {
		res := exampletest.Get(t, srv, "/users/1", "Accept-Language", rq.lang, "X-Custom-Header", rq.custom)
		if res.Body != rq.want {
			t.Fatalf("%s/%s: got %q, want %q", rq.lang, rq.custom, res.Body, rq.want)
		}
		if got := strings.Join(varyOf(res), ", "); got != "accept-language, x-custom-header" {
			t.Errorf("%s/%s: Vary = %q", rq.lang, rq.custom, got)
		}
		wantCalls(t, a, rq.calls)
	}

	// A variant that is not stored yet is a vary-miss, not a miss.
	res := exampletest.Get(t, srv, "/users/1", "Accept-Language", "de", "X-Custom-Header", "a")
	if got := res.Header.Get("Cache-Status"); !strings.Contains(got, "fwd=vary-miss") {
		t.Errorf("new variant: Cache-Status %q, want fwd=vary-miss", got)
	}
}

// The cache-wide cache_vary: a route without its own Vary varies on
// Accept-Language alone, so X-Custom-Header makes no new variant there.
func TestCacheWideVary(t *testing.T) {
	a := newTestApp(t)
	srv := exampletest.Serve(t, a)

	for _, rq := range []struct {
		lang, custom, want string
		calls              int64
	}{
		{"en", "a", "Hello, Bob", 1},
		{"pl", "a", "Cześć, Bob", 2},
		{"en", "b", "Hello, Bob", 2}, // same Accept-Language: hit
		{"pl", "b", "Cześć, Bob", 2},
	} {
		res := exampletest.Get(t, srv, "/hello", "Accept-Language", rq.lang, "X-Custom-Header", rq.custom)
		if res.Body != rq.want {
			t.Fatalf("%s: got %q, want %q", rq.lang, res.Body, rq.want)
		}
		if got := varyOf(res); len(got) != 1 || got[0] != "accept-language" {
			t.Errorf("%s: Vary = %q, want accept-language", rq.lang, got)
		}
		wantCalls(t, a, rq.calls)
	}
}

func wantCalls(t *testing.T, a *app, want int64) {
	t.Helper()
	if got := a.calls.Load(); got != want {
		t.Fatalf("handler called %d times, want %d", got, want)
	}
}
