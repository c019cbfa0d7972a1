package larder_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// tagFixture is a fixture whose cache is on the memory store (a TagStore).
func tagFixture(t *testing.T, fn http.HandlerFunc, opts ...larder.Option) (*fixture, *memory.Store) {
	t.Helper()
	f := newFixture(t, fn, opts...)
	m, err := memory.New(memory.Options{Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	f.cache = larder.New(m, append([]larder.Option{larder.WithClock(f.clock.Now)}, opts...)...)
	f.h = f.cache.Middleware(f.orig)
	return f, m
}

// byPath answers each path with max-age=60, the body "<path> <calls>" and
// the tag fields the table gives for the path.
func byPath(tags map[string][]string) http.HandlerFunc {
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		n++
		for i := 0; i+1 < len(tags[r.URL.Path]); i += 2 {
			w.Header().Add(tags[r.URL.Path][i], tags[r.URL.Path][i+1])
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte(r.URL.Path + " " + strconv.Itoa(n)))
	}
}

func TestTagFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []larder.Option
		hdr    []string
		purge  []string
		gone   bool
		stored bool
		shown  bool // the client sees the tag fields
	}{
		{name: "Surrogate-Key", hdr: []string{"Surrogate-Key", "a  b c"}, purge: []string{"b"}, gone: true, stored: true},
		{name: "Surrogate-Key other tag", hdr: []string{"Surrogate-Key", "a b"}, purge: []string{"c"}, stored: true},
		{name: "Cache-Tag", hdr: []string{"Cache-Tag", "x, y z", "Cache-Tag", "w"}, purge: []string{"y z"}, gone: true, stored: true},
		{name: "Cache-Tag second line", hdr: []string{"Cache-Tag", "x", "Cache-Tag", "w"}, purge: []string{"w"}, gone: true, stored: true},
		{name: "xkey", hdr: []string{"xkey", "k1 k2,k3"}, purge: []string{"k3"}, gone: true, stored: true},
		{name: "several tags", hdr: []string{"xkey", "k1"}, purge: []string{"zz", "k1"}, gone: true, stored: true},
		{name: "kept fields", opts: []larder.Option{larder.WithKeepTagFields()}, hdr: []string{"Surrogate-Key", "a"}, purge: []string{"a"}, gone: true, stored: true, shown: true},
		{name: "too many tags", opts: []larder.Option{larder.WithTagLimits(2, 0)}, hdr: []string{"Surrogate-Key", "a b c"}},
		{name: "at the count limit", opts: []larder.Option{larder.WithTagLimits(2, 0)}, hdr: []string{"Surrogate-Key", "a b a"}, purge: []string{"b"}, gone: true, stored: true},
		{name: "tag too long", opts: []larder.Option{larder.WithTagLimits(0, 3)}, hdr: []string{"Surrogate-Key", "abcd"}},
		{name: "control character", hdr: []string{"Cache-Tag", "a\x01b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events []larder.Event
			opts := append([]larder.Option{larder.WithObserver(func(e larder.Event) { events = append(events, e) })}, tc.opts...)
			f, _ := tagFixture(t, byPath(map[string][]string{"/p": tc.hdr, "/q": {"Surrogate-Key", "other"}}), opts...)
			w := f.do("GET", "/p")
			f.do("GET", "/q")
			if got := tagFieldsIn(w.Header()); got != tc.shown {
				t.Errorf("miss: client got tag fields %v, want %v: %v", got, tc.shown, w.Header())
			}
			if events[0].Stored != tc.stored {
				t.Fatalf("stored %v (NotStored %q), want %v", events[0].Stored, events[0].NotStored, tc.stored)
			}
			if !tc.stored {
				if events[0].NotStored != "tags-over-limit" {
					t.Fatalf("NotStored %q", events[0].NotStored)
				}
				return
			}
			hit := f.do("GET", "/p")
			if !strings.Contains(hit.Header().Get("Cache-Status"), "hit") {
				t.Fatalf("not a hit: %q", hit.Header().Get("Cache-Status"))
			}
			if got := tagFieldsIn(hit.Header()); got != tc.shown {
				t.Fatalf("hit shows tag fields %v, want %v: %v", got, tc.shown, hit.Header())
			}
			if err := f.cache.PurgeTags(context.Background(), tc.purge...); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Millisecond)
			after := f.do("GET", "/p")
			if gone := !strings.Contains(after.Header().Get("Cache-Status"), "hit"); gone != tc.gone {
				t.Fatalf("after purging %q: gone %v, want %v (%q)", tc.purge, gone, tc.gone, after.Header().Get("Cache-Status"))
			}
			if q := f.do("GET", "/q"); !strings.Contains(q.Header().Get("Cache-Status"), "hit") {
				t.Fatalf("an entry without the tag was purged: %q", q.Header().Get("Cache-Status"))
			}
		})
	}
}

func tagFieldsIn(h http.Header) bool {
	return h["Surrogate-Key"] != nil || h["Cache-Tag"] != nil || h["Xkey"] != nil
}

// TestRouteTags: the route's Tags option tags responses from the request.
func TestRouteTags(t *testing.T) {
	f, _ := tagFixture(t, byPath(nil))
	mux := http.NewServeMux()
	mux.Handle("GET /products/{id}", f.cache.Route(larder.Tags(func(r *http.Request) []string {
		return []string{"product:" + r.PathValue("id")}
	}))(f.orig))
	f.h = mux
	f.do("GET", "/products/1")
	f.do("GET", "/products/2")
	if err := f.cache.PurgeTags(context.Background(), "product:1"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Millisecond)
	if cs := f.do("GET", "/products/1").Header().Get("Cache-Status"); strings.Contains(cs, "hit") {
		t.Fatalf("product 1 still a hit: %q", cs)
	}
	if cs := f.do("GET", "/products/2").Header().Get("Cache-Status"); !strings.Contains(cs, "hit") {
		t.Fatalf("product 2 not a hit: %q", cs)
	}
}

// TestPurgeTagVary: a tag on one variant purges every variant of its URL.
func TestPurgeTagVary(t *testing.T) {
	f, _ := tagFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		if r.Header.Get("Accept-Language") == "de" {
			w.Header().Set("Surrogate-Key", "german")
		}
		_, _ = w.Write([]byte(r.Header.Get("Accept-Language")))
	})
	f.do("GET", "/v", "Accept-Language", "de")
	f.do("GET", "/v", "Accept-Language", "en")
	if err := f.cache.PurgeTags(context.Background(), "german"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Millisecond)
	for _, lang := range []string{"de", "en"} {
		if cs := f.do("GET", "/v", "Accept-Language", lang).Header().Get("Cache-Status"); strings.Contains(cs, "hit") {
			t.Fatalf("%s still a hit: %q", lang, cs)
		}
	}
}

func TestPurgePrefix(t *testing.T) {
	paths := []string{"/docs/v2/", "/docs/v2/a", "/docs/v2/b/c?x=1", "/docs/v1/a", "/docs/v20", "/other", "/a/b/c/d/e"}
	for _, tc := range []struct {
		prefix string
		gone   []string
	}{
		{"http://example.com/docs/v2/", []string{"/docs/v2/", "/docs/v2/a", "/docs/v2/b/c?x=1"}},
		{"https://EXAMPLE.com:443/docs/v2/", []string{"/docs/v2/", "/docs/v2/a", "/docs/v2/b/c?x=1"}},
		{"http://example.com/docs/v2", []string{"/docs/v2/", "/docs/v2/a", "/docs/v2/b/c?x=1", "/docs/v20"}},
		{"http://example.com/docs/", []string{"/docs/v2/", "/docs/v2/a", "/docs/v2/b/c?x=1", "/docs/v1/a", "/docs/v20"}},
		{"http://example.com", paths},
		{"http://example.com/a/b/c/d/", []string{"/a/b/c/d/e"}}, // deeper than the index: filtered
		{"http://other.example/", nil},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			f, _ := tagFixture(t, byPath(nil), larder.WithPrefixPurge(2))
			for _, p := range paths {
				f.do("GET", p)
			}
			if err := f.cache.PurgePrefix(context.Background(), tc.prefix); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Millisecond)
			for _, p := range paths {
				cs := f.do("GET", p).Header().Get("Cache-Status")
				if gone := !strings.Contains(cs, "hit"); gone != slices.Contains(tc.gone, p) {
					t.Errorf("%s: gone %v (%q)", p, gone, cs)
				}
			}
		})
	}
}

func TestPurgeErrors(t *testing.T) {
	ctx := context.Background()
	plain := larder.New(newMapStore(newClock()))
	if err := plain.PurgeTags(ctx, "a"); !errors.Is(err, larder.ErrTagsUnsupported) {
		t.Fatalf("map store: %v", err)
	}
	f, _ := tagFixture(t, byPath(nil))
	if err := f.cache.PurgePrefix(ctx, "http://example.com/a/"); !errors.Is(err, larder.ErrPrefixPurgeOff) {
		t.Fatalf("no WithPrefixPurge: %v", err)
	}
	f, _ = tagFixture(t, byPath(nil), larder.WithPrefixPurge(1))
	for _, bad := range []string{"/relative/", "http://example.com/a/?q", "http://example.com/a/#f", "mailto:x@example.com"} {
		if err := f.cache.PurgePrefix(ctx, bad); !errors.Is(err, larder.ErrBadURL) {
			t.Errorf("prefix %q: %v", bad, err)
		}
	}
	if err := f.cache.PurgeBatch(ctx, larder.PurgeBatch{Tags: []string{"a"}, URLs: []string{"nope"}}); !errors.Is(err, larder.ErrBadURL) {
		t.Errorf("bad URL in a batch: %v", err)
	}
	if err := f.cache.PurgeTags(ctx); err != nil {
		t.Errorf("no tags: %v", err)
	}
}

// TestSoftPurge: a soft-purged response is stale, never fresh: with
// stale-while-revalidate it is served stale while one request revalidates
// it; without, the next request revalidates it (a 304 keeps the body).
func TestSoftPurge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cc     string
		vary   bool
		purge  func(c *larder.Cache) error
		status string // Cache-Status after the purge
	}{
		{name: "URL", cc: "max-age=600", purge: func(c *larder.Cache) error {
			return c.SoftPurge(context.Background(), "http://example.com/s")
		}, status: "fwd=stale"},
		{name: "URL with stale-while-revalidate", cc: "max-age=600, stale-while-revalidate=30", purge: func(c *larder.Cache) error {
			return c.SoftPurge(context.Background(), "http://example.com/s")
		}, status: "detail=stale-while-revalidate"},
		{name: "tag", cc: "max-age=600", purge: func(c *larder.Cache) error {
			return c.PurgeBatch(context.Background(), larder.PurgeBatch{Tags: []string{"t"}, Soft: true})
		}, status: "fwd=stale"},
		{name: "prefix", cc: "max-age=600", purge: func(c *larder.Cache) error {
			return c.PurgeBatch(context.Background(), larder.PurgeBatch{Prefixes: []string{"https://example.com/"}, Soft: true})
		}, status: "fwd=stale"},
		{name: "Vary", cc: "max-age=600", vary: true, purge: func(c *larder.Cache) error {
			return c.SoftPurge(context.Background(), "http://example.com/s")
		}, status: "fwd=stale"},
		{name: "Vary with stale-while-revalidate", cc: "max-age=600, stale-while-revalidate=30", vary: true, purge: func(c *larder.Cache) error {
			return c.SoftPurge(context.Background(), "http://example.com/s")
		}, status: "detail=stale-while-revalidate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Cache-Control", tc.cc, "Surrogate-Key", "t"}
			if tc.vary {
				hdr = append(hdr, "Vary", "Accept-Language")
			}
			f, _ := tagFixture(t, validating(`"e1"`, "body", hdr...), larder.WithPrefixPurge(0))
			f.do("GET", "/s", "Accept-Language", "de")
			f.clock.Advance(10 * time.Second)
			if cs := f.do("GET", "/s", "Accept-Language", "de").Header().Get("Cache-Status"); !strings.Contains(cs, "hit") {
				t.Fatalf("before: %q", cs)
			}
			if err := tc.purge(f.cache); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
			calls := f.orig.n()
			w := f.do("GET", "/s", "Accept-Language", "de")
			f.cache.Close() // the background revalidation, if any
			if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, tc.status) || w.Body.String() != "body" {
				t.Fatalf("after the soft purge: %q %q, want %q", cs, w.Body, tc.status)
			}
			if got := f.orig.n() - calls; got != 1 {
				t.Fatalf("%d origin calls for the revalidation, want 1", got)
			}
			// Revalidated (a 304): fresh again.
			if cs := f.do("GET", "/s", "Accept-Language", "de").Header().Get("Cache-Status"); !strings.Contains(cs, "hit") || strings.Contains(cs, "stale") {
				t.Fatalf("after the revalidation: %q", cs)
			}
		})
	}
}

// TestSoftPurgeNewerKept: a response fetched after a soft purge is not
// made stale by it.
func TestSoftPurgeNewerKept(t *testing.T) {
	f, _ := tagFixture(t, respond(200, "b", "Cache-Control", "max-age=60"))
	if err := f.cache.SoftPurge(context.Background(), "http://example.com/n"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Millisecond)
	f.do("GET", "/n")
	if cs := f.do("GET", "/n").Header().Get("Cache-Status"); !strings.Contains(cs, "hit") {
		t.Fatalf("%q", cs)
	}
}
