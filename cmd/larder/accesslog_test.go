package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

func TestAccessLog(t *testing.T) {
	o := newOrigin(t, cacheable)
	clock := newFakeClock()
	d := startDaemon(t, []string{"--upstream", o.URL, "--log-format", "json"}, nil, withClock(clock.Now))
	d.get("/a")
	d.get("/a")
	clock.Advance(2 * time.Minute)
	d.get("/a")
	d.do(http.MethodPost, "/a", nil, "x")
	d.stop() // flush: every request has been logged once run returned

	lines := requestLines(t, d.stderr.String())
	want := []struct {
		method, cache string
		status        float64
	}{
		{"GET", "miss", 200},
		{"GET", "hit", 200},
		{"GET", "revalidated", 200},
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

// requestLines returns the access log lines of a JSON log.
func requestLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(log) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

// TestAccessLogOutcome follows the outcome from the cache's observer to the
// log line through the request's context, for each outcome the cache can
// reach here. The cache has another name than the daemon's: the access log
// no longer reads Cache-Status, so it does not need to know it.
func TestAccessLogOutcome(t *testing.T) {
	clock := newFakeClock()
	store, err := memory.New(memory.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var observed []larder.Event
	var mu sync.Mutex
	cache := larder.New(store, larder.WithClock(clock.Now), larder.WithName("Edge"),
		larder.WithObserver(func(ev larder.Event) {
			mu.Lock()
			observed = append(observed, ev)
			mu.Unlock()
			recordOutcome(ev)
		}))
	var failing atomic.Bool
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60, stale-if-error=600")
		w.Header().Set("ETag", `"e"`)
		if r.Header.Get("If-None-Match") == `"e"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "content")
	})
	var logs syncBuffer
	h := &accessLog{next: cache.Middleware(origin), logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		out: newAccessLogger(formatJSON, &logs, 0, 0, nil)}
	send := func(method, target string, kv ...string) {
		r := httptest.NewRequest(method, target, nil)
		for i := 0; i+1 < len(kv); i += 2 {
			r.Header.Set(kv[i], kv[i+1])
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	send("GET", "/a")                                    // miss
	send("GET", "/a")                                    // hit
	send("GET", "/a", "Cache-Control", "no-cache")       // request
	clock.Advance(10 * time.Second)                      // stale, within stale-while-revalidate
	send("GET", "/a")                                    // hit, revalidated in the background
	cache.Close()                                        // the background revalidation is done
	send("GET", "/b", "Cache-Control", "only-if-cached") // only-if-cached
	clock.Advance(2 * time.Minute)                       // past stale-while-revalidate
	send("GET", "/a")                                    // revalidated
	clock.Advance(2 * time.Minute)
	failing.Store(true)
	send("GET", "/a")                          // stale-if-error
	send("POST", "/a")                         // method
	send("GET", "/ws", "Upgrade", "websocket") // bypass

	want := []string{"miss", "hit", "request", "hit", "only-if-cached", "revalidated", "stale-if-error", "method", "bypass"}
	lines := requestLines(t, logs.String())
	if len(lines) != len(want) {
		t.Fatalf("%d access log lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, w := range want {
		if lines[i]["cache"] != w {
			t.Errorf("line %d: cache=%v, want %s", i, lines[i]["cache"], w)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var background int
	for _, ev := range observed {
		if ev.Background {
			background++
		}
	}
	if background != 1 {
		t.Errorf("%d background revalidations observed, want 1: the test did not exercise one", background)
	}
}

// TestRecordOutcome: the slot gets the outcome of its request's foreground
// event only.
func TestRecordOutcome(t *testing.T) {
	slot := new(outcomeSlot)
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), outcomeSlotKey{}, slot))

	recordOutcome(larder.Event{Outcome: larder.OutcomeHit, Request: r})
	if slot.outcome != larder.OutcomeHit {
		t.Fatalf("slot %q after a foreground event, want hit", slot.outcome)
	}
	// A background revalidation started by r carries r's context values.
	bg := r.WithContext(context.WithoutCancel(r.Context()))
	recordOutcome(larder.Event{Outcome: larder.OutcomeRevalidated, Background: true, Request: bg})
	if slot.outcome != larder.OutcomeHit {
		t.Errorf("slot %q after a background event, want hit still", slot.outcome)
	}
	// Events without a request, or of a request without a slot, are ignored.
	recordOutcome(larder.Event{Outcome: larder.OutcomeMiss})
	recordOutcome(larder.Event{Outcome: larder.OutcomeMiss, Request: httptest.NewRequest("GET", "/", nil)})
	if slot.outcome != larder.OutcomeHit {
		t.Errorf("slot %q, want hit still", slot.outcome)
	}
}

// TestAccessLogNoCache: a request the cache never reported has no outcome.
func TestAccessLogNoCache(t *testing.T) {
	var logs syncBuffer
	h := &accessLog{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Status", "Larder; hit") // not read: only the observer says
		io.WriteString(w, "x")
	}), logger: slog.New(slog.NewJSONHandler(&logs, nil)), out: newAccessLogger(formatJSON, &logs, 0, 0, nil)}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	lines := requestLines(t, logs.String())
	if len(lines) != 1 || lines[0]["cache"] != "" {
		t.Errorf("lines %v, want one with cache=\"\"", lines)
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
		logger: slog.New(slog.NewTextHandler(&logs, nil)),
		out:    newAccessLogger(formatText, &logs, 0, 0, nil),
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

// TestSlotContext: the request context the access log makes carries the
// slot and everything of its parent, and contexts derived from it are
// canceled through the parent's tree, without a goroutine each.
func TestSlotContext(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	sc := &slotContext{Context: parent}
	var ctx context.Context = sc
	if ctx.Value(key{}) != "v" || ctx.Value(outcomeSlotKey{}) != &sc.slot {
		t.Fatalf("values: %v %v", ctx.Value(key{}), ctx.Value(outcomeSlotKey{}))
	}
	before := runtime.NumGoroutine()
	var children []context.Context
	for range 100 {
		c, stop := context.WithCancel(ctx)
		defer stop()
		children = append(children, c)
	}
	if n := runtime.NumGoroutine(); n > before+10 {
		t.Errorf("%d goroutines for 100 derived contexts", n-before)
	}
	cancel()
	for _, c := range children {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a derived context was not canceled with its parent")
		}
	}
}
