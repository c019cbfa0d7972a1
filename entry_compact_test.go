package larder

import (
	"bytes"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// compactCase is a response as the cache stores it in an EntryKeeper.
type compactCase struct {
	name    string
	e       Entry // its template (Header is laid out by newStored)
	compact bool  // whether it has a compact form
}

func compactCases() []compactCase {
	now := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	base := Entry{Kind: KindResponse, Status: http.StatusOK, Body: []byte("body"),
		RequestTime: now.Add(-30 * time.Millisecond), ResponseTime: now, Expires: now.Add(time.Hour),
		InitialAge: 3 * time.Second, Lifetime: time.Minute, Nonce: "abc.000001",
		Header: headerOf("Cache-Control", "max-age=60", "Etag", `"a"`, "Content-Type", "text/plain", "Content-Length", "4")}
	with := func(f func(e *Entry)) Entry {
		e := base
		e.Header = base.Header.Clone()
		f(&e)
		return e
	}
	many := http.Header{}
	for _, k := range testFieldNames[:12] {
		many[k] = []string{k + "-value"}
	}
	return []compactCase{
		{"typical", with(func(*Entry) {}), true},
		{"no fields", with(func(e *Entry) { e.Header = http.Header{} }), true},
		{"unknown names and Last-Modified", with(func(e *Entry) {
			e.Header = headerOf("X-Custom", "1", "Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT", "Date", "Mon, 02 Jan 2006 15:04:05 GMT")
		}), true},
		{"many fields", with(func(e *Entry) { e.Header = many.Clone() }), true},
		{"own directives", with(func(e *Entry) { e.Header.Set("Cache-Control", "max-age=60, stale-if-error=7777, s-maxage=8888") }), true},
		{"nil body", with(func(e *Entry) { e.Body = nil }), true},
		{"empty body", with(func(e *Entry) { e.Body = []byte{} }), true},
		{"zero times", with(func(e *Entry) { e.RequestTime, e.ResponseTime, e.Expires = time.Time{}, time.Time{}, time.Time{} }), true},
		{"zero request time", with(func(e *Entry) { e.RequestTime = time.Time{} }), true},
		{"before 1970", with(func(e *Entry) { e.ResponseTime = time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC) }), true},
		{"local time with a monotonic reading", with(func(e *Entry) { e.ResponseTime = time.Now() }), true},
		{"negative ages", with(func(e *Entry) { e.InitialAge, e.Lifetime = -1, -time.Hour }), true},
		{"no nonce", with(func(e *Entry) { e.Nonce = "" }), true},
		{"long nonce", with(func(e *Entry) { e.Nonce = strings.Repeat("n", 100) }), true},
		{"vary, tags, body key", with(func(e *Entry) {
			e.VaryNames, e.Tags, e.BodyKey = []string{"accept-encoding"}, []string{"t1", "t2"}, "body-key"
		}), true},
		{"empty vary and tags", with(func(e *Entry) { e.VaryNames, e.Tags = []string{}, []string{} }), true},
		{"status 999", with(func(e *Entry) { e.Status = 999 }), true},
		// Held as they are.
		{"fields of several values", with(func(e *Entry) { e.Header.Add("Link", "</a>"); e.Header.Add("Link", "</b>") }), false},
		{"ETag alias", with(func(e *Entry) { e.Header.Del("Etag"); e.Header["ETag"] = []string{`"b"`} }), false},
		{"fields too long", with(func(e *Entry) { e.Header.Set("X-Long", strings.Repeat("v", compactMaxData)) }), false},
		{"nonce too long", with(func(e *Entry) { e.Nonce = strings.Repeat("n", compactMaxData+1) }), false},
		{"after 2262", with(func(e *Entry) { e.Expires = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }), false},
		{"status out of range", with(func(e *Entry) { e.Status = 70000 }), false},
	}
}

// Compact and Entry give back the entry the cache stored: every exported
// field, the fields, what the cache derived (directives, validators, the
// fields a 304 carries) and the encoding; entries without a compact form
// are held as they are.
func TestCompactEntry(t *testing.T) {
	c := New(keeperStore{})
	for _, tc := range compactCases() {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := tc.e
			tmpl.Header = tc.e.Header.Clone()
			e := c.newStored(&tmpl)
			ce := Compact(e)
			if ce.Compacted() != tc.compact {
				t.Fatalf("Compacted = %v, want %v", ce.Compacted(), tc.compact)
			}
			if ce.Nonce() != e.Nonce {
				t.Fatalf("Nonce = %q, want %q", ce.Nonce(), e.Nonce)
			}
			got := ce.Entry()
			if !tc.compact {
				if got != e || ce.EntrySize() != 0 || ce.Size() != heapBytes(sizeofCompact, true)+e.Size() {
					t.Fatalf("an entry held as it is: Entry %p (want %p), EntrySize %d, Size %d", got, e, ce.EntrySize(), ce.Size())
				}
				return
			}
			if got == e || got == ce.Entry() {
				t.Fatal("Entry did not build a new Entry")
			}
			mustSameEntry(t, got, e)
		})
	}
	if Compact(nil) != nil {
		t.Fatal("Compact(nil) != nil")
	}
	for _, e := range []*Entry{
		{Kind: KindTombstone, Nonce: "t"},
		{Kind: KindVary, VaryNames: []string{"a"}, Nonce: "v"},
		{Kind: KindResponse, Status: 200, Header: headerOf("A", "1")}, // a Header map, no meta
	} {
		if ce := Compact(e); ce.Compacted() || ce.Entry() != e || ce.Nonce() != e.Nonce {
			t.Fatalf("Compact of %+v: Compacted %v, Entry %p", e, ce.Compacted(), ce.Entry())
		}
	}
}

// mustSameEntry fails unless got, rebuilt from a CompactEntry, stands for e.
func mustSameEntry(t *testing.T, got, e *Entry) {
	t.Helper()
	if got.Kind != e.Kind || got.Status != e.Status || got.Header != nil || got.InitialAge != e.InitialAge ||
		got.Lifetime != e.Lifetime || got.Nonce != e.Nonce || got.BodyKey != e.BodyKey {
		t.Fatalf("rebuilt %+v, want %+v", got, e)
	}
	if (got.Body == nil) != (e.Body == nil) || !bytes.Equal(got.Body, e.Body) ||
		(len(e.Body) > 0 && unsafe.SliceData(got.Body) != unsafe.SliceData(e.Body)) || cap(got.Body) != len(got.Body) {
		t.Fatalf("Body %q (cap %d), want %q, shared", got.Body, cap(got.Body), e.Body)
	}
	for _, f := range [][2]time.Time{{got.RequestTime, e.RequestTime}, {got.ResponseTime, e.ResponseTime}, {got.Expires, e.Expires}} {
		if !f[0].Equal(f[1]) || f[0].IsZero() != f[1].IsZero() || (!f[0].IsZero() && f[0].Location() != time.UTC) {
			t.Fatalf("times: %v, want %v (in UTC)", f[0], f[1])
		}
	}
	for _, l := range [][2][]string{{got.VaryNames, e.VaryNames}, {got.Tags, e.Tags}} {
		if !slices.Equal(l[0], l[1]) || (l[0] == nil) != (l[1] == nil) {
			t.Fatalf("VaryNames or Tags %q, want %q", l[0], l[1])
		}
	}
	if !equalFields(got.Fields(), e.Fields()) {
		t.Fatalf("Fields %v, want %v", got.Fields(), e.Fields())
	}
	gm, em := got.meta, e.meta
	const own = metaPacked | metaInline | metaNonceUsed
	if gm.reuseDirectives != em.reuseDirectives || gm.flags&^own != em.flags&^own || gm.n304 != em.n304 ||
		gm.etag() != em.etag() || gm.lastModified() != em.lastModified() || !slices.Equal(gm.strs, em.strs) {
		t.Fatalf("meta %+v, want %+v", *gm, *em)
	}
	for _, only304 := range []bool{false, true} {
		hg, he := http.Header{}, http.Header{}
		gm.putFields(hg, only304)
		em.putFields(he, only304)
		if !equalFields(hg, he) {
			t.Fatalf("304 %v: putFields %v, want %v", only304, hg, he)
		}
	}
	if !bytes.Equal(mustMarshal(t, got), mustMarshal(t, e)) {
		t.Fatal("the rebuilt entry encodes differently")
	}
}

// mustMarshal is e.MarshalBinary, failing t on an error.
func mustMarshal(t *testing.T, e *Entry) []byte {
	t.Helper()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Each CompactEntry allocation fills a size class, its data right after
// the struct; Size and EntrySize are what runtime.MemStats sees.
func TestCompactHeapModel(t *testing.T) {
	if off := unsafe.Offsetof(compactWith[[24]byte]{}.a); int(off) != sizeofCompact || sizeofCompact != 56 {
		t.Fatalf("data at %d, struct %d bytes; want both 56", off, sizeofCompact)
	}
	for _, n := range compactSizes {
		if total := sizeofCompact + n; heapBytes(total, true) != total {
			t.Errorf("a CompactEntry with %d bytes of data takes %d, a size class is %d", n, total, heapBytes(total, true))
		}
	}
	if compactSizes[len(compactSizes)-1] != compactMaxData {
		t.Fatal("the largest array is not compactMaxData")
	}
	if testing.Short() {
		t.Skip("allocates")
	}
	c := New(keeperStore{})
	for _, tc := range compactCases()[:4] {
		tmpl := tc.e
		tmpl.Header = tc.e.Header.Clone()
		tmpl.Body = nil
		e := c.newStored(&tmpl)
		const n = 20000
		ces := make([]*CompactEntry, n)
		es := make([]*Entry, n)
		before := liveHeapBytes()
		for i := range ces {
			ces[i] = Compact(e)
		}
		mid := liveHeapBytes()
		for i := range es {
			es[i] = ces[i].Entry()
		}
		after := liveHeapBytes()
		runtime.KeepAlive(ces)
		runtime.KeepAlive(es)
		per, perEntry := float64(mid-before)/n, float64(after-mid)/n
		if want := float64(ces[0].Size()); per < want-2 || per > want+2 {
			t.Errorf("%s: a CompactEntry takes %.1f bytes, Size says %.0f", tc.name, per, want)
		}
		if want := float64(ces[0].EntrySize()); perEntry < want-2 || perEntry > want+2 {
			t.Errorf("%s: a rebuilt Entry takes %.1f bytes, EntrySize says %.0f", tc.name, perEntry, want)
		}
	}
}

func liveHeapBytes() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// FuzzCompactEntry: whatever a response holds, its CompactEntry gives it back.
func FuzzCompactEntry(f *testing.F) {
	f.Add(200, int64(1764504000123456789), int64(-30e6), int64(3600e9), int64(3e9), int64(60e9), "abc.000001",
		"Cache-Control\nmax-age=60\nEtag\n\"a\"\nContent-Type\ntext/plain", []byte("body"), "accept-encoding", "t1")
	f.Add(304, int64(0), int64(0), int64(0), int64(0), int64(0), "", "", []byte(nil), "", "")
	f.Add(200, int64(-1), int64(1), int64(-1), int64(-1), int64(1), "n", "X\n\nLast-Modified\nMon, 02 Jan 2006 15:04:05 GMT\nCache-Control\nno-cache, stale-while-revalidate=5",
		[]byte{}, "", "")
	c := New(keeperStore{})
	f.Fuzz(func(t *testing.T, status int, resp, req, exp, age, life int64, nonce, fields string, body []byte, vary, tag string) {
		h := http.Header{}
		parts := strings.Split(fields, "\n")
		for i := 0; i+1 < len(parts); i += 2 {
			if parts[i] != "" {
				h[http.CanonicalHeaderKey(parts[i])] = []string{parts[i+1]}
			}
		}
		tmpl := Entry{Kind: KindResponse, Status: status, Header: h, Body: body, InitialAge: time.Duration(age),
			Lifetime: time.Duration(life), Nonce: nonce}
		if resp != 0 {
			tmpl.ResponseTime = time.Unix(0, resp)
			tmpl.RequestTime = time.Unix(0, resp+req)
			tmpl.Expires = time.Unix(0, resp+exp)
		}
		if vary != "" {
			tmpl.VaryNames = strings.Split(vary, ",")
		}
		if tag != "" {
			tmpl.Tags = []string{tag}
		}
		e := c.newStored(&tmpl)
		ce := Compact(e)
		if ce.Nonce() != e.Nonce {
			t.Fatalf("Nonce %q, want %q", ce.Nonce(), e.Nonce)
		}
		if !ce.Compacted() {
			if ce.Entry() != e {
				t.Fatal("an entry held as it is came back as another")
			}
			return
		}
		mustSameEntry(t, ce.Entry(), e)
	})
}
