package larder_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// TestMaxErrorLifetime: an error response is kept at most the cap, fresh or
// stale, whatever its own directives say; a success is not capped.
func TestMaxErrorLifetime(t *testing.T) {
	for _, tc := range []struct {
		status   int
		cc       string
		hitAfter time.Duration // still a hit
		goneBy   time.Duration // an origin call again
	}{
		{404, "max-age=3600", 4 * time.Second, 6 * time.Second},
		{500, "max-age=3600, stale-while-revalidate=3600", 4 * time.Second, 6 * time.Second},
		{404, "max-age=2", time.Second, 3 * time.Second},
		{200, "max-age=3600", 3000 * time.Second, 0},
	} {
		t.Run(http.StatusText(tc.status)+" "+tc.cc, func(t *testing.T) {
			f := newFixture(t, respond(tc.status, "x", "Cache-Control", tc.cc), larder.WithMaxErrorLifetime(5*time.Second))
			defer f.cache.Close()
			f.do("GET", "/e")
			f.clock.Advance(tc.hitAfter)
			f.do("GET", "/e")
			expectCalls(t, f.orig, 1)
			if tc.goneBy == 0 {
				return
			}
			f.clock.Advance(tc.goneBy - tc.hitAfter)
			if w := f.do("GET", "/e"); w.Header().Get("Age") != "" {
				t.Fatalf("served from the cache after the cap: %v", w.Header())
			}
			expectCalls(t, f.orig, 2)
		})
	}
}

// TestKnownMethodInvalidation: by default any method but the safe ones
// invalidates (RFC 9111 §4.4); with the option, only registered unsafe
// methods do.
func TestKnownMethodInvalidation(t *testing.T) {
	for _, tc := range []struct {
		method    string
		knownOnly bool
		inval     bool
	}{
		{"POST", false, true}, {"POST", true, true},
		{"MOVE", true, true},
		{"FROB", false, true}, {"FROB", true, false},
		{"get", true, false},
	} {
		t.Run(tc.method, func(t *testing.T) {
			var opts []larder.Option
			if tc.knownOnly {
				opts = append(opts, larder.WithKnownMethodInvalidation())
			}
			f := newFixture(t, respond(200, "x", "Cache-Control", "max-age=60"), opts...)
			defer f.cache.Close()
			f.do("GET", "/a")
			f.do(tc.method, "/a")
			f.do("GET", "/a")
			want := int64(2)
			if tc.inval {
				want = 3
			}
			expectCalls(t, f.orig, want)
		})
	}
}

// TestPurgeBadURL: what Purge cannot purge is ErrBadURL, and no store call.
func TestPurgeBadURL(t *testing.T) {
	f := newFixture(t, respond(200, "x"))
	defer f.cache.Close()
	f.store.fail.Store(true) // any store call would fail differently
	for _, u := range []string{"*", "/relative", "http://h:bad/", "http://a b/", "mailto:x@y", "http://%zz/"} {
		if err := f.cache.Purge(context.Background(), u); !errors.Is(err, larder.ErrBadURL) {
			t.Errorf("Purge(%q) = %v, want ErrBadURL", u, err)
		}
	}
}
