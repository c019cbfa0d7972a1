package ginlarder_test

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

	"github.com/gin-gonic/gin"
	"github.com/larder-cache/larder"
	ginlarder "github.com/larder-cache/larder/adapters/gin"
	"github.com/larder-cache/larder/store/memory"
)

func init() { gin.SetMode(gin.TestMode) }

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

// logged is what a logger before the cache saw of one request.
type logged struct {
	path   string
	status int
	size   int
}

type app struct {
	t     *testing.T
	srv   *httptest.Server
	clock *clock
	cache *larder.Cache
	calls map[string]*atomic.Int64
	mu    sync.Mutex
	log   []logged

	release chan struct{} // the stream goes on once the client read its first event
}

func (a *app) count(name string) gin.HandlerFunc {
	n := new(atomic.Int64)
	a.calls[name] = n
	return func(*gin.Context) { n.Add(1) }
}

func (a *app) n(name string) int64 { return a.calls[name].Load() }

func (a *app) lastLog() logged {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log[len(a.log)-1]
}

// newApp is a gin engine with a logger, a whole-engine cache and the
// users routes behind a route cache of 10 s, served on loopback.
func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{t: t, clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, calls: map[string]*atomic.Int64{}, release: make(chan struct{})}
	store, err := memory.New(memory.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cache := larder.New(store, larder.WithClock(a.clock.Now))
	a.cache = cache
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		a.mu.Lock()
		a.log = append(a.log, logged{c.Request.URL.Path, c.Writer.Status(), c.Writer.Size()})
		a.mu.Unlock()
	})
	users := r.Group("/users", ginlarder.Route(cache, larder.Expiry(10*time.Second)))
	users.GET("/:id", a.count("get"), func(c *gin.Context) {
		if c.Param("id") == "missing" {
			c.JSON(http.StatusNotFound, gin.H{"error": "no such user"})
			return
		}
		if c.Param("id") == "broken" {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.Header("ETag", `"u-`+c.Param("id")+`"`)
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "q": c.Query("q")})
	})
	users.POST("/:id", a.count("post"), func(c *gin.Context) {
		c.String(http.StatusOK, "updated %s", c.Param("id"))
	})
	users.GET("/:id/feed", a.count("feed"), func(c *gin.Context) {
		i := 0
		c.Stream(func(w io.Writer) bool {
			if i == 1 {
				// Event 0 was flushed: wait for the client to read it.
				select {
				case <-a.release:
				case <-time.After(2 * time.Second):
				}
			}
			_, _ = io.WriteString(w, "event "+string(rune('0'+i))+"\n")
			i++
			return i < 3
		})
	})
	users.GET("/:id/error", a.count("error"), func(c *gin.Context) {
		_ = c.Error(io.ErrUnexpectedEOF) // recorded, not rendered
	})

	all := gin.New()
	all.Use(ginlarder.Middleware(cache))
	all.GET("/page", a.count("page"), func(c *gin.Context) {
		c.Header("Cache-Control", "max-age=60")
		c.String(http.StatusOK, "page")
	})
	all.GET("/slow", a.count("slow"), func(c *gin.Context) {
		time.Sleep(100 * time.Millisecond)
		c.Header("Cache-Control", "max-age=60")
		c.String(http.StatusOK, "slow")
	})
	swr := a.count("swr")
	all.GET("/swr", swr, func(c *gin.Context) {
		c.Header("Cache-Control", "max-age=10, stale-while-revalidate=60")
		c.String(http.StatusOK, "v%d", a.n("swr"))
	})
	mux := http.NewServeMux()
	mux.Handle("/users/", r)
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
	if miss.status != 200 || miss.body != `{"id":"1","q":"x"}` {
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
	// c.JSON sets Content-Type after the status: the stored response has it.
	if ct := hit.header.Get("Content-Type"); ct != "application/json; charset=utf-8" || ct != miss.header.Get("Content-Type") {
		t.Fatalf("Content-Type hit %q, miss %q", ct, miss.header.Get("Content-Type"))
	}
	// The logger before the cache sees the hit's status and size.
	if l := a.lastLog(); l.status != 200 || l.size != len(hit.body) {
		t.Fatalf("logged %+v", l)
	}
	// Path parameters key the cache (the URL) and reach the handler.
	if r := a.do("GET", "/users/2?q=x"); r.body != `{"id":"2","q":"x"}` || a.n("get") != 2 {
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
		if r.status != 404 || r.body != `{"error":"no such user"}` || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("404: %d %q %v", r.status, r.body, r.header)
		}
		if r.header.Get("Cache-Control") != "" || r.header.Get("Cache-Status") != "Larder; fwd=uri-miss" {
			t.Fatalf("404 cached: %v", r.header)
		}
		if l := a.lastLog(); l.status != 404 || l.size != len(r.body) {
			t.Fatalf("logged %+v", l)
		}
		if r := a.do("GET", "/users/broken"); r.status != 500 || r.header.Get("Cache-Status") != "Larder; fwd=uri-miss" {
			t.Fatalf("500: %d %v", r.status, r.header)
		}
	}
	if a.n("get") != 4 {
		t.Fatalf("handler called %d times, want 4", a.n("get"))
	}
	// gin's own 404 for an unknown route, behind the whole-engine cache.
	for i := 0; i < 2; i++ {
		r := a.do("GET", "/nowhere")
		if r.status != 404 || r.body != "404 page not found" {
			t.Fatalf("unknown route: %d %q", r.status, r.body)
		}
	}
	// An error recorded with c.Error and not rendered: gin's implicit 200,
	// not stored.
	for i := 0; i < 2; i++ {
		if r := a.do("GET", "/users/1/error"); r.status != 200 || r.body != "" ||
			r.header.Get("Cache-Status") != "Larder; fwd=uri-miss; detail=empty-handler" {
			t.Fatalf("c.Error: %d %q %v", r.status, r.body, r.header)
		}
	}
	if a.n("error") != 2 {
		t.Fatalf("error handler called %d times", a.n("error"))
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

func TestWholeEngine(t *testing.T) {
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

// The writer the handlers get is a gin.ResponseWriter with gin's
// semantics: the status is held until the first write.
func TestResponseWriterSemantics(t *testing.T) {
	cache := larder.New(nil)
	var status, size []int
	var written []bool
	r := gin.New()
	r.Use(ginlarder.Middleware(cache))
	r.GET("/", func(c *gin.Context) {
		c.Status(http.StatusCreated)
		c.Header("X-After-Status", "yes") // gin holds the status: still sent
		status, size, written = append(status, c.Writer.Status()), append(size, c.Writer.Size()), append(written, c.Writer.Written())
		_, _ = c.Writer.WriteString("abc")
		status, size, written = append(status, c.Writer.Status()), append(size, c.Writer.Size()), append(written, c.Writer.Written())
	})
	r.GET("/status-only", func(c *gin.Context) { c.Status(http.StatusAccepted) })
	r.GET("/hijack", func(c *gin.Context) {
		conn, brw, err := c.Writer.Hijack()
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = brw.Flush()
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-After-Status") != "yes" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
	}
	if status[0] != 201 || size[0] != -1 || written[0] || status[1] != 201 || size[1] != 3 || !written[1] {
		t.Fatalf("status %v size %v written %v", status, size, written)
	}
	resp, err = http.Get(srv.URL + "/status-only")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("status-only got %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hi" {
		t.Fatalf("hijack: %d %q", resp.StatusCode, b)
	}
}

// gin recycles its context: the cache revalidates on the request, never
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
