package soak

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config sets the load of a Run.
type Config struct {
	// Clients is the number of concurrent clients; 0 means 16. Client i is
	// signed in by a uid cookie when i%3 == 0, a guest when i%3 == 1, and
	// signed in by a bearer token when i%3 == 2.
	Clients int
	// Duration bounds the load's time.
	Duration time.Duration
	// MaxRequests bounds each client's requests (purges included); 0 means
	// no bound besides Duration.
	MaxRequests int
	// Seed makes the clients' choices reproducible (the timing is not).
	Seed uint64
}

// Target is the cache under test.
type Target struct {
	// BaseURL is the cache's server, "http://127.0.0.1:port".
	BaseURL string
	// Origin is the origin behind the cache.
	Origin *Origin
	// Purge is the cache's Purge method.
	Purge func(ctx context.Context, rawURL string) error
}

// hotPaths is the number of paths most requests go to (every kind is among
// them), so that the cache has something to hit.
const hotPaths = 30

// Run drives the load on the target and checks every response. It returns
// once every client is done and their connections are closed.
func Run(stack string, cfg Config, tgt Target) *Report {
	if cfg.Clients <= 0 {
		cfg.Clients = 16
	}
	rep := newReport(stack, cfg.Clients)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		c := newClient(i, cfg, tgt, rep)
		wg.Go(func() {
			defer c.tr.CloseIdleConnections()
			for n := 0; (cfg.MaxRequests <= 0 || n < cfg.MaxRequests) && time.Now().Before(deadline); n++ {
				c.one()
			}
		})
	}
	wg.Wait()
	rep.Duration = time.Since(start)
	rep.OriginServed = tgt.Origin.Served.Load()
	return rep
}

type mode int

const (
	modeCookie mode = iota
	modeGuest
	modeBearer
)

func (m mode) String() string { return [...]string{"cookie", "guest", "bearer"}[m] }

type variantKey struct {
	idx     int
	variant string
}

// client is one visitor, with its own connections. Only its goroutine uses
// it.
type client struct {
	name  string
	mode  mode
	rng   *rand.Rand
	tr    *http.Transport
	hc    *http.Client
	tgt   Target
	specs []PathSpec
	rep   *Report

	floor map[int]int64         // path index: the version the client's own last write or purge made
	etags map[variantKey]string // the latest ETag seen, for conditional requests
}

func newClient(i int, cfg Config, tgt Target, rep *Report) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &client{
		name:  fmt.Sprintf("u%02d", i),
		mode:  mode(i % 3),
		rng:   rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
		tr:    tr,
		hc:    &http.Client{Transport: tr, Timeout: 20 * time.Second},
		tgt:   tgt,
		specs: tgt.Origin.Specs(),
		rep:   rep,
		floor: make(map[int]int64),
		etags: make(map[variantKey]string),
	}
}

// request is one request the client makes, as the checker needs it.
type request struct {
	method      string // or "PURGE" for Cache.Purge
	idx         int
	header      http.Header
	inm         string // If-None-Match sent, "" for none
	rangeStart  int    // -1 for no Range
	rangeEnd    int
	conditional bool
}

func (c *client) newRequest() *request {
	var idx int
	if c.rng.IntN(10) < 7 {
		idx = c.rng.IntN(min(hotPaths, len(c.specs)))
	} else {
		idx = c.rng.IntN(len(c.specs))
	}
	p := c.specs[idx]
	q := &request{idx: idx, header: make(http.Header), rangeStart: -1}
	h := q.header
	h.Set(ClientField, c.name)
	switch c.mode {
	case modeCookie:
		h.Set("Cookie", "uid="+c.name)
	case modeBearer:
		h.Set("Authorization", "Bearer "+c.name)
	}
	h.Set("Accept-Language", Langs[c.rng.IntN(len(Langs))])
	switch r := c.rng.IntN(1000); {
	case r < 10:
		q.method = http.MethodPost
	case r < 20:
		q.method = http.MethodPut
	case r < 30:
		q.method = http.MethodDelete
	case r < 40:
		q.method = "PURGE"
	case r < 120:
		q.method = http.MethodHead
	default:
		q.method = http.MethodGet
	}
	if q.method != http.MethodGet && q.method != http.MethodHead {
		return q
	}
	if tag, ok := c.etags[variantKey{idx, VariantOf(p.Kind, h)}]; ok && c.rng.IntN(100) < 20 {
		q.inm, q.conditional = tag, true
		h.Set("If-None-Match", tag)
	}
	if q.method == http.MethodGet && p.Kind.Shared() && c.rng.IntN(100) < 10 {
		q.rangeStart = c.rng.IntN(p.Size)
		q.rangeEnd = q.rangeStart + c.rng.IntN(p.Size-q.rangeStart)
		h.Set("Range", fmt.Sprintf("bytes=%d-%d", q.rangeStart, q.rangeEnd))
	}
	switch r := c.rng.IntN(100); {
	case r < 5:
		h.Set("Cache-Control", "max-stale=5")
	case r < 10:
		h.Set("Cache-Control", "max-stale")
	}
	return q
}

// one makes one request and checks its response.
func (c *client) one() {
	q := c.newRequest()
	p := c.specs[q.idx]
	if q.method == "PURGE" {
		c.rep.Purges.Add(1)
		v := c.tgt.Origin.Bump(q.idx)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.tgt.Purge(ctx, c.tgt.BaseURL+p.Path); err != nil {
			c.rep.failed(fmt.Sprintf("%s purge %s: %v", c.name, p.Path, err))
			return
		}
		c.floor[q.idx] = max(c.floor[q.idx], v)
		return
	}
	var body io.Reader
	if q.method == http.MethodPost || q.method == http.MethodPut {
		body = strings.NewReader("new version of " + p.Path)
	}
	req, err := http.NewRequest(q.method, c.tgt.BaseURL+p.Path, body)
	if err != nil {
		panic(err)
	}
	for k, v := range q.header {
		req.Header[k] = v
	}
	c.rep.Requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.rep.failed(fmt.Sprintf("%s: %v", c.describeRequest(q), err))
		return
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.rep.failed(fmt.Sprintf("%s -> %d, body after %d bytes: %v", c.describeRequest(q), resp.StatusCode, len(got), err))
		return
	}
	c.check(q, resp, got)
}

// check compares a response with what the origin would send this client.
func (c *client) check(q *request, resp *http.Response, body []byte) {
	p := c.specs[q.idx]
	h := resp.Header
	c.rep.status(resp.StatusCode)
	bad := func(kind, why string) {
		c.rep.mismatch(kind, why+"; "+c.describe(q, resp, body))
	}
	c.checkSetCookie(q, h, bad)
	c.checkXUser(q, h, bad)

	if q.method != http.MethodGet && q.method != http.MethodHead {
		c.rep.Writes.Add(1)
		if resp.StatusCode != http.StatusNoContent || len(body) > 0 {
			bad("status", "want 204 with no body")
			return
		}
		v, err := strconv.ParseInt(h.Get(VersionField), 10, 64)
		if err != nil {
			bad("status", "204 without "+VersionField)
			return
		}
		c.floor[q.idx] = max(c.floor[q.idx], v)
		return
	}

	c.rep.Reads.Add(1)
	if strings.Contains(strings.Join(h.Values("Cache-Status"), ", "), "; hit") {
		c.rep.Hits.Add(1)
	}
	variant := VariantOf(p.Kind, q.header)
	var version int64
	var known bool
	switch st := resp.StatusCode; {
	case st == http.StatusNotModified:
		version, known = c.check304(q, h, body, variant, bad)
	case q.method == http.MethodHead && st == http.StatusOK:
		if len(body) > 0 {
			bad("head-body", "HEAD response with a body")
		}
		if resp.ContentLength >= 0 && resp.ContentLength != int64(p.Size) {
			bad("head-length", fmt.Sprintf("Content-Length %d, want %d", resp.ContentLength, p.Size))
		}
		version, known = c.checkETag(q, h, variant, bad)
	case q.method == http.MethodGet && st == http.StatusOK:
		version, known = c.checkFull(q, h, body, variant, bad)
	case q.method == http.MethodGet && st == http.StatusPartialContent:
		version, known = c.check206(q, h, body, variant, bad)
	default:
		bad("status", "unexpected status")
	}
	if !known {
		return
	}
	if cur := c.tgt.Origin.Current(q.idx); version > cur {
		bad("future-version", fmt.Sprintf("version %d, origin at %d", version, cur))
	}
	if f := c.floor[q.idx]; version < f {
		c.rep.staleRead(fmt.Sprintf("version %d after own write made %d; %s", version, f, c.describe(q, resp, body)))
	}
	if tag := h.Get("Etag"); tag != "" && resp.StatusCode != http.StatusNotModified {
		c.etags[variantKey{q.idx, variant}] = tag
	}
}

type badFunc func(kind, why string)

// checkSetCookie: the origin sends Set-Cookie only on KindSession pages, to
// a visitor without a cookie, naming that visitor.
func (c *client) checkSetCookie(q *request, h http.Header, bad badFunc) {
	p := c.specs[q.idx]
	want := ""
	if p.Kind == KindSession && (q.method == http.MethodGet || q.method == http.MethodHead) {
		want, _, _ = strings.Cut(SessionCookie(q.header), ";")
	}
	for _, sc := range h.Values("Set-Cookie") {
		pair, _, _ := strings.Cut(sc, ";")
		switch {
		case pair == want:
		case pair == "sid="+c.name:
			bad("set-cookie-unexpected", fmt.Sprintf("Set-Cookie %q, want %q", sc, want))
		default:
			bad("set-cookie"+LeakSuffix, fmt.Sprintf("Set-Cookie %q, want %q", sc, want))
		}
	}
}

// checkXUser: X-User is only on KindXUser pages, naming the request's user.
func (c *client) checkXUser(q *request, h http.Header, bad badFunc) {
	p := c.specs[q.idx]
	me := Identity(q.header)
	for _, u := range h.Values(UserField) {
		switch {
		case u == me && u != "" && p.Kind == KindXUser && q.method != http.MethodPost &&
			q.method != http.MethodPut && q.method != http.MethodDelete:
		case u == me && u != "":
			bad("x-user-unexpected", fmt.Sprintf("%s %q", UserField, u))
		default:
			bad("x-user"+LeakSuffix, fmt.Sprintf("%s %q, client's identity %q", UserField, u, me))
		}
	}
}

// checkFull checks a 200 to a GET.
func (c *client) checkFull(q *request, h http.Header, body []byte, variant string, bad badFunc) (int64, bool) {
	p := c.specs[q.idx]
	b, err := ParseBody(body)
	if err != nil {
		bad("body-integrity", err.Error())
		return 0, false
	}
	if b.Path != p.Path {
		bad("body-path", "body of "+b.Path)
	}
	if b.Variant != variant {
		bad("body-variant", fmt.Sprintf("variant %s, want %s", b.Variant, variant))
	}
	if want := PersonalUser(p.Kind, q.header); b.User != want {
		switch {
		case b.User != NoOne && p.Kind == KindPrivate:
			bad("private-page"+LeakSuffix, fmt.Sprintf("private page of %s, want %s", b.User, want))
		case b.User != NoOne && p.Kind == KindCookie:
			bad("cookie-page"+LeakSuffix, fmt.Sprintf("cookie page of %s, want %s", b.User, want))
		case b.User != NoOne:
			bad("shared-page"+LeakSuffix, fmt.Sprintf("shared page naming %s", b.User))
		case p.Kind == KindCookie:
			// The guest page of a URL that does not vary on Cookie, served
			// stale on max-stale to a signed-in user: no one's data.
			c.rep.GuestPages.Add(1)
		default:
			bad("private-guest-page", fmt.Sprintf("guest page, want %s's", want))
		}
	}
	if tag, want := h.Get("Etag"), p.ETag(b.Version, b.Variant); tag != want {
		bad("etag-mismatch", fmt.Sprintf("ETag %q with the body of %q", tag, want))
	}
	return b.Version, true
}

// checkETag returns the version an ETag names and checks its variant.
func (c *client) checkETag(q *request, h http.Header, variant string, bad badFunc) (int64, bool) {
	p := c.specs[q.idx]
	tag := h.Get("Etag")
	if tag == "" {
		if p.Kind.Shared() {
			bad("etag-mismatch", "no ETag")
		}
		return 0, false
	}
	v, tv, ok := ParseETag(tag)
	if !ok || !p.Kind.Shared() || tv != variant {
		bad("etag-mismatch", fmt.Sprintf("ETag %q for variant %s", tag, variant))
		return 0, false
	}
	return v, true
}

// check304 checks a 304: only to a conditional request, without a body,
// and for the tag the client sent.
func (c *client) check304(q *request, h http.Header, body []byte, variant string, bad badFunc) (int64, bool) {
	if !q.conditional {
		bad("304-unexpected", "304 to an unconditional request")
	}
	if len(body) > 0 {
		bad("304-body", fmt.Sprintf("304 with %d body bytes", len(body)))
	}
	if tag := h.Get("Etag"); tag != "" {
		if tag != q.inm {
			bad("304-etag", fmt.Sprintf("304 with ETag %q to If-None-Match %q", tag, q.inm))
		}
		return c.checkETag(q, h, variant, bad)
	}
	v, _, ok := ParseETag(q.inm)
	return v, ok
}

// check206 checks that a 206 is a slice of the full body of the version its
// ETag names.
func (c *client) check206(q *request, h http.Header, body []byte, variant string, bad badFunc) (int64, bool) {
	p := c.specs[q.idx]
	if q.rangeStart < 0 {
		bad("206-unexpected", "206 to a request without Range")
		return 0, false
	}
	var start, end, size int
	if n, err := fmt.Sscanf(h.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &size); n != 3 || err != nil ||
		size != p.Size || start < 0 || start > end || end >= size || end-start+1 != len(body) {
		bad("206-header", fmt.Sprintf("Content-Range %q with %d bytes, size %d", h.Get("Content-Range"), len(body), p.Size))
		return 0, false
	}
	v, ok := c.checkETag(q, h, variant, bad)
	if !ok {
		return 0, false
	}
	full := MakeBody(p.Path, v, variant, NoOne, p.Size)
	if !bytes.Equal(full[start:end+1], body) {
		bad("206-slice", fmt.Sprintf("bytes %d-%d differ from version %d", start, end, v))
	}
	return v, true
}

func (c *client) describeRequest(q *request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%s) %s %s", c.name, c.mode, q.method, c.specs[q.idx].Path)
	fmt.Fprintf(&b, " [kind=%s", c.specs[q.idx].Kind)
	for _, k := range [...]string{"Accept-Language", "If-None-Match", "Range", "Cache-Control"} {
		if v := q.header.Get(k); v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	b.WriteString("]")
	return b.String()
}

func (c *client) describe(q *request, resp *http.Response, body []byte) string {
	first := body
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if len(first) > 100 {
		first = first[:100]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %d", c.describeRequest(q), resp.StatusCode)
	for _, k := range [...]string{"Cache-Status", "Age", "Etag", "Set-Cookie", UserField, "Cache-Control"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", k, strings.Join(v, ", "))
		}
	}
	fmt.Fprintf(&b, " body=%q (%d bytes)", first, len(body))
	return b.String()
}
