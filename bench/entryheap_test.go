package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/gregjones/httpcache"
	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// What a stored entry costs on the heap (issue 16). Each measurement runs in a
// fresh process (the test binary re-executed), so that nothing another test
// left on the heap, and no size-class or table state of an earlier fill,
// leaks into it:
//
//	cd bench && go test -count=1 -run '^TestEntryHeap$' -v .
//	BENCH_ENTRYHEAP_PEERS=Larder,Gregjones go test -count=1 -run '^TestEntryHeap$' -v .
//
// A fill stores n distinct 1 KiB responses (Cache-Control, ETag and
// Content-Type, no Content-Length: the cache adds it), each through one
// request that misses, then hits every one once. runtime.MemStats after two
// GCs before and after give the heap bytes and objects the fill left; the
// figures per entry are the slope from 10k to 100k entries (what one more
// entry costs, without the fixed costs of the cache), minus the 1 KiB body.

// entryHeapBody is the size of every stored body.
const entryHeapBody = 1 << 10

// entryHeapSizes are the fills whose slope gives the per-entry figures.
var entryHeapSizes = [2]int{10_000, 100_000}

// entryHeapResult is what one child process reports.
type entryHeapResult struct {
	Peer    string `json:"peer"`
	N       int    `json:"n"`
	Heap    int64  `json:"heap"`    // HeapAlloc after the fill minus before
	Objects int64  `json:"objects"` // HeapObjects after minus before
	Weigher int64  `json:"weigher"` // what the store's weigher counts (memory.Stats.Bytes); 0 if none
	RSS     int64  `json:"rss"`     // resident set after the fill minus before (0 where unknown)
}

const entryHeapEnv = "BENCH_ENTRYHEAP"

// entryHeapProfileEnv names a file where a child process writes a heap
// profile of every allocation (runtime.MemProfileRate = 1) while the filled
// cache is still alive, to see where an entry's bytes go:
//
//	BENCH_ENTRYHEAP=Larder:10000 BENCH_ENTRYHEAP_PROFILE=heap.prof \
//	  go test -count=1 -run '^TestEntryHeapChild$' .
//	go tool pprof -sample_index=inuse_space -top heap.prof
const entryHeapProfileEnv = "BENCH_ENTRYHEAP_PROFILE"

// TestEntryHeap measures the heap cost of a stored 1 KiB entry, one fresh
// process per peer and fill size, and checks Larder's against its store's
// weigher: the byte budget must bound the memory the entries really take.
func TestEntryHeap(t *testing.T) {
	if os.Getenv(entryHeapEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("fills 110k entries in fresh processes")
	}
	peerNames := []string{"Larder"}
	if s := os.Getenv("BENCH_ENTRYHEAP_PEERS"); s != "" {
		peerNames = strings.Split(s, ",")
	}
	t.Logf("per entry, beyond its %d-byte body: heap bytes and objects are the slope from %d to %d entries",
		entryHeapBody, entryHeapSizes[0], entryHeapSizes[1])
	t.Logf("| peer | heap bytes per entry beyond the body | RSS bytes per entry beyond the body | heap objects per entry | weigher counts per entry | heap ÷ weigher |")
	t.Logf("|---|---:|---:|---:|---:|---:|")
	for _, name := range peerNames {
		var r [2]entryHeapResult
		for i, n := range entryHeapSizes {
			r[i] = runEntryHeapChild(t, name, n)
		}
		dn := float64(r[1].N - r[0].N)
		heap := float64(r[1].Heap-r[0].Heap) / dn
		objects := float64(r[1].Objects-r[0].Objects) / dn
		weigher := float64(r[1].Weigher-r[0].Weigher) / dn
		rss := "n/a"
		if r[0].RSS > 0 && r[1].RSS > 0 {
			rss = fmt.Sprintf("%.0f", float64(r[1].RSS-r[0].RSS)/dn-entryHeapBody)
		}
		ratio := "n/a"
		if weigher > 0 {
			ratio = fmt.Sprintf("%.3f", heap/weigher)
		}
		t.Logf("| %s | %.0f | %s | %.1f | %.0f | %s |", name, heap-entryHeapBody, rss, objects, weigher, ratio)
		for _, x := range r {
			t.Logf("  %s n=%d: heap %d B (%.0f per entry), RSS %d B, %d objects, weigher %d B",
				name, x.N, x.Heap, float64(x.Heap)/float64(x.N), x.RSS, x.Objects, x.Weigher)
		}
		if name != "Larder" {
			continue
		}
		// Issue 16's target is 300 bytes and 6 objects beyond the body;
		// with larder.CompactEntry in the memory store an entry takes 264
		// bytes and 3 objects, the body one of them (BENCHMARKS.md §5).
		// 290 catches the CompactEntry moving up two size classes (160 to
		// 192 bytes: 296), 3.5 any new object per entry.
		if over := heap - entryHeapBody; over > 290 || objects > 3.5 {
			t.Errorf("Larder: a stored 1 KiB entry costs %.0f heap bytes beyond its body and %.1f objects (the body included), more than 290 and 3",
				over, objects)
		}
		// The budget bounds the memory: what the weigher counts (key
		// included) is within 10% of what an entry holds on the heap.
		if d := heap/weigher - 1; d > 0.10 || d < -0.10 {
			t.Errorf("Larder: an entry takes %.0f heap bytes, its weigher counts %.0f (%+.1f%%): more than 10%% apart",
				heap, weigher, 100*d)
		}
	}
}

func runEntryHeapChild(t *testing.T, peer string, n int) entryHeapResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEntryHeapChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), entryHeapEnv+"="+peer+":"+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s n=%d: %v\n%s", peer, n, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "entryheap "); ok {
			var r entryHeapResult
			if err := json.Unmarshal([]byte(s), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("%s n=%d: no result in\n%s", peer, n, out)
	return entryHeapResult{}
}

// TestEntryHeapChild is one measurement; it runs only in a process that
// TestEntryHeap started.
func TestEntryHeapChild(t *testing.T) {
	spec := os.Getenv(entryHeapEnv)
	if spec == "" {
		t.Skip("run by TestEntryHeap")
	}
	peer, ns, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(ns)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(entryHeapProfileEnv) != "" {
		runtime.MemProfileRate = 1
	}
	r, err := measureEntryHeap(peer, n)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	fmt.Printf("entryheap %s\n", b)
}

// heapOrigin serves a distinct cacheable 1 KiB response per URL path
// /obj/<i>, with a strong ETag of its own (built per response, as a real
// origin's would be), and counts its calls.
type heapOrigin struct {
	body  []byte
	calls int
}

func (o *heapOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls++
	i, _ := strconv.ParseUint(strings.TrimPrefix(r.URL.Path, "/obj/"), 10, 64)
	h := w.Header()
	h["Cache-Control"] = []string{"max-age=3600"}
	h["Etag"] = []string{fmt.Sprintf(`"%016x"`, i*0x9e3779b97f4a7c15)}
	h["Content-Type"] = []string{"application/octet-stream"}
	_, _ = w.Write(o.body)
}

func measureEntryHeap(peer string, n int) (entryHeapResult, error) {
	res := entryHeapResult{Peer: peer, N: n}
	o := &heapOrigin{body: bytes.Repeat([]byte("x"), entryHeapBody)}
	var (
		h     http.Handler
		store *memory.Store
	)
	switch peer {
	case "Larder":
		s, err := memory.New(memory.Options{MaxBytes: 4 << 30})
		if err != nil {
			return res, err
		}
		defer s.Close()
		store = s
		h = larder.New(s).Middleware(o)
	case "Gregjones":
		// Unbounded: its MemoryCache is a map of encoded responses.
		tr := httpcache.NewTransport(httpcache.NewMemoryCache())
		tr.Transport = handlerTransport{o}
		h = &gregHandler{t: tr}
	default:
		return res, fmt.Errorf("no entry-heap peer %q", peer)
	}
	w := newBenchWriter()
	serve := func(i int) error {
		w.reset()
		r := newRequest("http://example.com/obj/"+strconv.Itoa(i), "")
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK || w.n != entryHeapBody {
			return fmt.Errorf("request %d: status %d, %d body bytes", i, w.status, w.n)
		}
		return nil
	}
	// A first response, outside the measurement, for what is set up lazily.
	if err := serve(-1); err != nil {
		return res, err
	}
	before := heapNow(store)
	for i := range n {
		if err := serve(i); err != nil {
			return res, err
		}
	}
	for i := range n {
		if err := serve(i); err != nil {
			return res, err
		}
		if peer == "Larder" && !strings.Contains(w.h.Get("Cache-Status"), "; hit") {
			return res, fmt.Errorf("request %d: not a hit: Cache-Status %q", i, w.h.Get("Cache-Status"))
		}
	}
	if o.calls != n+1 {
		return res, fmt.Errorf("origin called %d times for %d entries", o.calls, n)
	}
	after := heapNow(store)
	res.Heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	res.Objects = int64(after.HeapObjects) - int64(before.HeapObjects)
	res.Weigher = after.weigher - before.weigher
	if before.rss > 0 && after.rss > 0 {
		res.RSS = after.rss - before.rss
	}
	if p := os.Getenv(entryHeapProfileEnv); p != "" {
		if err := writeHeapProfile(p); err != nil {
			return res, err
		}
	}
	runtime.KeepAlive(h)
	runtime.KeepAlive(w)
	return res, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type heapState struct {
	runtime.MemStats
	weigher int64
	rss     int64 // the process's resident set, after the heap returned what it could to the OS
}

// heapNow settles the store's pending maintenance and the heap, then reads both.
func heapNow(s *memory.Store) heapState {
	var st heapState
	if s != nil {
		st.weigher = s.Stats().Bytes
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&st.MemStats)
	debug.FreeOSMemory()
	st.rss = residentBytes()
	return st
}
