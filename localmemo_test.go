package larder

import (
	"context"
	"hash/maphash"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// decoded returns a response as a store that encodes entries returns it:
// through MarshalBinary and UnmarshalBinary, without derived state.
func decoded(t *testing.T, body string) *Entry {
	t.Helper()
	now := time.Now()
	in := &Entry{Kind: KindResponse, Status: 200, Header: http.Header{
		"Cache-Control": {"max-age=60"}, "Content-Type": {"text/plain"}, "Etag": {`"a"`},
	}, Body: []byte(body), ResponseTime: now, RequestTime: now, Lifetime: time.Minute, Expires: now.Add(time.Minute)}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	out := new(Entry)
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if out.meta != nil {
		t.Fatal("a decoded entry has derived state: the memo is not needed")
	}
	return out
}

// TestLocalMemo: an entry from a LocalGetter gets its derived state once,
// in a copy that stands for it while it lives; a slot held by a live
// entry is not taken by another; the slot empties once its entry is gone.
func TestLocalMemo(t *testing.T) {
	c := New(nil)
	c.memo = &localMemo{seed: maphash.MakeSeed()}
	e := decoded(t, "one")
	p := c.prepared("k", e)
	if p == e || p.meta == nil || string(p.Body) != "one" || p.Header.Get("Etag") != `"a"` {
		t.Fatalf("prepared: %+v", p)
	}
	if c.metaOf(p).etag() != `"a"` {
		t.Errorf("the prepared entry's validators: %q", c.metaOf(p).etag())
	}
	if again := c.prepared("k", e); again != p {
		t.Error("the same entry was prepared twice")
	}
	other := decoded(t, "two") // a new entry under the same key (or one colliding)
	p2 := c.prepared("k", other)
	if p2 == p || string(p2.Body) != "two" || p2.meta == nil {
		t.Fatalf("another entry in the slot: %+v", p2)
	}
	if c.prepared("k", other) == p2 {
		t.Error("a live entry's slot was taken by another")
	}
	if c.prepared("k", e) != p {
		t.Error("the slot's entry lost it")
	}
	runtime.KeepAlive(other)

	// Once e is unreachable, a cleanup empties its slot: the prepared copy,
	// which shares e's body, is not kept alive by the memo.
	slot := &c.memo.slots[0]
	for i := range c.memo.slots {
		if c.memo.slots[i].Load() != nil {
			slot = &c.memo.slots[i]
		}
	}
	e, p = nil, nil
	_, _ = e, p
	for i := 0; i < 100 && slot.Load() != nil; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if slot.Load() != nil {
		t.Error("the slot of a collected entry is still held")
	}
}

// decodingStore is a store over a network (not a NonBlockingStore) whose
// GetLocal returns its entries as an encoding store holds them: decoded,
// the same *Entry for a key until it is set again.
type decodingStore struct {
	mu sync.Mutex
	m  map[string]*Entry
}

func (s *decodingStore) Get(_ context.Context, key string) (*Entry, error) {
	if e, ok := s.GetLocal(key); ok {
		return e, nil
	}
	return nil, ErrNotFound
}

func (s *decodingStore) GetLocal(key string) (*Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	return e, ok
}

func (s *decodingStore) Set(_ context.Context, key string, e *Entry, _ time.Duration) error {
	b, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	d := new(Entry)
	if err := d.UnmarshalBinary(b); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = d
	return nil
}

func (s *decodingStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

type nopRecorder struct{ h http.Header }

func (w *nopRecorder) Header() http.Header         { return w.h }
func (w *nopRecorder) WriteHeader(int)             {}
func (w *nopRecorder) Write(p []byte) (int, error) { return len(p), nil }

// TestLocalHitAllocs: a hit answered by a LocalGetter whose entries were
// decoded allocates no more than a memory-store hit (TestHitAllocs): the
// entry's derived state is not computed again on every hit.
func TestLocalHitAllocs(t *testing.T) {
	c := New(&decodingStore{m: map[string]*Entry{}})
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Etag", `"e"`)
		_, _ = w.Write([]byte("body"))
	}))
	r := httptest.NewRequest("GET", "/a", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	_ = c.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if cs := rec.Header().Get("Cache-Status"); !strings.Contains(cs, "hit") || rec.Body.String() != "body" || rec.Header().Get("Etag") != `"e"` {
		t.Fatalf("not a hit: %q, %q, %v", cs, rec.Body.String(), rec.Header())
	}
	w := &nopRecorder{h: make(http.Header, 16)}
	allocs := testing.AllocsPerRun(200, func() {
		clear(w.h)
		h.ServeHTTP(w, r)
	})
	if allocs > 2 {
		t.Errorf("%.0f allocations, want at most 2 (the key and the field values)", allocs)
	}
}
