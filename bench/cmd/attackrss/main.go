// Command attackrss measures the memory of the larder daemon (cmd/larder)
// under two attacks, each one bounded in count and time, on loopback only.
//
// It starts its own origin on 127.0.0.1 (a random port), with two paths:
//
//	/big   an 8 MiB body (-big-size), Cache-Control: public, max-age=3600,
//	       an ETag and a Content-Length; the origin ignores Range
//	/q     a 1-byte body, Cache-Control: public, max-age=3600, whatever
//	       the query string
//
// then runs the larder binary given with -larder as a subprocess on free
// loopback ports:
//
//	larder --listen 127.0.0.1:P --admin 127.0.0.1:A --upstream <origin>
//	       --store memory://?size=32MiB --access-log=false
//	       --max-object-size 16MiB <-larder-args, split on spaces>
//
// (flags given in -larder-args come last, so they override the defaults).
// It reads the subprocess's resident set size from /proc/<pid>/status
// (VmRSS, and VmHWM, the peak; peak is reset through /proc/<pid>/clear_refs
// before each attack when the kernel allows it, so it is the peak during that
// attack) and the store's size from the admin API's /metrics
// (larder_stored_bytes, larder_not_stored_total, larder_responses_stored_total:
// whichever the binary exports).
//
// Attack A, long keys: -n (600) sequential GETs of /q?<i>=<-key-size (500 KiB)
// of 'a'>, each a distinct URL, so each is a distinct cache key of about
// 500 KiB for a 1-byte response. A cache that stores such keys without
// counting them against its byte bound holds n times 500 KiB.
//
// Attack B, range amplification: one GET of /big to store it, then 4 rounds
// of 8 concurrent GETs of /big with Range: bytes=0-,0-,... (16 overlapping
// ranges), each response read to the end and its bytes counted. A cache that
// answers each range as a part of its own sends 16 times the body per
// response, and one that builds that body in memory holds it 8 times at once.
//
// Both run by default (-attack both); a Markdown table closes the report.
// Everything, the subprocess included, stops after -timeout (120s); the
// subprocess is killed on every exit path (and, on Linux, when this program
// dies). Linux only (/proc). Usually run through scripts/attack-rss.sh, which
// builds the current tree's cmd/larder and passes its arguments on:
//
//	scripts/attack-rss.sh
//	scripts/attack-rss.sh -larder-args "--max-key-size 1MiB"
//	scripts/attack-rss.sh -attack a -n 200
//
// or by hand from bench/, against any larder binary:
//
//	go run ./cmd/attackrss -larder /tmp/larder-old
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	larder     string
	larderArgs []string
	attack     string
	n          int
	keySize    int
	bigSize    int
	conc       int
	rounds     int
	timeout    time.Duration
	verbose    bool
}

func main() {
	var cfg config
	var larderArgs string
	flag.StringVar(&cfg.larder, "larder", "", "path of the larder binary to run (required)")
	flag.StringVar(&larderArgs, "larder-args", "", "extra flags for larder, split on spaces, after the defaults (so they override them)")
	flag.StringVar(&cfg.attack, "attack", "both", "which attack to run: a (long keys), b (range amplification) or both")
	flag.IntVar(&cfg.n, "n", 600, "attack A: number of requests")
	flag.IntVar(&cfg.keySize, "key-size", 500<<10, "attack A: bytes of 'a' in each query string")
	flag.IntVar(&cfg.bigSize, "big-size", 8<<20, "attack B: size of /big's body in bytes")
	flag.IntVar(&cfg.conc, "conc", 8, "attack B: concurrent requests per round")
	flag.IntVar(&cfg.rounds, "rounds", 4, "attack B: rounds")
	flag.DurationVar(&cfg.timeout, "timeout", 120*time.Second, "global time limit")
	flag.BoolVar(&cfg.verbose, "v", false, "pass larder's own log through to stderr")
	flag.Parse()
	cfg.larderArgs = strings.Fields(larderArgs)
	if flag.NArg() > 0 {
		fatalUsage("unexpected arguments: %q", flag.Args())
	}
	if cfg.larder == "" {
		fatalUsage("-larder is required")
	}
	if cfg.attack != "a" && cfg.attack != "b" && cfg.attack != "both" {
		fatalUsage("-attack must be a, b or both")
	}
	if cfg.n < 0 || cfg.n > 100000 || cfg.keySize < 1 || cfg.keySize > 4<<20 ||
		cfg.bigSize < 1 || cfg.bigSize > 256<<20 || cfg.conc < 1 || cfg.conc > 64 ||
		cfg.rounds < 1 || cfg.rounds > 100 || cfg.timeout <= 0 {
		fatalUsage("a count or size is out of bounds (-n ≤ 100000, -key-size ≤ 4MiB, -big-size ≤ 256MiB, -conc ≤ 64, -rounds ≤ 100)")
	}
	os.Exit(run(cfg))
}

func fatalUsage(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "attackrss: "+format+"\n", args...)
	flag.Usage()
	os.Exit(2)
}

// row is one line of the closing table.
type row struct {
	attack     string
	requests   int
	perResp    string
	storeBytes string
	rssAfter   float64
	peak       float64
}

// run does the work; every exit path goes through its defers, which stop the
// subprocess and the origin.
func run(cfg config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	origin, err := startOrigin(cfg.bigSize)
	if err != nil {
		return fail("origin: %v", err)
	}
	defer origin.Close()

	l, err := startLarder(ctx, cfg, "http://"+origin.addr)
	if err != nil {
		return fail("larder: %v", err)
	}
	defer l.stop()

	fmt.Printf("larder: %s (pid %d)\n", cfg.larder, l.pid())
	fmt.Printf("args:   %s\n", strings.Join(l.args, " "))
	fmt.Printf("origin: http://%s (/big: %d bytes)\n", origin.addr, cfg.bigSize)
	if m, err := readMem(l.pid()); err == nil {
		fmt.Printf("idle:   RSS %.1f MiB, peak %.1f MiB\n", m.rss, m.hwm)
	}

	client := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2 * cfg.conc,
		DisableCompression:  true, // count the bytes as sent
	}}
	defer client.CloseIdleConnections()

	var rows []row
	if cfg.attack == "a" || cfg.attack == "both" {
		r, err := attackA(ctx, cfg, client, l)
		if err != nil {
			return fail("attack A: %v%s", err, l.exitNote())
		}
		rows = append(rows, r)
	}
	if cfg.attack == "b" || cfg.attack == "both" {
		r, err := attackB(ctx, cfg, client, l)
		if err != nil {
			return fail("attack B: %v%s", err, l.exitNote())
		}
		rows = append(rows, r)
	}

	fmt.Println()
	fmt.Println("| attack | requests | bytes per response | store bytes | RSS after (MiB) | peak RSS (MiB) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s | %d | %s | %s | %.1f | %.1f |\n", r.attack, r.requests, r.perResp, r.storeBytes, r.rssAfter, r.peak)
	}
	return 0
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "attackrss: "+format+"\n", args...)
	return 1
}

// attackA sends cfg.n sequential GETs of /q with a distinct query string of
// cfg.keySize bytes each.
func attackA(ctx context.Context, cfg config, client *http.Client, l *larder) (row, error) {
	fmt.Printf("\n## Attack A: %d sequential GETs of /q?<i>=<%d bytes of 'a'>\n", cfg.n, cfg.keySize)
	peakReset := l.resetPeak()
	before, err := readMem(l.pid())
	if err != nil {
		return row{}, err
	}
	fmt.Printf("before: RSS %.1f MiB, peak %.1f MiB%s\n", before.rss, before.hwm, peakNote(peakReset))

	pad := strings.Repeat("a", cfg.keySize)
	statuses := map[int]int{}
	cacheStatus := map[string]int{}
	var bodyBytes int64
	start := time.Now()
	for i := range cfg.n {
		u := "http://" + l.listen + "/q?" + strconv.Itoa(i) + "=" + pad
		st, n, cs, err := get(ctx, client, u, nil)
		if err != nil {
			// The error of the client names the URL: leave its 500 KiB out.
			if ue, ok := errors.AsType[*url.Error](err); ok {
				err = ue.Err
			}
			return row{}, fmt.Errorf("request %d (GET /q?%d=<%d bytes>): %w", i, i, cfg.keySize, err)
		}
		statuses[st]++
		cacheStatus[cs]++
		bodyBytes += n
	}
	elapsed := time.Since(start)
	settle(ctx)
	after, err := readMem(l.pid())
	if err != nil {
		return row{}, err
	}
	fmt.Printf("sent:   %d requests in %.1fs, statuses %s, Cache-Status %s\n",
		cfg.n, elapsed.Seconds(), fmtCounts(statuses), fmtCounts(cacheStatus))
	fmt.Printf("after:  RSS %.1f MiB, peak %.1f MiB\n", after.rss, after.hwm)
	mets := l.metrics(ctx)
	printMetrics(mets)

	per := "-"
	if cfg.n > 0 {
		per = fmtBytes(float64(bodyBytes) / float64(cfg.n))
	}
	return row{
		attack:     fmt.Sprintf("A: long keys (%s each)", fmtBytes(float64(cfg.keySize))),
		requests:   cfg.n,
		perResp:    per,
		storeBytes: storeBytes(mets),
		rssAfter:   after.rss,
		peak:       after.hwm,
	}, nil
}

// rangeHeader asks for the whole representation 16 times over.
var rangeHeader = "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 16), ",")

// attackB stores /big, then sends cfg.rounds rounds of cfg.conc concurrent
// GETs of /big with rangeHeader.
func attackB(ctx context.Context, cfg config, client *http.Client, l *larder) (row, error) {
	fmt.Printf("\n## Attack B: GET /big, then %d rounds of %d concurrent GETs with Range: %s\n", cfg.rounds, cfg.conc, rangeHeader)
	peakReset := l.resetPeak()
	before, err := readMem(l.pid())
	if err != nil {
		return row{}, err
	}
	fmt.Printf("before: RSS %.1f MiB, peak %.1f MiB%s\n", before.rss, before.hwm, peakNote(peakReset))

	u := "http://" + l.listen + "/big"
	st, n, cs, err := get(ctx, client, u, nil)
	if err != nil {
		return row{}, fmt.Errorf("first GET /big: %w", err)
	}
	fmt.Printf("store:  GET /big: %d, %d bytes, Cache-Status %q\n", st, n, cs)
	settle(ctx)
	// A plain GET again tells whether the first one was stored.
	st, n, cs, err = get(ctx, client, u, nil)
	if err != nil {
		return row{}, fmt.Errorf("second GET /big: %w", err)
	}
	fmt.Printf("check:  GET /big: %d, %d bytes, Cache-Status %q\n", st, n, cs)
	// RFC 9211: a hit carries "hit" and no "fwd" parameter.
	cached := strings.Contains(cs, "hit") && !strings.Contains(cs, "fwd=")
	if !cached {
		fmt.Printf("WARNING: /big was not served from the store, so the range requests below are\n" +
			"forwarded to the origin (which ignores Range), not answered from the cache. The\n" +
			"store's bound counts the entry's header (and, in newer versions, its key) as well as\n" +
			"its body: use a smaller -big-size or a larger --store in -larder-args.\n")
	}
	printMetrics(l.metrics(ctx))

	type result struct {
		status int
		n      int64
		cs     string
		ctype  string
		err    error
	}
	var results []result
	var mu sync.Mutex
	h := http.Header{"Range": {rangeHeader}}
	start := time.Now()
	for range cfg.rounds {
		var wg sync.WaitGroup
		for range cfg.conc {
			wg.Go(func() {
				var ct string
				st, n, cs, err := getCT(ctx, client, u, h, &ct)
				mu.Lock()
				results = append(results, result{st, n, cs, ct, err})
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	settle(ctx)
	after, err := readMem(l.pid())
	if err != nil {
		return row{}, err
	}

	statuses := map[int]int{}
	cacheStatus := map[string]int{}
	ctypes := map[string]int{}
	sizes := map[int64]int{}
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		statuses[r.status]++
		cacheStatus[r.cs]++
		ct := r.ctype
		if i := strings.IndexByte(ct, ';'); i >= 0 {
			ct = ct[:i] // drop the boundary
		}
		ctypes[ct]++
		sizes[r.n]++
	}
	if len(errs) > 0 {
		return row{}, fmt.Errorf("%d of %d range requests failed, first: %w", len(errs), len(results), errs[0])
	}
	fmt.Printf("sent:   %d requests in %.1fs, statuses %s, Content-Type %s, Cache-Status %s\n",
		len(results), elapsed.Seconds(), fmtCounts(statuses), fmtCounts(ctypes), fmtCounts(cacheStatus))
	fmt.Printf("bytes:  per response %s (body %d bytes: %.1fx)\n", fmtCounts(sizes), cfg.bigSize, float64(maxKey(sizes))/float64(cfg.bigSize))
	fmt.Printf("after:  RSS %.1f MiB, peak %.1f MiB\n", after.rss, after.hwm)
	mets := l.metrics(ctx)
	printMetrics(mets)

	var per []string
	for _, k := range sortedKeys(sizes) {
		per = append(per, strconv.FormatInt(k, 10))
	}
	var sts []string
	for _, k := range sortedKeys(statuses) {
		sts = append(sts, strconv.Itoa(k))
	}
	note := ""
	if !cached {
		note = "; /big not stored: misses"
	}
	return row{
		attack:     fmt.Sprintf("B: 16 overlapping ranges × %d concurrent × %d (status %s%s)", cfg.conc, cfg.rounds, strings.Join(sts, ","), note),
		requests:   len(results),
		perResp:    strings.Join(per, " / "),
		storeBytes: storeBytes(mets),
		rssAfter:   after.rss,
		peak:       after.hwm,
	}, nil
}

// get sends a GET and reads the whole body; it returns the status, the body's
// length and the Cache-Status field.
func get(ctx context.Context, client *http.Client, u string, h http.Header) (int, int64, string, error) {
	return getCT(ctx, client, u, h, nil)
}

// getCT is get that also stores the Content-Type in *ct when ct is not nil.
func getCT(ctx context.Context, client *http.Client, u string, h http.Header, ct *string) (int, int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, "", err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return resp.StatusCode, n, "", fmt.Errorf("reading the body after %d bytes: %w", n, err)
	}
	if ct != nil {
		*ct = resp.Header.Get("Content-Type")
	}
	return resp.StatusCode, n, resp.Header.Get("Cache-Status"), nil
}

// settle gives the store's maintenance (evictions run shortly after writes)
// a moment before the figures are read.
func settle(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(300 * time.Millisecond):
	}
}
