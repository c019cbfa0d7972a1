package main

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/proxy"
)

// TestOutcomesComplete reads the root package's source for the constants of
// type Outcome, so that a new one cannot be missing from the pre-created
// labels.
func TestOutcomesComplete(t *testing.T) {
	files, err := filepath.Glob("../../*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Outcome" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: an Outcome constant that is not a literal", fset.Position(v.Pos()))
					}
					s, _ := strconv.Unquote(lit.Value)
					declared = append(declared, s)
				}
			}
		}
	}
	if len(declared) < 10 {
		t.Fatalf("found only %d Outcome constants (%v): is the source where the test looks?", len(declared), declared)
	}
	var listed []string
	for _, o := range outcomes {
		listed = append(listed, string(o))
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Errorf("outcomes lists %v; the larder package declares %v", listed, declared)
	}

	m := scrapeRegistry(t, newMetrics(nil))
	for _, o := range declared {
		name := `larder_requests_total{cache="` + o + `"}`
		if v, ok := m[name]; !ok || v != 0 {
			t.Errorf("before any request: %s = %v (present %v), want 0", name, v, ok)
		}
	}
	if v, ok := m["larder_background_revalidations_total"]; !ok || v != 0 {
		t.Errorf("before any request: larder_background_revalidations_total = %v (present %v), want 0", v, ok)
	}
}

func scrapeRegistry(t *testing.T, m *metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return parseMetrics(t, rec.Body.String())
}

func sumRequests(m map[string]float64) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, "larder_requests_total{") {
			n += v
		}
	}
	return n
}

func TestObserveBackground(t *testing.T) {
	m := newMetrics(nil)
	m.observe(larder.Event{Outcome: larder.OutcomeHit})
	m.observe(larder.Event{Outcome: larder.OutcomeRevalidated, Background: true, Stored: true})
	m.observe(larder.Event{Outcome: larder.OutcomeStale, Background: true, StoreErr: io.ErrUnexpectedEOF})
	got := scrapeRegistry(t, m)
	want := map[string]float64{
		`larder_requests_total{cache="hit"}`:         1,
		`larder_requests_total{cache="revalidated"}`: 0,
		`larder_requests_total{cache="stale"}`:       0,
		`larder_background_revalidations_total`:      2,
		`larder_responses_stored_total`:              1,
		`larder_store_errors_total`:                  1,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if n := sumRequests(got); n != 1 {
		t.Errorf("larder_requests_total sums to %v, want 1: background revalidations counted as requests", n)
	}
}

// swrOrigin answers with a response that may be served stale for a minute
// while it is revalidated, and 304 to its validator.
func swrOrigin(t *testing.T) *origin {
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60")
		w.Header().Set("ETag", `"s"`)
		if r.Header.Get("If-None-Match") == `"s"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "swr")
	})
}

func TestBackgroundRevalidationMetrics(t *testing.T) {
	o := swrOrigin(t)
	clock := newFakeClock()
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0"}, nil, withClock(clock.Now))
	d.get("/a") // miss
	clock.Advance(10 * time.Second)
	if r := d.get("/a"); !strings.Contains(r.Header.Get("Cache-Status"), "stale-while-revalidate") {
		t.Fatalf("Cache-Status %q, want a hit served while revalidating", r.Header.Get("Cache-Status"))
	}

	var m map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		m = d.scrape()
		if m["larder_background_revalidations_total"] >= 1 || time.Now().After(deadline) {
			break
		}
	}
	want := map[string]float64{
		`larder_background_revalidations_total`:          1,
		`larder_requests_total{cache="miss"}`:            1,
		`larder_requests_total{cache="hit"}`:             1,
		`larder_requests_total{cache="revalidated"}`:     0,
		`larder_requests_total{cache="stale"}`:           0,
		`larder_responses_stored_total`:                  2, // the miss, and the 304's update
		`larder_upstream_request_duration_seconds_count`: 2, // the background request is an upstream request
	}
	for name, v := range want {
		if m[name] != v {
			t.Errorf("%s = %v, want %v", name, m[name], v)
		}
	}
	if n := sumRequests(m); n != 2 {
		t.Errorf("larder_requests_total sums to %v, want 2 (the client's requests)", n)
	}
	if o.Calls() != 2 || o.Last().Header.Get("If-None-Match") != `"s"` {
		t.Errorf("origin calls %d, last If-None-Match %q: want the background revalidation", o.Calls(), o.Last().Header.Get("If-None-Match"))
	}
}

func TestUpstreamDone(t *testing.T) {
	m := newMetrics(nil)
	m.upstreamDone(10*time.Millisecond, nil)
	m.upstreamDone(time.Second, fmt.Errorf("%w: %w", proxy.ErrTimeout, context.DeadlineExceeded))
	m.upstreamDone(time.Millisecond, fmt.Errorf("%w: %w", proxy.ErrClientGone, context.Canceled))
	m.upstreamDone(time.Millisecond, io.ErrUnexpectedEOF)
	m.upstreamDone(time.Millisecond, fmt.Errorf("%w: %w", proxy.ErrBodyTimeout, context.Canceled))
	got := scrapeRegistry(t, m)
	want := map[string]float64{
		`larder_upstream_request_duration_seconds_count`:      5,
		`larder_upstream_errors_total{reason="body-timeout"}`: 1,
		`larder_upstream_errors_total{reason="timeout"}`:      1,
		`larder_upstream_errors_total{reason="client-gone"}`:  1,
		`larder_upstream_errors_total{reason="unreachable"}`:  1,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
}

// TestNotStoredReasonsComplete reads the reasons the cache can give in
// Event.NotStored from the source (the reason constants of the root package
// and of internal/storability, and the literals assigned to NotStored), so
// that a new reason cannot fold into "other" unnoticed.
func TestNotStoredReasonsComplete(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../../*.go", "../../internal/storability/*.go"} {
		fs, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	found := map[string]bool{}
	fset := token.NewFileSet()
	literal := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil && s != ""
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec: // const reasonX = "..." or ReasonX = "..."
				for i, id := range n.Names {
					if i < len(n.Values) && strings.HasPrefix(strings.ToLower(id.Name), "reason") {
						if s, ok := literal(n.Values[i]); ok {
							found[s] = true
						}
					}
				}
			case *ast.AssignStmt: // x.ev.NotStored = "..."
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "NotStored" && i < len(n.Rhs) {
						if s, ok := literal(n.Rhs[i]); ok {
							found[s] = true
						}
					}
				}
			}
			return true
		})
	}
	if len(found) < 15 {
		t.Fatalf("found only %d reasons (%v): is the source where the test looks?", len(found), found)
	}
	for r := range found {
		if !slices.Contains(notStoredReasons, r) {
			t.Errorf("the cache gives NotStored reason %q, missing from notStoredReasons", r)
		}
	}
	for _, r := range notStoredReasons {
		if !found[r] {
			t.Errorf("notStoredReasons lists %q, which the cache does not give (any more?)", r)
		}
	}

	m := scrapeRegistry(t, newMetrics(nil))
	for _, r := range append(slices.Clone(notStoredReasons), "other") {
		name := `larder_not_stored_total{reason="` + r + `"}`
		if v, ok := m[name]; !ok || v != 0 {
			t.Errorf("before any request: %s = %v (present %v), want 0", name, v, ok)
		}
	}
}

func TestObserveNotStored(t *testing.T) {
	m := newMetrics(nil)
	for _, reason := range []string{"", "no-store", "key-too-large", "key-too-large", "invented", "another"} {
		m.observe(larder.Event{Outcome: larder.OutcomeMiss, NotStored: reason})
	}
	m.observe(larder.Event{Outcome: larder.OutcomeRevalidated, Background: true, NotStored: "stale"})
	got := scrapeRegistry(t, m)
	want := map[string]float64{
		`larder_not_stored_total{reason="no-store"}`:      1,
		`larder_not_stored_total{reason="key-too-large"}`: 2,
		`larder_not_stored_total{reason="stale"}`:         1,
		`larder_not_stored_total{reason="other"}`:         2,
		`larder_not_stored_total{reason="private"}`:       0,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	var series int
	for k := range got {
		if strings.HasPrefix(k, "larder_not_stored_total{") {
			series++
		}
	}
	if series != len(notStoredReasons)+1 {
		t.Errorf("%d larder_not_stored_total series, want %d: unknown reasons must fold into other", series, len(notStoredReasons)+1)
	}
}
