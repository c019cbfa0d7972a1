package echolarder_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/larder-cache/larder"
	echolarder "github.com/larder-cache/larder/adapters/echo"
	"github.com/larder-cache/larder/store/memory"
)

// clock is a settable clock for the cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logged is what echo's request logger saw of one request.
type logged struct {
	status int
	size   int64
	err    error
}

type app struct {
	t       *testing.T
	srv     *httptest.Server
	clock   *clock
	cache   *larder.Cache
	calls   map[string]*atomic.Int64
	mu      sync.Mutex
	log     []logged
	release chan struct{}
}

func (a *app) count(name string) func() {
	n := new(atomic.Int64)
	a.calls[name] = n
	return func() { n.Add(1) }
}

func (a *app) n(name string) int64 { return a.calls[name].Load() }

func (a *app) lastLog() logged {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log[len(a.log)-1]
}

// newApp is an echo app with echo's request logger, the users routes behind
// a route cache of 10 s, and a second app behind a whole-app cache, served
// on loopback.
func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{t: t, clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		calls: map[string]*atomic.Int64{}, release: make(chan struct{})}
	store, err := memory.New(memory.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cache := larder.New(store, larder.WithClock(a.clock.Now))
	a.cache = cache
	logger := middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogResponseSize: true, LogError: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			a.mu.Lock()
			a.log = append(a.log, logged{v.Status, v.ResponseSize, v.Error})
			a.mu.Unlock()
			return nil
		},
	})

	e := echo.New()
	e.Use(logger)
	users := e.Group("/users", echolarder.Route(cache, larder.Expiry(10*time.Second)))
	get, post, feed := a.count("get"), a.count("post"), a.count("feed")
	users.GET("/:id", func(c echo.Context) error {
		get()
		switch c.Param("id") {
		case "missing":
			return echo.NewHTTPError(http.StatusNotFound, "no such user")
		case "broken":
			return errors.New("boom")
		}
		c.Response().Header().Set("ETag", `"u-`+c.Param("id")+`"`)
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id"), "q": c.QueryParam("q")})
	})
	users.POST("/:id", func(c echo.Context) error {
		post()
		return c.String(http.StatusOK, "updated "+c.Param("id"))
	})
	users.GET("/:id/feed", func(c echo.Context) error {
		feed()
		c.Response().Header().Set("Content-Type", "text/event-stream")
		c.Response().WriteHeader(http.StatusOK)
		for i := 0; i < 3; i++ {
			if i == 1 {
				select { // event 0 was flushed: wait for the client to read it
				case <-a.release:
				case <-time.After(2 * time.Second):
				}
			}
			_, _ = io.WriteString(c.Response(), "event "+string(rune('0'+i))+"\n")
			c.Response().Flush()
		}
		return nil
	})

	all := echo.New()
	all.Use(logger)
	all.Use(echolarder.Middleware(cache))
	page := a.count("page")
	all.GET("/page", func(c echo.Context) error {
		page()
		c.Response().Header().Set("Cache-Control", "max-age=60")
		return c.String(http.StatusOK, "page")
	})

	slow := a.count("slow")
	all.GET("/slow", func(c echo.Context) error {
		slow()
		time.Sleep(100 * time.Millisecond)
		c.Response().Header().Set("Cache-Control", "max-age=60")
		return c.String(http.StatusOK, "slow")
	})
	swr := a.count("swr")
	all.GET("/swr", func(c echo.Context) error {
		swr()
		c.Response().Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		return c.String(http.StatusOK, fmt.Sprintf("v%d", a.n("swr")))
	})
	mux := http.NewServeMux()
	mux.Handle("/users/", e)
	mux.Handle("/", all)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

type response struct {
	status int
	header http.Header
	body   string
}

func (a *app) do(method, path string, hdr ...string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestRouteCached(t *testing.T) {
	a := newApp(t)
	miss := a.do("GET", "/users/1?q=x")
	if miss.status != 200 || miss.body != "{\"id\":\"1\",\"q\":\"x\"}\n" {
		t.Fatalf("miss: %d %q", miss.status, miss.body)
	}
	if miss.header.Get("Cache-Control") != "max-age=10" || !strings.Contains(miss.header.Get("Cache-Status"), "stored") {
		t.Fatalf("miss header %v", miss.header)
	}
	a.clock.Advance(3 * time.Second)
	hit := a.do("GET", "/users/1?q=x")
	if a.n("get") != 1 {
		t.Fatalf("handler called %d times", a.n("get"))
	}
	if hit.body != miss.body || hit.header.Get("Age") != "3" || hit.header.Get("Cache-Status") != "Larder; hit; ttl=7" {
		t.Fatalf("hit: %q %v", hit.body, hit.header)
	}
	if ct := hit.header.Get("Content-Type"); ct != echo.MIMEApplicationJSON || ct != miss.header.Get("Content-Type") {
		t.Fatalf("Content-Type hit %q, miss %q", ct, miss.header.Get("Content-Type"))
	}
	if l := a.lastLog(); l.status != 200 || l.size != int64(len(hit.body)) || l.err != nil {
		t.Fatalf("logged %+v", l)
	}
	if r := a.do("GET", "/users/2?q=x"); r.body != "{\"id\":\"2\",\"q\":\"x\"}\n" || a.n("get") != 2 {
		t.Fatalf("other id: %q, %d calls", r.body, a.n("get"))
	}
	a.clock.Advance(8 * time.Second)
	a.do("GET", "/users/1?q=x")
	if a.n("get") != 3 {
		t.Fatal("not fetched again after 10 s")
	}
}

func TestNotModifiedFromCache(t *testing.T) {
	a := newApp(t)
	a.do("GET", "/users/1")
	r := a.do("GET", "/users/1", "If-None-Match", `"u-1"`)
	if r.status != http.StatusNotModified || r.body != "" || a.n("get") != 1 {
		t.Fatalf("got %d %q, %d calls", r.status, r.body, a.n("get"))
	}
	if l := a.lastLog(); l.status != 304 {
		t.Fatalf("logged %+v", l)
	}
}

func TestPostInvalidates(t *testing.T) {
	a := newApp(t)
	a.do("GET", "/users/1")
	if r := a.do("POST", "/users/1"); r.status != 200 || r.body != "updated 1" {
		t.Fatalf("POST: %d %q", r.status, r.body)
	}
	a.do("GET", "/users/1")
	if a.n("get") != 2 || a.n("post") != 1 {
		t.Fatalf("get %d, post %d", a.n("get"), a.n("post"))
	}
}

func TestErrorsNotStored(t *testing.T) {
	a := newApp(t)
	for i := 0; i < 2; i++ {
		r := a.do("GET", "/users/missing")
		if r.status != 404 || r.body != "{\"message\":\"no such user\"}\n" || r.header.Get("Content-Type") != echo.MIMEApplicationJSON {
			t.Fatalf("404: %d %q %v", r.status, r.body, r.header)
		}
		if r.header.Get("Cache-Control") != "" || r.header.Get("Cache-Status") != "Larder; fwd=uri-miss" {
			t.Fatalf("404 cached: %v", r.header)
		}
		// The logger sees the status, the size and the error.
		if l := a.lastLog(); l.status != 404 || l.size != int64(len(r.body)) || l.err == nil {
			t.Fatalf("logged %+v", l)
		}
		r = a.do("GET", "/users/broken")
		if r.status != 500 || r.body != "{\"message\":\"Internal Server Error\"}\n" || r.header.Get("Cache-Status") != "Larder; fwd=uri-miss" {
			t.Fatalf("500: %d %q %v", r.status, r.body, r.header)
		}
	}
	if a.n("get") != 4 {
		t.Fatalf("handler called %d times, want 4", a.n("get"))
	}
	// echo's own 404 for an unknown route, behind the whole-app cache.
	for i := 0; i < 2; i++ {
		r := a.do("GET", "/nowhere")
		if r.status != 404 || r.body != "{\"message\":\"Not Found\"}\n" || strings.Contains(r.header.Get("Cache-Status"), "hit") {
			t.Fatalf("unknown route: %d %q %v", r.status, r.body, r.header)
		}
	}
	// A HEAD gets the error status without a body.
	if r := a.do("HEAD", "/users/missing"); r.status != 404 {
		t.Fatalf("HEAD: %d", r.status)
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
	line, err := br.ReadString('\n')
	if err != nil || line != "event 0\n" {
		t.Fatalf("first event %q %v", line, err)
	}
	if time.Since(start) >= time.Second {
		t.Fatal("the first event waited for the stream's end: not flushed")
	}
	close(a.release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "event 1\nevent 2\n" {
		t.Fatalf("rest %q", rest)
	}
}

func TestWholeApp(t *testing.T) {
	a := newApp(t)
	for i := 0; i < 3; i++ {
		if r := a.do("GET", "/page"); r.status != 200 || r.body != "page" {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	}
	if a.n("page") != 1 {
		t.Fatalf("handler called %d times", a.n("page"))
	}
}

// The setup, echo.WrapMiddleware around the plain middleware: echo
// renders a returned error after the cache is done. The cache no longer
// answers 200 itself nor stores anything: echo's 404 reaches the client.
// (The adapter is still the way: with it the cache sees the error page.)
func TestWrapMiddlewareErrors(t *testing.T) {
	cache := larder.New(nil)
	e := echo.New()
	var calls atomic.Int64
	e.GET("/users/:id", func(c echo.Context) error {
		calls.Add(1)
		return echo.NewHTTPError(http.StatusNotFound, "no such user")
	}, echo.WrapMiddleware(cache.Route(larder.Expiry(10*time.Second))))
	srv := httptest.NewServer(e)
	defer srv.Close()
	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.URL + "/users/1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 404 || string(b) != "{\"message\":\"no such user\"}\n" || resp.Header.Get("Cache-Control") != "" {
			t.Fatalf("got %d %q %v", resp.StatusCode, b, resp.Header)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("handler called %d times", calls.Load())
	}
}

// echo recycles its context: the cache revalidates on the request, never
// in the background, even within stale-while-revalidate.
func TestStaleWhileRevalidateOnRequest(t *testing.T) {
	a := newApp(t)
	a.do("GET", "/swr")
	a.clock.Advance(20 * time.Second)
	if r := a.do("GET", "/swr"); r.body != "v2" {
		t.Fatalf("got %q", r.body)
	}
	_ = a.cache.Close()
	if a.n("swr") != 2 {
		t.Fatalf("handler called %d times", a.n("swr"))
	}
}

// Concurrent misses of one URL make one call of the handler (request
// coalescing); the others are served its response, each on its own
// framework context.
func TestConcurrentMisses(t *testing.T) {
	a := newApp(t)
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(a.srv.URL + "/slow")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies[i] = string(b)
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		if b != "slow" {
			t.Fatalf("request %d got %q", i, b)
		}
	}
	if a.n("slow") != 1 {
		t.Fatalf("handler called %d times", a.n("slow"))
	}
}
