package larder

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/larder-cache/larder/internal/conditional"
)

// keeperStore is a nopStore that keeps entries as they are (EntryKeeper).
type keeperStore struct{ nopStore }

func (keeperStore) KeepsEntries() bool { return true }

// A response stored in an EntryKeeper has no Header map; its fields, as
// Fields, lookup, validators and MarshalBinary read them, are those of
// the same response stored with its map.
func TestCompactForm(t *testing.T) {
	keep, full := New(keeperStore{}), New(nopStore{})
	if !keep.keeps || full.keeps {
		t.Fatal("EntryKeeper not detected")
	}
	for name, h := range map[string]http.Header{
		"empty":  {},
		"single": headerOf("Cache-Control", "max-age=60", "Etag", `"a"`, "Content-Type", "text/plain", "Content-Length", "5"),
		"multi": headerOf("Cache-Control", "max-age=60", "Cache-Control", "public", "Link", "</a>", "Link", "</b>",
			"Etag", `"a"`, "Content-Type", "text/plain"),
		"empty value list": {"Content-Type": nil, "Cache-Control": {"max-age=60"}, "X-B": {"1"}},
		"ETag alias":       {"ETag": {`"a"`}, "Cache-Control": {"max-age=60"}, "Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}},
		"Last-Modified only": headerOf("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT", "Date", "Mon, 02 Jan 2006 15:04:05 GMT",
			"X", "y"),
		"many fields": func() http.Header {
			h := http.Header{}
			for _, k := range testFieldNames[:12] {
				h[k] = []string{k + "-value"}
			}
			return h
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			tmpl := Entry{Kind: KindResponse, Status: http.StatusOK, Body: []byte("body"), ResponseTime: now, Lifetime: time.Minute}
			tk, tf := tmpl, tmpl
			tk.Header, tf.Header = h.Clone(), h.Clone()
			ek, ef := keep.newStored(&tk), full.newStored(&tf)
			if ek.Header != nil || ef.Header == nil {
				t.Fatalf("Header: compact %v, full %v; want nil and the map", ek.Header, ef.Header)
			}
			if got := ek.Fields(); !equalFields(got, h) {
				t.Fatalf("Fields = %v, want %v", got, h)
			}
			if got := ef.Fields(); !equalFields(got, h) {
				t.Fatalf("Fields of the full entry = %v, want %v", got, h)
			}
			mk, mf := ek.meta, ef.meta
			for _, k := range []string{"Etag", "ETag", "Content-Type", "Cache-Control", "Link", "X", "Date"} {
				if got, want := mk.lookup(k), h[k]; !slices.Equal(got, want) {
					t.Errorf("lookup(%s) = %q, want %q", k, got, want)
				}
			}
			if got, want := mk.validators(), conditional.ValidatorsOf(h); got.ETag != want.ETag ||
				!slices.Equal(got.LastModified, want.LastModified) || !slices.Equal(got.Date, want.Date) {
				t.Errorf("validators = %+v, want %+v", got, want)
			}
			for _, only304 := range []bool{false, true} {
				gk, gf := http.Header{}, http.Header{}
				mk.putFields(gk, only304)
				mf.putFields(gf, only304)
				if !equalFields(gk, gf) {
					t.Fatalf("304 %v: putFields = %v, the full entry's %v", only304, gk, gf)
				}
			}
			// Encoded alike (the nonces aside: each cache has its own).
			ck, cf := *ek, *ef // shallow copies keep the compact form
			ck.Nonce, cf.Nonce = "", ""
			if !bytes.Equal(mustMarshal(t, &ck), mustMarshal(t, &cf)) {
				t.Fatal("the compact entry encodes differently from the full one")
			}
		})
	}
}

// A stored entry's Nonce is written into its allocation once, and differs
// from every other; an entry that is not the one allocated gets its own.
func TestNonceRoom(t *testing.T) {
	c := New(keeperStore{})
	seen := map[string]bool{}
	for range 100 {
		e := c.newStored(&Entry{Kind: KindResponse, Status: 200, Header: headerOf("A", "1")})
		e.Nonce = c.newGenFor(e)
		if e.Nonce == "" || seen[e.Nonce] || !e.meta.nonceInRoom(e.Nonce) {
			t.Fatalf("Nonce %q: empty, seen before, or not in its room", e.Nonce)
		}
		seen[e.Nonce] = true
		if again := c.newGenFor(e); again == e.Nonce || e.meta.nonceInRoom(again) {
			t.Fatalf("a second Nonce for the same entry (%q) reused its room", again)
		}
		cp := *e
		if n := c.newGenFor(&cp); cp.meta.nonceInRoom(n) {
			t.Fatal("a copy of the entry got a Nonce in the original's room")
		}
	}
}

// heapSize of a stored entry's allocation (storedHead and its array) is
// what runtime.MemStats sees.
func TestStoredHeapModel(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	const n = 20000
	for _, strs := range []int{0, 2, 4, 6, 8, 10, 12} {
		es := make([]*Entry, n)
		runtime.GC()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for i := range es {
			names := testFieldNames[:strs/2]
			es[i], _ = allocStored(fieldLayout{names: names, single: true, nv: len(names)})
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		got := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / n
		want := es[0].meta.heapSize()
		if d := max(4, float64(want)/100); got < float64(want)-d || got > float64(want)+d {
			t.Errorf("a stored entry with %d strings takes %.1f heap bytes, heapSize says %v", strs, got, want)
		}
		if e := es[0]; e.Size() != want+len(e.Body) {
			t.Errorf("Size of a bare stored entry = %d, want %d", e.Size(), want)
		}
		runtime.KeepAlive(es)
	}
}

// rebuildingStore claims to keep entries but hands out copies rebuilt from
// their exported fields, which loses the compact form.
type rebuildingStore struct {
	keeperStore
	e *Entry
}

func (s *rebuildingStore) Set(_ context.Context, _ string, e *Entry, _ time.Duration) error {
	s.e = e
	return nil
}

func (s *rebuildingStore) Get(context.Context, string) (*Entry, error) {
	if s.e == nil {
		return nil, ErrNotFound
	}
	e := s.e
	return &Entry{Kind: e.Kind, Status: e.Status, Header: e.Header, Body: e.Body, RequestTime: e.RequestTime,
		ResponseTime: e.ResponseTime, InitialAge: e.InitialAge, Lifetime: e.Lifetime, Expires: e.Expires,
		VaryNames: e.VaryNames, Nonce: e.Nonce, Tags: e.Tags}, nil
}

// A response that lost its compact form is never served without its
// header fields: the cache takes it for a store failure and asks the
// handler again.
func TestLostFieldsNotServed(t *testing.T) {
	s := &rebuildingStore{}
	c := New(s)
	defer c.Close()
	calls := 0
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte("a,b"))
	}))
	for i := range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/lost", nil))
		if ct := w.Header().Get("Content-Type"); ct != "text/csv" {
			t.Fatalf("request %d: Content-Type %q, want text/csv", i, ct)
		}
	}
	if s.e == nil || s.e.Header != nil {
		t.Fatal("the response was not stored in compact form")
	}
	if calls != 2 {
		t.Fatalf("the handler ran %d times, want 2: the rebuilt entry must not be a hit", calls)
	}
}

// TestMetaSize: the meta's small fields and its nonce room fill its last 24
// bytes, so that a stored response with four single-valued fields (the
// Entry, the meta and eight strings) is one allocation of the 416-byte size
// class, not 448.
func TestMetaSize(t *testing.T) {
	if got, want := unsafe.Sizeof(entryMeta{}), uintptr(64); got != want {
		t.Errorf("entryMeta is %d bytes, want %d", got, want)
	}
	if got := heapBytes(int(unsafe.Sizeof(storedWith[[8]string]{})), true); got != 416 {
		t.Errorf("a stored response with four fields takes %d bytes, want 416", got)
	}
}

func TestAppendBase62(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0"}, {9, "9"}, {10, "A"}, {35, "Z"}, {36, "a"}, {61, "z"}, {62, "10"},
		{62*62 - 1, "zz"}, {1<<64 - 1, "LygHa16AHYF"},
	} {
		if got := string(appendBase62([]byte("x."), tc.n)); got != "x."+tc.want {
			t.Errorf("appendBase62(%d) = %q, want %q", tc.n, got, "x."+tc.want)
		}
	}
	if p := newGenPrefix(); len(p) > 12 || p[len(p)-1] != '.' {
		t.Errorf("newGenPrefix() = %q: want at most 11 digits and a dot", p)
	}
}
