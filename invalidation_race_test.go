package larder_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// versioned is an origin whose resource has a version that unsafe requests
// bump. A GET whose X-Hold is "1" waits, once in the handler, until release
// is closed, after telling entered; its answer is the version it read on
// entering. It answers If-None-Match "v<version>" with 304.
type versioned struct {
	version atomic.Int64
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int64
}

func newVersioned() *versioned {
	return &versioned{entered: make(chan struct{}), release: make(chan struct{})}
}

func (o *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		o.version.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v := o.version.Load()
	if r.Header.Get("X-Hold") == "1" {
		close(o.entered)
		<-o.release
	}
	tag := `"v` + strconv.FormatInt(v, 10) + `"`
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Vary", r.Header.Get("X-Test-Vary"))
	w.Header().Set("ETag", tag)
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write([]byte("v" + strconv.FormatInt(v, 10) + " " + r.Header.Get("Accept-Language")))
}

// raceStores are the stores the races are tried on: one with SetIf (the
// memory store), one without (the tests' map store).
func raceStores(t *testing.T, clk *clock) map[string]larder.Store {
	m, err := memory.New(memory.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return map[string]larder.Store{"conditional": m, "plain": newMapStore(clk)}
}

func get(h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestInvalidationRaces: a response fetched before an invalidation (or a
// purge) of its URL is never stored after it (RFC 9111 §4.4: the stored
// responses must not be used afterwards).
func TestInvalidationRaces(t *testing.T) {
	type scenario struct {
		name  string
		plain bool // also holds for a store without SetIf
		// prepare stores what the race starts from; held is the request
		// that reads the store, then waits in the handler.
		prepare func(h http.Handler, clk *clock)
		held    []string
		after   []string // the request whose answer must be the new version
		want    string
	}
	for _, sc := range []scenario{
		{name: "slow GET of a cold URL", plain: false,
			prepare: func(http.Handler, *clock) {},
			held:    []string{"X-Hold", "1"}, after: nil, want: "v1 "},
		{name: "304 under way", plain: true,
			prepare: func(h http.Handler, clk *clock) { get(h, "/r"); clk.Advance(2 * time.Minute) },
			held:    []string{"X-Hold", "1"}, after: nil, want: "v1 "},
		{name: "Vary fill of en brings back no de", plain: true,
			prepare: func(h http.Handler, clk *clock) {
				get(h, "/r", "X-Test-Vary", "Accept-Language", "Accept-Language", "de")
				clk.Advance(time.Second) // en's fill will extend the index
			},
			held:  []string{"X-Hold", "1", "X-Test-Vary", "Accept-Language", "Accept-Language", "en"},
			after: []string{"X-Test-Vary", "Accept-Language", "Accept-Language", "de"}, want: "v1 de"},
	} {
		for _, kind := range []string{"conditional", "plain"} {
			for _, how := range []string{"PUT", "purge"} {
				if kind == "plain" && !sc.plain {
					continue
				}
				t.Run(sc.name+"/"+kind+"/"+how, func(t *testing.T) {
					clk := newClock()
					o := newVersioned()
					c := larder.New(raceStores(t, clk)[kind], larder.WithClock(clk.Now))
					defer c.Close()
					h := c.Middleware(o)
					sc.prepare(h, clk)
					done := make(chan *httptest.ResponseRecorder)
					go func() { done <- get(h, "/r", sc.held...) }()
					<-o.entered // the held request read the store and is at the origin
					if how == "PUT" {
						r := httptest.NewRequest("PUT", "/r", nil)
						h.ServeHTTP(httptest.NewRecorder(), r)
					} else {
						o.version.Add(1)
						if err := c.Purge(context.Background(), "http://example.com/r"); err != nil {
							t.Fatal(err)
						}
					}
					close(o.release)
					if w := <-done; w.Code != 200 {
						t.Fatalf("held request: %d", w.Code)
					}
					after := sc.after
					if after == nil {
						after = []string{"X-Test-Vary", ""}
					}
					if w := get(h, "/r", after...); w.Body.String() != sc.want {
						t.Fatalf("after the %s: %q (Cache-Status %q), want %q", how, w.Body, w.Header().Get("Cache-Status"), sc.want)
					}
				})
			}
		}
	}
}
