// Command benchtable turns the output of several rounds of the bench
// module's "go test -bench" runs into the markdown tables of BENCHMARKS.md:
// the median of each metric over the rounds, and ratios taken within the run.
//
//	benchtable -mode inprocess results/inprocess-*.txt
//	benchtable -mode store results/store-*.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	mode := flag.String("mode", "inprocess", "inprocess or store")
	flag.Parse()
	res := results{}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		res.parse(f)
		f.Close()
	}
	switch *mode {
	case "inprocess":
		inprocess(os.Stdout, res)
	case "store":
		store(os.Stdout, res)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
}

// results maps a benchmark's full name (with its -N suffix) to its metrics,
// each with one value per round.
type results map[string]map[string][]float64

func (r results) parse(in io.Reader) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		m := r[f[0]]
		if m == nil {
			m = map[string][]float64{}
			r[f[0]] = m
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = append(m[f[i+1]], v)
		}
	}
}

// get returns the median of a metric and the number of rounds it has.
func (r results) get(name, unit string) (float64, int, bool) {
	vs := r[name][unit]
	if len(vs) == 0 {
		return 0, 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], n, true
	}
	return (s[n/2-1] + s[n/2]) / 2, n, true
}

// find returns the full name of the benchmark whose name without the -N
// suffix is base (the first with that base in sorted order).
func (r results) find(base string) string {
	var names []string
	for k := range r {
		if trimProcs(k) == base {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || strings.LastIndexByte(name, '/') > i {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

func procs(name string) string {
	if t := trimProcs(name); t != name {
		return name[len(t)+1:]
	}
	return "1"
}

var (
	peers = []string{"Bare", "Larder", "Gregjones", "Souin"}
	paths = []string{"Hit", "304", "Miss"}
	sizes = []string{"1K", "64K"}
	modes = []string{"seq", "par"}
)

func fmtNs(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}

func inprocess(w io.Writer, r results) {
	rounds := 0
	fmt.Fprintln(w, "| path | size | mode | peer | ns/op | × Bare | B/op | allocs/op | allocs − Bare |")
	fmt.Fprintln(w, "|---|---|---|---|---:|---:|---:|---:|---:|")
	for _, path := range paths {
		for _, size := range sizes {
			for _, mode := range modes {
				bare := r.find("BenchmarkBare_" + path + "_" + size + "/" + mode)
				bareNs, _, _ := r.get(bare, "ns/op")
				bareAllocs, _, _ := r.get(bare, "allocs/op")
				for _, p := range peers {
					name := r.find("Benchmark" + p + "_" + path + "_" + size + "/" + mode)
					ns, n, ok := r.get(name, "ns/op")
					if !ok {
						fmt.Fprintf(w, "| %s | %s | %s | %s | – | – | – | – | – |\n", path, size, mode, p)
						continue
					}
					rounds = max(rounds, n)
					bytes, _, _ := r.get(name, "B/op")
					allocs, _, _ := r.get(name, "allocs/op")
					ratio, dAllocs := "–", "–"
					if bareNs > 0 {
						ratio = fmt.Sprintf("%.2f", ns/bareNs)
						dAllocs = fmt.Sprintf("%+.0f", allocs-bareAllocs)
					}
					label := mode
					if mode == "par" {
						label = "par (" + procs(name) + ")"
					}
					fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.0f | %.0f | %s |\n",
						path, size, label, p, fmtNs(ns), ratio, bytes, allocs, dAllocs)
				}
			}
		}
	}
	fmt.Fprintf(w, "\nMedians of %d rounds; ratios and differences are taken between medians of the same run.\n\n", rounds)

	fmt.Fprintln(w, "| target | measured | met |")
	fmt.Fprintln(w, "|---|---:|---|")
	ratio := func(peer, path, size, mode string) (float64, float64, bool) {
		a := r.find("Benchmark" + peer + "_" + path + "_" + size + "/" + mode)
		b := r.find("BenchmarkBare_" + path + "_" + size + "/" + mode)
		an, _, ok1 := r.get(a, "ns/op")
		bn, _, ok2 := r.get(b, "ns/op")
		aa, _, _ := r.get(a, "allocs/op")
		ba, _, _ := r.get(b, "allocs/op")
		return an / bn, aa - ba, ok1 && ok2
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "**no**"
	}
	for _, mode := range modes {
		if q, d, ok := ratio("Larder", "Hit", "1K", mode); ok {
			fmt.Fprintf(w, "| Larder hit 1 KiB (%s) ≤ 1.5 × Bare time | %.2f × | %s |\n", mode, q, yes(q <= 1.5))
			fmt.Fprintf(w, "| Larder hit 1 KiB (%s) ≤ Bare + 3 allocs | %+.0f | %s |\n", mode, d, yes(d <= 3))
		}
		if q, _, ok := ratio("Larder", "304", "1K", mode); ok {
			fmt.Fprintf(w, "| Larder 304 1 KiB (%s) ≤ 1.5 × Bare time | %.2f × | %s |\n", mode, q, yes(q <= 1.5))
		}
	}
}

func store(w io.Writer, r results) {
	var names []string
	for k := range r {
		if strings.HasPrefix(k, "BenchmarkStoreZipfHitRatio/") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		fmt.Fprintln(w, "| trace | budget | memory store hit ratio | LRU hit ratio | memory − LRU |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
		for _, k := range names {
			mem, n, _ := r.get(k, "memory-hit-ratio")
			lru, _, _ := r.get(k, "lru-hit-ratio")
			mib, _, _ := r.get(k, "budget-MiB")
			b := strings.TrimPrefix(trimProcs(k), "BenchmarkStoreZipfHitRatio/budget=")
			fmt.Fprintf(w, "| 1M requests, 100k keys, Zipf s=1.1 (%d rounds) | %s of bytes (%.1f MiB) | %.3f | %.3f | %+.3f |\n",
				n, b, mib, mem, lru, mem-lru)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "| store | ns/op, 1 CPU | ns/op, 2 CPUs | speed-up 1→2 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, s := range []string{"memory", "lru"} {
		one, _, ok1 := r.get("BenchmarkStoreParallelGet/"+s, "ns/op")
		two, _, ok2 := r.get("BenchmarkStoreParallelGet/"+s+"-2", "ns/op")
		if !ok1 || !ok2 {
			continue
		}
		label := s
		if s == "lru" {
			label = "lru (mutex, contrast)"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f × |\n", label, fmtNs(one), fmtNs(two), one/two)
	}
}
