package bench

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// TestTieredL1Ratio measures "a tiered L1 hit within 10% of the memory
// store" in one process, the two caches interleaved: rounds of 500 hits of
// 1 KiB on each, in alternating order, so that other work on the machine
// and the garbage collector (one heap for both) weigh on both alike. It
// prints the median of the rounds' ratios (tiered / memory) and the
// medians of each side's hit times. Skipped unless BENCH_STORES=1;
// BENCH_L1_ROUNDS sets the rounds (default 400).
func TestTieredL1Ratio(t *testing.T) {
	if os.Getenv("BENCH_STORES") != "1" {
		t.Skip("set BENCH_STORES=1 to measure")
	}
	rounds := 400
	if v, err := strconv.Atoi(os.Getenv("BENCH_L1_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ts := ownTiered(t, time.Hour)
	var hs [2]func()
	for i, st := range []larder.Store{m, ts} {
		cache := larder.New(st)
		h := cache.Middleware(storeOrigin(1024))
		serveOne(h, "/x")
		_ = cache.Close()
		hs[i] = func() {
			if code, cs := serveOne(h, "/x"); code != 200 || !strings.Contains(cs, "hit") {
				t.Fatalf("%d, Cache-Status %q", code, cs)
			}
		}
		for range 1000 { // warm up
			hs[i]()
		}
	}
	const per = 500
	var ratios, mem, tier []float64
	for r := range rounds {
		var d [2]time.Duration
		for k := range 2 {
			i := (k + r) % 2
			start := time.Now()
			for range per {
				hs[i]()
			}
			d[i] = time.Since(start)
		}
		ratios = append(ratios, float64(d[1])/float64(d[0]))
		mem = append(mem, float64(d[0].Nanoseconds())/per)
		tier = append(tier, float64(d[1].Nanoseconds())/per)
	}
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	q := func(xs []float64, p float64) float64 { slices.Sort(xs); return xs[int(p*float64(len(xs)-1))] }
	t.Logf("%d rounds of %d hits each: tiered/memory median %.3f (quartiles %.3f, %.3f); memory %.0f ns, tiered %.0f ns per hit (medians)",
		rounds, per, med(ratios), q(ratios, 0.25), q(ratios, 0.75), med(mem), med(tier))
}
