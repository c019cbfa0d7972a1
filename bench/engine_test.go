package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// The cache's engine for stores over a network and for concurrent misses
// (request coalescing, write-behind, one round trip per hit, tombstones),
// measured in process: every request is a handler.ServeHTTP call with an
// httptest.ResponseRecorder on a goroutine of its own, no sockets. Two
// tables, printed in Markdown (run with -v):
//
//	cd bench && BENCH_ENGINE=1 go test -count=1 -run '^TestEngineStampede$' -v -timeout 30m .
//	cd bench && BENCH_ENGINE=1 go test -count=1 -run '^TestEngineStore$' -v -timeout 30m .
//
// Without BENCH_ENGINE=1 both are skipped, so that the CI check stays fast;
// TestEngineRoundTrips (always run, no latency, well under a second) checks
// the round-trip counts the second table reports. BENCH_ENGINE_ROUNDS
// (stampede rounds, default 5) and BENCH_ENGINE_ITERS (iterations per row of
// the store table, default 50) change the sizes.

const engineEnv = "BENCH_ENGINE"

func requireEngineEnv(t *testing.T) {
	t.Helper()
	if os.Getenv(engineEnv) != "1" {
		t.Skip("set " + engineEnv + "=1 to run the engine tables")
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// pct returns the p-th percentile (nearest rank) of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func meanDur(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(max(len(ds), 1))
}

func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1e3, 'f', 2, 64) }

// span formats the smallest and largest of ns: "3", or "2–3".
func span(ns []int64) string {
	if len(ns) == 0 {
		return "-"
	}
	lo, hi := slices.Min(ns), slices.Max(ns)
	if lo == hi {
		return strconv.FormatInt(lo, 10)
	}
	return strconv.FormatInt(lo, 10) + "–" + strconv.FormatInt(hi, 10)
}

// ---- Table 1: stampede ----

// stampedeOriginDelay is the origin's latency: a fixed wait in the handler
// before it answers, not an expiry.
const stampedeOriginDelay = 100 * time.Millisecond

var stampedeBody = bytes.Repeat([]byte("s"), 1<<10)

// slowOrigin answers every request after stampedeOriginDelay with a
// cacheable 1 KiB body, and counts its calls.
type slowOrigin struct{ calls atomic.Int64 }

func (o *slowOrigin) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	o.calls.Add(1)
	time.Sleep(stampedeOriginDelay) // the origin's latency
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(stampedeBody)))
	_, _ = w.Write(stampedeBody)
}

type stampedeMode struct {
	name string
	opts []larder.Option
	bare bool
}

var stampedeModes = []stampedeMode{
	{name: "Bare (no cache)", bare: true},
	{name: "Larder, coalescing on (default)"},
	{name: "Larder, coalescing off", opts: []larder.Option{larder.WithCoalescing(-1, 0)}},
}

type stampedeResult struct {
	origin    int64
	collapsed int64 // responses whose Cache-Status says "collapsed"
	hits      int64 // responses whose Cache-Status says "hit"
	p50, p99  time.Duration
	wall      time.Duration
}

// runStampede sends n concurrent cold GETs for one URL through a fresh
// cache (memory store) in front of a 100 ms origin, or to the origin alone.
// The n goroutines are started first and released together; each times its
// own ServeHTTP call, and the wall time runs from the release to the last
// return.
func runStampede(t *testing.T, m stampedeMode, n int) stampedeResult {
	o := &slowOrigin{}
	var h http.Handler = o
	if !m.bare {
		st, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c := larder.New(st, m.opts...)
		defer c.Close()
		h = c.Middleware(o)
	}
	lat := make([]time.Duration, n)
	ws := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var ready, wg sync.WaitGroup
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			r := httptest.NewRequest("GET", "http://example.com/stampede", nil)
			w := httptest.NewRecorder()
			ready.Done()
			<-start
			t0 := time.Now()
			h.ServeHTTP(w, r)
			lat[i] = time.Since(t0)
			ws[i] = w
		})
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	wg.Wait()
	res := stampedeResult{wall: time.Since(t0), origin: o.calls.Load()}
	for i, w := range ws {
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), stampedeBody) {
			t.Fatalf("%s, N=%d: response %d: %d, %d bytes", m.name, n, i, w.Code, w.Body.Len())
		}
		cs := w.Header().Get("Cache-Status")
		if strings.Contains(cs, "; collapsed") {
			res.collapsed++
		} else if strings.Contains(cs, "; hit") {
			res.hits++
		}
	}
	slices.Sort(lat)
	res.p50, res.p99 = pct(lat, 0.50), pct(lat, 0.99)
	return res
}

// TestEngineStampede prints table 1: N concurrent cold requests for one URL
// (N = 10, 100, 1000) in front of a 100 ms origin, through Larder with
// coalescing on and off, and to the origin alone. Each round runs every
// (N, mode) pair once, the modes in turn; the table gives medians over the
// rounds, and the smallest and largest origin request counts.
func TestEngineStampede(t *testing.T) {
	requireEngineEnv(t)
	rounds := envInt(t, "BENCH_ENGINE_ROUNDS", 5)
	ns := []int{10, 100, 1000}
	res := map[string]map[int][]stampedeResult{}
	for _, m := range stampedeModes {
		res[m.name] = map[int][]stampedeResult{}
	}
	began := time.Now()
	for r := range rounds {
		for _, n := range ns {
			for k := range stampedeModes {
				m := stampedeModes[(k+r)%len(stampedeModes)] // a different mode first each round
				res[m.name][n] = append(res[m.name][n], runStampede(t, m, n))
			}
		}
	}
	med := func(rs []stampedeResult, f func(stampedeResult) time.Duration) time.Duration {
		ds := make([]time.Duration, len(rs))
		for i, r := range rs {
			ds[i] = f(r)
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Stampede: %d rounds, %s, origin %v, in process (ServeHTTP + httptest.ResponseRecorder)\n\n",
		rounds, began.UTC().Format("2006-01-02 15:04 MST"), stampedeOriginDelay)
	b.WriteString("| mode | N | origin requests | collapsed | hits | p50 ms | p99 ms | wall ms |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range stampedeModes {
		for _, n := range ns {
			rs := res[m.name][n]
			var org, col, hit []int64
			for _, r := range rs {
				org, col, hit = append(org, r.origin), append(col, r.collapsed), append(hit, r.hits)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", m.name, n, span(org), span(col), span(hit),
				ms(med(rs, func(r stampedeResult) time.Duration { return r.p50 })),
				ms(med(rs, func(r stampedeResult) time.Duration { return r.p99 })),
				ms(med(rs, func(r stampedeResult) time.Duration { return r.wall })))
		}
	}
	fmt.Fprintf(&b, "\nload average after: %s\n", loadAvg())
	fmt.Print(b.String())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ---- Table 2: a store over a network ----

var engineBody = bytes.Repeat([]byte("e"), 1<<10)

// instantOrigin answers at once: GETs with a cacheable 1 KiB body (varying
// on Accept-Language under /vary/), POSTs with 201 and a Location and a
// Content-Location on the same origin, so that a POST invalidates three
// URLs (RFC 9111 §4.4): the target, the Location and the Content-Location.
type instantOrigin struct{ calls atomic.Int64 }

func (o *instantOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	h := w.Header()
	if r.Method == http.MethodPost {
		h.Set("Location", r.URL.Path+"/created")
		h.Set("Content-Location", r.URL.Path+"/self")
		w.WriteHeader(http.StatusCreated)
		return
	}
	h.Set("Cache-Control", "max-age=3600")
	if strings.HasPrefix(r.URL.Path, "/vary/") {
		h.Set("Vary", "Accept-Language")
	}
	h.Set("Content-Length", strconv.Itoa(len(engineBody)))
	_, _ = w.Write(engineBody)
}

// storeBench is a cache over a latStore, with the last request's event.
type storeBench struct {
	st   *latStore
	c    *larder.Cache
	h    http.Handler
	orig *instantOrigin

	mu   sync.Mutex
	last larder.Event
}

func newStoreBench(rtt time.Duration, multi bool) *storeBench {
	sb := &storeBench{st: newLatStore(rtt), orig: &instantOrigin{}}
	var s larder.Store = sb.st
	if multi {
		s = latMultiStore{sb.st}
	}
	sb.c = larder.New(s, larder.WithObserver(func(ev larder.Event) {
		sb.mu.Lock()
		sb.last = ev
		sb.mu.Unlock()
	}))
	sb.h = sb.c.Middleware(sb.orig)
	return sb
}

// sample is one measured request.
type sample struct {
	lat    time.Duration // until ServeHTTP returned
	waited int64         // store calls returned by then: those the client waited for
	total  int64         // store calls made for the request, written behind included
	ev     larder.Event
}

// do serves one request and waits for its store writes (Cache.Close; not
// timed).
func (sb *storeBench) do(t testing.TB, method, path, lang string) sample {
	t.Helper()
	r := httptest.NewRequest(method, "http://example.com"+path, nil)
	if lang != "" {
		r.Header.Set("Accept-Language", lang)
	}
	w := httptest.NewRecorder()
	calls0, done0 := sb.st.calls(), sb.st.done.Load()
	t0 := time.Now()
	sb.h.ServeHTTP(w, r)
	lat := time.Since(t0)
	waited := sb.st.done.Load() - done0
	sb.c.Close()
	s := sample{lat: lat, waited: waited, total: sb.st.calls() - calls0}
	sb.mu.Lock()
	s.ev = sb.last
	sb.mu.Unlock()
	want := 200
	if method == http.MethodPost {
		want = 201
	}
	if w.Code != want || (method == http.MethodGet && !bytes.Equal(w.Body.Bytes(), engineBody)) {
		t.Fatalf("%s %s: %d, %d bytes", method, path, w.Code, w.Body.Len())
	}
	if s.ev.StoreErr != nil {
		t.Fatalf("%s %s: store error %v", method, path, s.ev.StoreErr)
	}
	return s
}

// storeOp is one row of table 2: run measures iteration i on sb.
type storeOp struct {
	name    string
	outcome larder.Outcome
	run     func(t testing.TB, sb *storeBench, i int) sample
}

var storeOps = []storeOp{
	{"hit", larder.OutcomeHit, func(t testing.TB, sb *storeBench, i int) sample {
		if i == 0 {
			sb.do(t, "GET", "/hit", "") // the fill
		}
		return sb.do(t, "GET", "/hit", "")
	}},
	{"Vary hit, 2nd request (hint not yet learnt)", larder.OutcomeHit, func(t testing.TB, sb *storeBench, i int) sample {
		p := "/vary/second/" + strconv.Itoa(i)
		sb.do(t, "GET", p, "en") // the fill: a Vary index and a variant
		return sb.do(t, "GET", p, "en")
	}},
	{"Vary hit, 3rd request (hint learnt)", larder.OutcomeHit, func(t testing.TB, sb *storeBench, i int) sample {
		p := "/vary/third/" + strconv.Itoa(i)
		sb.do(t, "GET", p, "en")
		sb.do(t, "GET", p, "en") // reads the index, then the variant; learns the hint
		return sb.do(t, "GET", p, "en")
	}},
	{"miss (stored behind the response)", larder.OutcomeMiss, func(t testing.TB, sb *storeBench, i int) sample {
		return sb.do(t, "GET", "/miss/"+strconv.Itoa(i), "")
	}},
	{"invalidation (POST: target + Location + Content-Location)", larder.OutcomeMethod, func(t testing.TB, sb *storeBench, i int) sample {
		p := "/inv/" + strconv.Itoa(i)
		for _, u := range []string{p, p + "/created", p + "/self"} {
			sb.do(t, "GET", u, "") // stored, so that there is something to invalidate
		}
		return sb.do(t, "POST", p, "")
	}},
}

type storeKind struct {
	name  string
	multi bool
}

var storeKinds = []storeKind{
	{"MultiGetter + SetIf", true},
	{"SetIf only (no MultiGetter)", false},
}

// runStoreOp measures iters iterations of op on a fresh cache and store.
func runStoreOp(t testing.TB, k storeKind, rtt time.Duration, op storeOp, iters int) []sample {
	sb := newStoreBench(rtt, k.multi)
	defer sb.c.Close()
	out := make([]sample, iters)
	for i := range iters {
		s := op.run(t, sb, i)
		if op.outcome != "" && s.ev.Outcome != op.outcome {
			t.Fatalf("%s, %s, %v: iteration %d: outcome %q, want %q", k.name, op.name, rtt, i, s.ev.Outcome, op.outcome)
		}
		out[i] = s
	}
	return out
}

// TestEngineStore prints table 2: the client-visible latency of a hit, a
// Vary hit, a miss and an invalidation over a store with 1 ms and 20 ms per
// round trip, with and without MultiGetter, and the store round trips each
// request waited for and made in all.
func TestEngineStore(t *testing.T) {
	requireEngineEnv(t)
	iters := envInt(t, "BENCH_ENGINE_ITERS", 50)
	began := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Store over a network: %d iterations per row, %s, in process (ServeHTTP + httptest.ResponseRecorder)\n\n",
		iters, began.UTC().Format("2006-01-02 15:04 MST"))
	b.WriteString("| RTT | store | request | mean ms | p50 ms | p99 ms | p50 / RTT | round trips waited for | round trips in all |\n")
	b.WriteString("|---:|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, rtt := range []time.Duration{time.Millisecond, 20 * time.Millisecond} {
		// The floor: one call of the store alone, without the cache (the
		// timer's own overshoot on this machine).
		st := newLatStore(rtt)
		lat := make([]time.Duration, iters)
		for i := range lat {
			t0 := time.Now()
			_, _ = st.Get(context.Background(), "k")
			lat[i] = time.Since(t0)
		}
		slices.Sort(lat)
		fmt.Fprintf(&b, "| %v | store alone, no cache | one Get (reference) | %s | %s | %s | %.2f | 1 | 1 |\n", rtt,
			ms(meanDur(lat)), ms(pct(lat, 0.5)), ms(pct(lat, 0.99)), float64(pct(lat, 0.5))/float64(rtt))
		for _, k := range storeKinds {
			for _, op := range storeOps {
				ss := runStoreOp(t, k, rtt, op, iters)
				lat := make([]time.Duration, len(ss))
				var waited, total []int64
				for i, s := range ss {
					lat[i] = s.lat
					waited, total = append(waited, s.waited), append(total, s.total)
				}
				slices.Sort(lat)
				p50 := pct(lat, 0.5)
				fmt.Fprintf(&b, "| %v | %s | %s | %s | %s | %s | %.2f | %s | %s |\n", rtt, k.name, op.name,
					ms(meanDur(lat)), ms(p50), ms(pct(lat, 0.99)), float64(p50)/float64(rtt), span(waited), span(total))
			}
		}
	}
	fmt.Fprintf(&b, "\nload average after: %s\n", loadAvg())
	fmt.Print(b.String())
}

// TestEngineRoundTrips checks, without latency, the store round trips per
// request that TestEngineStore reports, so that the CI check notices when
// the engine's behaviour changes under the table: a hit costs 1, a Vary hit
// with a learnt hint 1 with MultiGetter and 2 without, a miss 2 (the read,
// and the SetIf written behind), and an invalidation of 3 URLs 3 tombstones.
func TestEngineRoundTrips(t *testing.T) {
	want := map[string][2]int64{ // op name → total round trips with, without MultiGetter
		"hit": {1, 1},
		"Vary hit, 2nd request (hint not yet learnt)":               {2, 2},
		"Vary hit, 3rd request (hint learnt)":                       {1, 2},
		"miss (stored behind the response)":                         {2, 2},
		"invalidation (POST: target + Location + Content-Location)": {3, 3},
	}
	for ki, k := range storeKinds {
		for _, op := range storeOps {
			for i, s := range runStoreOp(t, k, 0, op, 3) {
				if w := want[op.name][ki]; s.total != w {
					t.Errorf("%s, %s, iteration %d: %d store round trips, want %d", k.name, op.name, i, s.total, w)
				}
			}
		}
	}
}
