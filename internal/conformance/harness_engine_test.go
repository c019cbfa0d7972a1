package conformance

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/proxy"
	"github.com/larder-cache/larder/store/memory"
)

// response is what the client received for a step.
type response struct {
	status int
	header http.Header
	body   string
}

// get is Headers.get of the Fetch API: the field's lines joined, or "" and
// false.
func (r *response) get(name string) (string, bool) {
	vs := r.header.Values(name)
	if len(vs) == 0 {
		return "", false
	}
	return strings.Join(vs, ", "), true
}

// run runs one case with a memory store and returns its first failure, nil
// when it passes. In private mode the client's transport is a
// larder.Transport (a private cache) straight to the origin; otherwise
// requests go through cache.Middleware in front of the proxy.
func run(t *testing.T, c Case, private bool) *failure {
	return runWith(t, c, private, func(t *testing.T, clk *fakeclock.Clock) larder.Store {
		st, err := memory.New(memory.Options{MaxBytes: 64 << 20, Clock: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		return st
	})
}

// runWith runs one case with the store newStore returns, on the case's
// clock. With a store that is not in-process, the cache's writes go behind
// its responses: each step waits for them (and for background
// revalidations) before the next, as the memory store, written inline,
// needs not. Private mode takes an in-process store only.
func runWith(t *testing.T, c Case, private bool, newStore func(*testing.T, *fakeclock.Clock) larder.Store) (fail *failure) {
	clk := fakeclock.New(start)
	st := newStore(t, clk)
	nb, local := st.(larder.NonBlockingStore)
	local = local && nb.NonBlocking()

	uuid := uuidFor(c.ID)
	org := &origin{clk: clk, uuid: uuid, steps: c.Requests}
	originSrv := httptest.NewServer(org)
	t.Cleanup(originSrv.Close)
	target, err := url.Parse(originSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy of the larder command, but for its transport: the origin
	// closes each connection after its response.
	upstream, err := proxy.New(proxy.Config{Upstream: target, Transport: &http.Transport{DisableKeepAlives: true}})
	if err != nil {
		t.Fatal(err)
	}
	base := originSrv.URL
	tr := &http.Transport{DisableCompression: true, Proxy: nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	var flush func() // waits for the writes behind a step's response
	if private {
		if !local {
			t.Fatal("private mode takes an in-process store")
		}
		// As the proxy's transport, it does not reuse connections.
		tr.DisableKeepAlives = true
		ct := larder.NewTransport(tr, st, larder.WithClock(clk.Now))
		t.Cleanup(func() { _ = ct.Close() })
		rt = ct
	} else {
		opts := []larder.Option{larder.WithClock(clk.Now)}
		if !local {
			// The cases test what is stored, not how fast: a store slowed
			// down by a loaded machine (an fsync past the default 250 ms)
			// must not turn a store into a skipped write.
			opts = append(opts, larder.WithStoreTimeout(30*time.Second))
		}
		cache := larder.New(st, opts...)
		cacheSrv := httptest.NewServer(cache.Middleware(upstream))
		t.Cleanup(cacheSrv.Close)
		base = cacheSrv.URL
		if !local {
			flush = func() { _ = cache.Close() }
		}
	}
	client := &http.Client{Transport: rt, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(*failure)
			if !ok {
				panic(v)
			}
			fail = f
		}
	}()

	dump := os.Getenv("LARDER_CONFORMANCE_DUMP") == c.ID || os.Getenv("LARDER_CONFORMANCE_DUMP") == "all"
	var responses []*response
	for i, rq := range c.Requests {
		reqNum := i + 1
		u := base + "/test/" + uuid
		if rq.Filename != "" {
			u += "/" + rq.Filename
		}
		if rq.QueryArg != "" {
			u += "?" + rq.QueryArg
		}
		method := rq.Method
		if method == "" {
			method = http.MethodGet
		}
		var body io.Reader
		if rq.RequestBody != "" {
			body = strings.NewReader(rq.RequestBody)
		}
		req, err := http.NewRequest(method, u, body)
		if err != nil {
			t.Fatal(err)
		}
		// The suite's client (fetching.init): two dummy fields that keep
		// Fetch from adding its own, the test's fields, then Test-Name,
		// Test-ID and Req-Num. Fetch joins repeated fields into one line.
		fields := [][2]string{{"Pragma", "foo"}, {"Cache-Control", "nothing-to-see-here"}}
		for _, f := range rq.RequestHeaders {
			v := f.Value
			if f.IsDelta {
				v = strconv.Itoa(f.Delta)
				if rq.MagicIMS && strings.EqualFold(f.Name, "If-Modified-Since") && i > 0 {
					sn, _ := responses[i-1].get("Server-Now")
					v = fixup(f, sn, "", rq)
				}
			}
			fields = append(fields, [2]string{f.Name, v})
		}
		name := c.Name
		if name == "" {
			name = c.ID
		}
		fields = append(fields, [2]string{"Test-Name", name}, [2]string{"Test-ID", c.ID}, [2]string{"Req-Num", strconv.Itoa(reqNum)})
		for _, f := range fields {
			k := http.CanonicalHeaderKey(f[0])
			if old, ok := req.Header[k]; ok {
				sep := ", "
				if k == "Cookie" {
					sep = "; "
				}
				req.Header[k] = []string{old[0] + sep + f[1]}
			} else {
				req.Header[k] = []string{f[1]}
			}
		}
		// What Fetch adds by itself (undici).
		for _, f := range [][2]string{{"Accept", "*/*"}, {"Accept-Language", "*"}, {"Sec-Fetch-Mode", "cors"},
			{"User-Agent", "node"}, {"Accept-Encoding", "gzip, deflate"}} {
			if _, ok := req.Header[f[0]]; !ok {
				req.Header.Set(f[0], f[1])
			}
		}
		resp, err := client.Do(req)
		var res *response
		switch {
		case err != nil && private && rq.Disconnect:
			// The Transport passes the origin's disconnection on as the
			// base transport's error, as Fetch does with a network
			// error (the proxy answers 502 instead).
			res = &response{header: http.Header{}}
		case err != nil:
			check(true, false, "request %d failed: %v", reqNum, err)
		default:
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				check(true, false, "response %d body: %v", reqNum, err)
			}
			res = &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
		}
		if flush != nil {
			flush()
		}
		responses = append(responses, res)
		if dump {
			t.Logf("step %d: %s %s\n  request: %v\n  response: %d %v\n  body: %q\n  origin so far: %s",
				reqNum, method, req.URL.RequestURI(), req.Header, res.status, res.header, res.body, describeState(org.snapshot()))
		}
		checkResponse(c, rq, reqNum, res, uuid)
		if rq.PauseAfter {
			clk.Advance(pause)
		}
	}
	checkServerRequests(c, responses, org.snapshot())
	return nil
}

// uuidFor is the test's token, a UUID (36 characters, like the suite's, whose
// Content-Length tests depend on it) derived from the test id.
func uuidFor(id string) string {
	x := hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte(id)); return s[:16] }())
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
