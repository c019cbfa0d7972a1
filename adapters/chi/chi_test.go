package chilarder_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

type logged struct{ status, size int }

type app struct {
	t       *testing.T
	srv     *httptest.Server
	get     atomic.Int64
	mu      sync.Mutex
	log     []logged
	release chan struct{}
}

func (a *app) lastLog() logged {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log[len(a.log)-1]
}

// newApp: /users behind a route cache in a sub-router (the recommended
// pattern), /trap with the cache on the GET route alone.
func newApp(t *testing.T) *app {
	a := &app{t: t, release: make(chan struct{})}
	store, err := memory.New(memory.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cache := larder.New(store)
	getUser := func(w http.ResponseWriter, r *http.Request) {
		a.get.Add(1)
		if chi.URLParam(r, "id") == "missing" {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+chi.URLParam(r, "id")+`"}`)
	}
	update := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }

	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler { // what chi's Logger reads
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			a.mu.Lock()
			a.log = append(a.log, logged{ww.Status(), ww.BytesWritten()})
			a.mu.Unlock()
		})
	})
	r.Route("/users", func(r chi.Router) {
		r.Use(cache.Route(larder.Expiry(10 * time.Second)))
		r.Get("/{id}", getUser)
		r.Post("/{id}", update)
		r.Get("/{id}/feed", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 3; i++ {
				if i == 1 {
					select {
					case <-a.release:
					case <-time.After(2 * time.Second):
					}
				}
				_, _ = io.WriteString(w, "event\n")
				_ = http.NewResponseController(w).Flush()
			}
		})
	})
	r.With(cache.Route(larder.Expiry(10*time.Second))).Get("/trap/{id}", getUser)
	r.Post("/trap/{id}", update)
	a.srv = httptest.NewServer(r)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) do(method, path string) (int, http.Header, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, nil)
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRecommendedPattern(t *testing.T) {
	a := newApp(t)
	_, _, miss := a.do("GET", "/users/1")
	status, h, hit := a.do("GET", "/users/1")
	if status != 200 || hit != miss || hit != `{"id":"1"}` || !strings.HasPrefix(h.Get("Cache-Status"), "Larder; hit") {
		t.Fatalf("hit: %d %q %v", status, hit, h)
	}
	if l := a.lastLog(); l.status != 200 || l.size != len(hit) {
		t.Fatalf("logged %+v", l)
	}
	a.do("POST", "/users/1")
	a.do("GET", "/users/1")
	if a.get.Load() != 2 {
		t.Fatalf("handler called %d times, want 2 (the POST invalidates)", a.get.Load())
	}
	for i := 0; i < 2; i++ {
		if status, h, _ := a.do("GET", "/users/missing"); status != 404 || h.Get("Cache-Status") != "Larder; fwd=uri-miss" {
			t.Fatalf("404: %d %v", status, h)
		}
	}
}

// The trap the README warns about: the POST does not go through the cache.
func TestTrap(t *testing.T) {
	a := newApp(t)
	a.do("GET", "/trap/1")
	a.do("POST", "/trap/1")
	a.do("GET", "/trap/1")
	if a.get.Load() != 1 {
		t.Fatalf("handler called %d times: the trap is gone, update the README", a.get.Load())
	}
}

func TestStream(t *testing.T) {
	a := newApp(t)
	start := time.Now()
	resp, err := a.srv.Client().Get(a.srv.URL + "/users/1/feed")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "event\n" || time.Since(start) >= time.Second {
		t.Fatalf("first event %q %v after %v", line, err, time.Since(start))
	}
	close(a.release)
	if rest, _ := io.ReadAll(br); string(rest) != "event\nevent\n" {
		t.Fatalf("rest %q", rest)
	}
}
