package soak_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder/internal/soak"
)

// replayCache is a deliberately wrong cache: it keeps the latest 200 of each
// path for a while and replays it to every GET and HEAD, whoever asks and
// whatever they send, and corrupts one replay in twenty. The soak must catch
// each of its faults.
type replayCache struct {
	next http.Handler

	mu      sync.Mutex
	stored  map[string]*replayed
	replays int
}

type replayed struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (c *replayCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.purge(r.URL.Path)
		c.next.ServeHTTP(w, r)
		return
	}
	c.mu.Lock()
	e := c.stored[r.URL.Path]
	if e != nil && time.Since(e.at) > 500*time.Millisecond {
		e = nil
	}
	corrupt := false
	if e != nil {
		c.replays++
		corrupt = c.replays%20 == 0
	}
	c.mu.Unlock()
	if e == nil {
		out := r.Clone(r.Context())
		out.Header.Del("If-None-Match")
		out.Header.Del("Range")
		out.Method = http.MethodGet
		rec := httptest.NewRecorder()
		c.next.ServeHTTP(rec, out)
		e = &replayed{header: rec.Header().Clone(), body: rec.Body.Bytes(), at: time.Now()}
		if rec.Code == http.StatusOK {
			c.mu.Lock()
			c.stored[r.URL.Path] = e
			c.mu.Unlock()
		}
	}
	body := e.body
	if corrupt {
		body = bytes.Clone(body)
		body[len(body)/2] ^= 1
	}
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Status", "Replay; hit")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (c *replayCache) purge(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.stored, path)
}

// TestChecker runs the soak's clients and checker for a moment against
// replayCache and requires the mismatches it must cause, so that a soak
// reporting none means a correct cache, not a blind checker.
func TestChecker(t *testing.T) {
	origin := soak.NewOrigin(60)
	rc := &replayCache{next: origin, stored: make(map[string]*replayed)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	purge := func(_ context.Context, raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		rc.purge(u.Path)
		return nil
	}
	want := []string{
		"private-page" + soak.LeakSuffix,
		"cookie-page" + soak.LeakSuffix,
		"set-cookie" + soak.LeakSuffix,
		"x-user" + soak.LeakSuffix,
		"body-variant",
		"body-integrity",
	}
	// Short rounds until every fault was caught, so that a slow machine
	// takes longer rather than failing.
	seen := make(map[string]int64)
	var missing []string
	for round := range 10 {
		rep := soak.Run("replay", soak.Config{Clients: 12, Duration: 500 * time.Millisecond, Seed: uint64(round)},
			soak.Target{BaseURL: srv.URL, Origin: origin, Purge: purge})
		t.Log(rep.Summary())
		if rep.Errors.Load() > 0 {
			_, _, errs := rep.Samples()
			t.Fatalf("%d failed requests: %q", rep.Errors.Load(), errs)
		}
		for k, v := range rep.Mismatches() {
			seen[k] += v
		}
		missing = missing[:0]
		for _, kind := range want {
			if seen[kind] == 0 {
				missing = append(missing, kind)
			}
		}
		if len(missing) == 0 {
			return
		}
	}
	t.Errorf("the checker saw no %q mismatch; it saw %s", missing, soak.MismatchString(seen))
}
