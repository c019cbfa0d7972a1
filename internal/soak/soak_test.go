package soak_test

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/soak"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/memory"
	"go.uber.org/goleak"
)

var soakDuration = flag.Duration("soak.duration", 0,
	"total load time of TestSoak, shared by its two stacks (default: the LARDER_SOAK variable, else a short run)")

// Every goroutine the soak starts (clients, servers, connections, background
// revalidations, the store's worker) must be gone at the end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shortRun is the total load time of the run in the normal test suite.
const shortRun = 6 * time.Second

// Requests per client and second of load, an upper bound next to the time
// bound: lower under the race detector.
const (
	perSecond     = 4000
	perSecondRace = 600
)

// numPaths is the number of paths the origin serves.
const numPaths = 200

func loadTime(t *testing.T) (d time.Duration, asked bool) {
	if *soakDuration > 0 {
		return *soakDuration, true
	}
	if v := os.Getenv("LARDER_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("LARDER_SOAK=%q: want a positive duration such as 60s", v)
		}
		return d, true
	}
	if testing.Short() {
		return shortRun / 3, false
	}
	return shortRun, false
}

// TestSoak runs the soak on both stacks, one after the other, each for half
// the load time: the cache in front of the reverse proxy, proxying to the
// origin over loopback, and the cache as a middleware around the origin's
// handler. Any mismatch fails it; stale reads after the client's own write
// fail it only with LARDER_SOAK_STRICT=1.
func TestSoak(t *testing.T) {
	d, asked := loadTime(t)
	rate := perSecond
	if raceEnabled {
		rate = perSecondRace
	}
	cfg := soak.Config{
		Clients:     16,
		Duration:    d / 2,
		MaxRequests: max(1, int(float64(rate)*(d/2).Seconds())),
		Seed:        uint64(time.Now().UnixNano()),
	}
	t.Logf("soak: %s per stack, %d clients, at most %d requests each, seed %d", cfg.Duration, cfg.Clients, cfg.MaxRequests, cfg.Seed)
	for _, stack := range []string{"proxy", "middleware"} {
		t.Run(stack, func(t *testing.T) {
			rep := runStack(t, stack, cfg)
			t.Log(rep.Summary())
			if asked {
				fmt.Println(rep.Summary())
			}
			mism, stale, errs := rep.Samples()
			for _, s := range mism {
				t.Log("mismatch " + s)
			}
			for _, s := range stale {
				t.Log("staleAfterWrite " + s)
			}
			for _, s := range errs {
				t.Log("error " + s)
			}
			if n := rep.MismatchTotal(); n > 0 {
				t.Errorf("%d mismatches (%d of them one user's data served to another): %s",
					n, rep.Leaks(), soak.MismatchString(rep.Mismatches()))
			}
			if n := rep.Errors.Load(); n > 0 {
				t.Errorf("%d failed requests", n)
			}
			if n := rep.StaleAfterWrite.Load(); n > 0 && os.Getenv("LARDER_SOAK_STRICT") == "1" {
				t.Errorf("%d reads older than the client's own completed write or purge (LARDER_SOAK_STRICT=1)", n)
			}
			if rep.Reads.Load() == 0 || rep.Hits.Load() == 0 {
				t.Errorf("no load: %d reads, %d hits", rep.Reads.Load(), rep.Hits.Load())
			}
		})
	}
}

// runStack builds one stack on loopback, runs the load on it and tears it
// down, cache and store included.
func runStack(t *testing.T, stack string, cfg soak.Config) *soak.Report {
	origin := soak.NewOrigin(numPaths)
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cache := larder.New(store, larder.WithClock(time.Now))

	var (
		handler    http.Handler
		originSrv  *httptest.Server
		upstreamTr *http.Transport
	)
	switch stack {
	case "proxy":
		originSrv = httptest.NewServer(origin)
		u, err := url.Parse(originSrv.URL)
		if err != nil {
			t.Fatal(err)
		}
		upstreamTr = proxy.NewTransport(10 * time.Second)
		p, err := proxy.New(proxy.Config{Upstream: u, Transport: upstreamTr})
		if err != nil {
			t.Fatal(err)
		}
		handler = cache.Middleware(p)
	case "middleware":
		handler = cache.Middleware(origin)
	default:
		t.Fatalf("unknown stack %q", stack)
	}
	srv := httptest.NewServer(handler)

	rep := soak.Run(stack, cfg, soak.Target{BaseURL: srv.URL, Origin: origin, Purge: cache.Purge})

	// The clients closed their connections. Then: the cache's server, the
	// background revalidations (which may still reach the origin), the
	// proxy's connections, the origin, the store.
	srv.Close()
	if err := cache.Close(); err != nil {
		t.Errorf("cache.Close: %v", err)
	}
	if upstreamTr != nil {
		upstreamTr.CloseIdleConnections()
	}
	if originSrv != nil {
		originSrv.Close()
	}
	st := store.Stats()
	rep.StoreEntries, rep.StoreBytes = int64(st.Entries), st.Bytes
	store.Close()
	rep.OriginServed = origin.Served.Load()
	return rep
}
