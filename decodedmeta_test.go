package larder

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// encodingStore is a store over a network (not a NonBlockingStore): it
// keeps entries encoded and decodes them on every Get, as store/redis does.
type encodingStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *encodingStore) Get(_ context.Context, key string) (*Entry, error) {
	s.mu.Lock()
	b, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	e := new(Entry)
	if err := e.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *encodingStore) Set(_ context.Context, key string, e *Entry, _ time.Duration) error {
	b, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = b
	return nil
}

func (s *encodingStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// TestDecodedMetaReused: two reads of the same stored response from a
// store that decodes on every read get two entries with one derived state,
// computed once; a response stored in its place (a new Nonce) gets its own,
// and is served with its own fields.
func TestDecodedMetaReused(t *testing.T) {
	var version atomic.Int64
	version.Store(1)
	c := New(&encodingStore{m: map[string][]byte{}})
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			version.Add(1)
			return
		}
		v := version.Load()
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("X-Version", itoa(v))
		w.Header().Set("Etag", `"v`+itoa(v)+`"`)
		_, _ = w.Write([]byte("body " + itoa(v)))
	}))
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://m.test/a", nil))
		_ = c.Close() // the write behind the response
		return rec
	}
	get()
	ctx := context.Background()
	e1, err1 := c.get(ctx, "http://m.test/a")
	e2, err2 := c.get(ctx, "http://m.test/a")
	if err1 != nil || err2 != nil || e1 == nil || e2 == nil {
		t.Fatalf("get: %v, %v, %v, %v", e1, err1, e2, err2)
	}
	if e1 == e2 || e1.meta == nil || e1.meta != e2.meta {
		t.Fatalf("two reads: entries %p %p, states %p %p; want two entries, one state", e1, e2, e1.meta, e2.meta)
	}
	for i := range 3 {
		rec := get()
		if cs := rec.Header().Get("Cache-Status"); !strings.Contains(cs, "; hit") ||
			rec.Header().Get("X-Version") != "1" || rec.Header().Get("Etag") != `"v1"` || rec.Body.String() != "body 1" {
			t.Fatalf("hit %d: %q %v %q", i, rec.Header().Get("Cache-Status"), rec.Header(), rec.Body)
		}
	}
	// A POST invalidates; the next GET stores version 2 in its place.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "http://m.test/a", nil))
	_ = c.Close()
	get()
	for i := range 3 {
		rec := get()
		if cs := rec.Header().Get("Cache-Status"); !strings.Contains(cs, "; hit") ||
			rec.Header().Get("X-Version") != "2" || rec.Header().Get("Etag") != `"v2"` || rec.Body.String() != "body 2" {
			t.Fatalf("hit %d after the POST: %q %v %q", i, rec.Header().Get("Cache-Status"), rec.Header(), rec.Body)
		}
	}
	e3, err := c.get(ctx, "http://m.test/a")
	if err != nil || e3 == nil || e3.meta == nil || e3.meta == e1.meta {
		t.Fatalf("after the POST: %v, %v; want a state of its own", e3, err)
	}
}

// TestDecodedMetaIdentity: the memo gives its state only to an entry with
// the key, Nonce, status, response time and number of fields it was
// computed for; it keeps none for an entry without a Nonce or with fields
// larger than maxMemoFieldBytes.
func TestDecodedMetaIdentity(t *testing.T) {
	c := New(&encodingStore{m: map[string][]byte{}})
	base := func() *Entry {
		return &Entry{Kind: KindResponse, Status: 200, Nonce: "n1", ResponseTime: time.Unix(1e9, 0),
			Header: http.Header{"Cache-Control": {"max-age=60"}, "X-A": {"1"}}, Body: []byte("b")}
	}
	first := c.withMeta("k", base())
	if first.meta == nil {
		t.Fatal("no state")
	}
	if again := c.withMeta("k", base()); again.meta != first.meta {
		t.Error("the same entry read again: a new state")
	}
	for name, change := range map[string]func(*Entry){
		"nonce":         func(e *Entry) { e.Nonce = "n2" },
		"status":        func(e *Entry) { e.Status = 404 },
		"response time": func(e *Entry) { e.ResponseTime = e.ResponseTime.Add(time.Second) },
		"fields":        func(e *Entry) { e.Header["X-B"] = []string{"2"} },
	} {
		e := base()
		change(e)
		if got := c.withMeta("k", e); got.meta == nil || got.meta == first.meta {
			t.Errorf("another %s: given the state of the first", name)
		}
		c.withMeta("k", base()) // the slot back to the first entry's (or its equal)
	}
	if got := c.withMeta("other", base()); got.meta == nil || got.meta == first.meta {
		t.Error("another key: given the state of the first")
	}
	e := base()
	e.Nonce = ""
	if got := c.withMeta("k2", e); got != e || got.meta != nil {
		t.Error("an entry without a Nonce was given a state")
	}
	big := base()
	big.Header["X-Big"] = []string{strings.Repeat("x", maxMemoFieldBytes)}
	b1 := c.withMeta("k3", big)
	if b2 := c.withMeta("k3", big); b1.meta == nil || b2.meta == nil || b1.meta == b2.meta {
		t.Error("the state of an entry with large fields was kept")
	}
}
