package larder

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/larder-cache/larder/internal/cachecontrol"
	"github.com/larder-cache/larder/internal/freshness"
)

// headerOf builds a header from name, value pairs, in order.
func headerOf(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = append(h[pairs[i]], pairs[i+1])
	}
	return h
}

func sameArray(a, b []string) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// The meta lays the stored header out once; a hit puts exactly the stored
// fields (or a 304's, as copy304 picks them) into the response, as views of
// one new array, whatever the header's shape.
func TestMetaLayout(t *testing.T) {
	c := New(nopStore{})
	for name, h := range map[string]http.Header{
		"empty":           {},
		"single":          headerOf("Cache-Control", "max-age=60", "Etag", `"a"`, "Content-Type", "text/plain", "Content-Length", "5"),
		"no 304 fields":   headerOf("Content-Type", "text/plain", "X-A", "1"),
		"only 304 fields": headerOf("Cache-Control", "max-age=60", "Etag", `"a"`, "Vary", "Accept"),
		"multi": headerOf("Cache-Control", "max-age=60", "Cache-Control", "public", "Link", "</a>", "Link", "</b>",
			"Etag", `"a"`, "Content-Type", "text/plain"),
		"empty value list":   {"Content-Type": nil, "Date": {}, "Cache-Control": {"max-age=60"}, "X-B": {"1"}},
		"ETag alias":         {"ETag": {`"a"`}, "Cache-Control": {"max-age=60"}, "Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}},
		"ETag and Etag":      {"ETag": {`"a"`}, "Etag": {`"b"`}, "Content-Type": {"text/plain"}},
		"Last-Modified only": headerOf("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT", "Date", "Mon, 02 Jan 2006 15:04:05 GMT", "X", "y"),
		"upstream Cache-Status": headerOf("Cache-Status", "up; hit", "Age", "3", "Expires", "0", "Content-Location", "/a",
			"Content-Encoding", "gzip"),
	} {
		t.Run(name, func(t *testing.T) {
			want304 := http.Header{}
			copy304(want304, h)
			for _, own := range []bool{false, true} {
				e := &Entry{Kind: KindResponse, Status: http.StatusOK, Header: h.Clone()}
				orig := maps.Clone(e.Header) // the same value slices
				var m *entryMeta
				if own {
					m = c.newMeta(e)
				} else {
					m = c.metaOf(e)
				}
				if !reflect.DeepEqual(e.Header, h) {
					t.Fatalf("own %v: the stored header changed: %v, want %v", own, e.Header, h)
				}
				for k, v := range e.Header {
					if !own && len(v) > 0 && !sameArray(v, orig[k]) {
						t.Fatalf("metaOf replaced the value list of %s in an entry it does not own", k)
					}
					if own && len(v) > 0 && (cap(v) != len(v) || !slices.ContainsFunc(m.strs, func(s string) bool { return unsafe.StringData(s) == unsafe.StringData(v[0]) })) {
						t.Fatalf("newMeta: %s's values are not a capped view of the meta's array", k)
					}
				}
				for _, only304 := range []bool{false, true} {
					got := http.Header{}
					vals := m.putFields(got, only304)
					want := h
					if only304 {
						want = want304
					}
					if !equalFields(got, want) {
						t.Fatalf("own %v, 304 %v: putFields = %v, want %v", own, only304, got, want)
					}
					if cap(vals)-len(vals) != 3 {
						t.Fatalf("putFields left room for %d values, want 3", cap(vals)-len(vals))
					}
					for k, v := range got {
						if len(v) > 0 && sameArray(v, e.Header[k]) || cap(v) != len(v) {
							t.Fatalf("%s: the response's values are the stored slice, or not capped", k)
						}
					}
				}
			}
		})
	}
}

// equalFields compares headers by their values, an empty list and a nil one
// alike (both send nothing; the key's presence is what counts).
func equalFields(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

// The meta keeps only the directives reusing a response reads; every
// decision made from them is the one the full directives give, and entries
// with the same ones share them.
func TestReuseDirectives(t *testing.T) {
	c := New(nopStore{})
	reqs := []cachecontrol.Directives{
		{},
		cachecontrol.ParseRequest(headerOf("Cache-Control", "max-stale")),
		cachecontrol.ParseRequest(headerOf("Cache-Control", "max-stale=5, stale-if-error=30")),
		cachecontrol.ParseRequest(headerOf("Cache-Control", "min-fresh=5")),
		cachecontrol.ParseRequest(headerOf("Cache-Control", "no-cache")),
	}
	for _, v := range []string{
		"", "max-age=60", "public, max-age=60", "private", "no-store", "no-cache", `no-cache="Set-Cookie", max-age=60`,
		"must-revalidate, max-age=1", "proxy-revalidate", "s-maxage=30", "s-maxage=abc", "max-age=60, stale-while-revalidate=30",
		"max-age=60, stale-if-error=600", "max-age=1, stale-while-revalidate=10, stale-if-error=20, must-revalidate",
		"max-age=60, immutable, no-transform",
	} {
		for _, targeted := range []bool{false, true} {
			h := http.Header{}
			if v != "" {
				h["Cache-Control"] = []string{v}
			}
			if targeted {
				h["Cdn-Cache-Control"] = []string{"max-age=5, stale-while-revalidate=9"}
			}
			full, _ := cachecontrol.ParseTargeted(h, c.cfg.targeted)
			e := &Entry{Kind: KindResponse, Status: http.StatusOK, Header: h}
			m := c.newMeta(e)
			if m2 := c.metaOf(&Entry{Kind: KindResponse, Status: http.StatusOK, Header: h.Clone()}); m2.reuseDirectives != m.reuseDirectives {
				t.Errorf("%q: two entries with the same directives do not share them", v)
			}
			got := m.cc
			if got.StaleWhileRevalidate != full.StaleWhileRevalidate || got.StaleIfError != full.StaleIfError {
				t.Errorf("%q: stale windows %+v %+v, want %+v %+v", v, got.StaleWhileRevalidate, got.StaleIfError,
					full.StaleWhileRevalidate, full.StaleIfError)
			}
			for _, shared := range []bool{false, true} {
				if a, b := freshness.StaleProhibited(got, shared), freshness.StaleProhibited(full, shared); a != b {
					t.Errorf("%q shared %v: StaleProhibited %v, want %v", v, shared, a, b)
				}
				for _, req := range reqs {
					for _, age := range []time.Duration{0, 30 * time.Second, 59 * time.Second, 61 * time.Second, time.Hour} {
						if a, b := freshness.Check(age, time.Minute, req, got, shared), freshness.Check(age, time.Minute, req, full, shared); a != b {
							t.Errorf("%q shared %v age %v: Check %v, want %v", v, shared, age, a, b)
						}
					}
				}
			}
		}
	}
}

// The package reads an entry's reuse directives (entryMeta.cc) only in the
// ways TestReuseDirectives checks: their stale-while-revalidate and
// stale-if-error, and through freshness.Check and freshness.StaleProhibited.
// Any other read (m.cc.MaxAge, say) would see a zero that the full
// directives may not have: such a read needs the directive added to
// reuseKey, then here.
func TestReuseDirectivesReads(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	reads := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "cc" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "cw" {
				return true // the capture's directives: a full parse
			}
			reads++
			switch p := stack[len(stack)-2].(type) {
			case *ast.SelectorExpr:
				if p.Sel.Name == "StaleWhileRevalidate" || p.Sel.Name == "StaleIfError" {
					return true
				}
			case *ast.CallExpr:
				if fn, ok := p.Fun.(*ast.SelectorExpr); ok && p.Fun != n {
					if pkg, ok := fn.X.(*ast.Ident); ok && pkg.Name == "freshness" &&
						(fn.Sel.Name == "Check" || fn.Sel.Name == "StaleProhibited") {
						return true
					}
				}
			}
			t.Errorf("%s: a read of the reuse directives that TestReuseDirectives does not cover", fset.Position(sel.Pos()))
			return true
		})
	}
	if reads == 0 {
		t.Fatal("found no read of entryMeta.cc: the check has gone stale")
	}
}

// A hit's Cache-Status value is shared by the hits with the same ttl: an
// entry keeps none, and a hit allocates none once the value exists.
func TestHitStatusShared(t *testing.T) {
	for _, name := range []string{"Larder", "Other"} {
		c := New(nopStore{}, WithName(name))
		x := &exchange{c: c}
		for _, lifetime := range []time.Duration{0, 5 * time.Second, 1029 * time.Second, 2053 * time.Second, time.Hour} {
			e := &Entry{Lifetime: lifetime}
			for _, age := range []time.Duration{0, 3 * time.Second, time.Hour + 10*time.Second} {
				want := name + "; hit; ttl=" + strconv.FormatInt(ttlSeconds(lifetime, age), 10)
				for range 2 {
					if got := x.hitStatus(e, age); got != want {
						t.Fatalf("hitStatus(lifetime %v, age %v) = %q, want %q", lifetime, age, got, want)
					}
				}
			}
		}
		e := &Entry{Lifetime: time.Hour}
		x.hitStatus(e, time.Second)
		if n := testing.AllocsPerRun(100, func() { x.hitStatus(e, time.Second) }); n != 0 {
			t.Errorf("a repeated hit allocates %v times for its Cache-Status", n)
		}
	}
}

// The heap model that Entry.Size uses matches what Go allocates.
func TestHeapModel(t *testing.T) {
	const n = 2000
	// measure returns the heap bytes per call of alloc, which keeps what it
	// allocates in a slice made beforehand.
	measure := func(alloc func(i int)) float64 {
		runtime.GC()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for i := range n {
			alloc(i)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / n
	}
	// Within 1% (or 4 bytes): a test binary (with -race, more) allocates a
	// little on its own.
	near := func(got float64, want int) bool {
		d := max(4, float64(want)/100)
		return got > float64(want)-d && got < float64(want)+d
	}
	v := []string{"v"}
	for _, fields := range []int{0, 1, 8, 9, 14, 15, 28, 29, 56, 57} {
		keep := make([]http.Header, n)
		got := measure(func(i int) {
			h := make(http.Header, fields)
			for _, k := range testFieldNames[:fields] {
				h[k] = v
			}
			keep[i] = h
		})
		runtime.KeepAlive(keep)
		if want := headerMapBytes(fields); !near(got, want) {
			t.Errorf("an http.Header of %d fields takes %.1f heap bytes, headerMapBytes says %v", fields, got, want)
		}
	}
	for _, size := range []int{16, 24, 100, 500, 513, 1000, 5000, 40000} {
		strs := make([][]string, n)
		got := measure(func(i int) { strs[i] = make([]string, size/16) })
		runtime.KeepAlive(strs)
		if want := heapBytes(size/16*16, true); !near(got, want) {
			t.Errorf("a []string of %d bytes takes %.1f heap bytes, heapBytes says %v", size/16*16, got, want)
		}
		bs := make([][]byte, n)
		got = measure(func(i int) { bs[i] = make([]byte, size) })
		runtime.KeepAlive(bs)
		if want := heapBytes(size, false); !near(got, want) {
			t.Errorf("a []byte of %d bytes takes %.1f heap bytes, heapBytes says %v", size, got, want)
		}
	}
	es := make([]*Entry, n)
	if got, want := measure(func(i int) { es[i] = new(Entry) }), heapBytes(sizeofEntry, true); !near(got, want) {
		t.Errorf("an Entry takes %.1f heap bytes, want %v", got, want)
	}
	runtime.KeepAlive(es)
	for _, strs := range []int{0, 2, 4, 6, 8, 10, 12, 30} {
		ms := make([]*entryMeta, n)
		got := measure(func(i int) { ms[i] = newMetaStrs(strs) })
		if want := ms[0].heapSize(); !near(got, want) {
			t.Errorf("a meta with %d strings takes %.1f heap bytes, heapSize says %v", strs, got, want)
		}
		runtime.KeepAlive(ms)
	}
}

var testFieldNames = func() []string {
	s := make([]string, 64)
	for i := range s {
		s[i] = "X-Field-" + strconv.Itoa(i)
	}
	return s
}()
