// Package conformance ports the http-tests/cache-tests suite (cache-tests.fyi)
// to Go tests, run against Larder as the suite runs it: a shared cache,
// cache.Middleware in front of an httputil.ReverseProxy to an origin server.
//
// Each suite file (tests/<name>.mjs) has a file here, <name>_test.go, holding
// its cases as data; this file is the engine that runs them. A case is a list
// of steps. Each step is one client request through the cache, the answer the
// origin gives if the request reaches it, and what the client must see.
//
// The engine follows the suite's own client and server (test-engine/client/
// test.mjs and test-engine/server/handle-test.mjs), with real delays mapped
// onto a fake clock shared by the cache, its store and the origin:
//
//   - pause_after advances the clock by 3 s after the step; response_pause
//     advances it while the origin answers;
//   - integer date fields (Date: 0, Expires: 100000, ...) are HTTP-dates
//     relative to the origin's current time (Server-Now), and in expected
//     response fields relative to the Server-Now of the response checked;
//   - the origin picks its answer by the Req-Num request field, counts the
//     requests it sees (Server-Request-Count), answers 999 when a request that
//     should have been conditional is not, and closes the connection for
//     "disconnect";
//   - "cached" means the response's Server-Request-Count is below the step
//     number (or a 304 without it), "not_cached" that it equals it;
//     "etag_validated"/"lm_validated" that the origin saw If-None-Match /
//     If-Modified-Since for that step.
//
// The origin writes its responses itself, as the suite's Node server would
// (it sends Content-Type on a 304, a hand-set Content-Length with the whole
// body, an unknown Transfer-Encoding), which Go's server would not; the
// proxy's transport does not reuse its connections. The client sends what
// the suite's Fetch client sends: "Pragma: foo" and "Cache-Control:
// nothing-to-see-here" on every request, repeated fields joined in one line.
//
// Sources: the test files of github.com/http-tests/cache-tests (tests/*.mjs),
// with the shared templates (tests/lib/templates.mjs, whose makeTemplate
// concatenates arrays) and tests/lib/header-list.mjs of its current version;
// cc-request, conditional-lm, pragma and updateHead follow that version too.
// Tests that only apply to a browser or private cache (browser_only) are
// kept as NotApplicable cases and skipped.
//
// As in the suite, a failed assertion of a setup step (setup, setup_tests,
// and the default status, body and origin-field checks) is a setup failure,
// reported as such; the first failure ends the case.
//
// Cases marked knownFailure are skipped with their reason. Set
// LARDER_CONFORMANCE_ALL=1 to run them as real assertions, and
// LARDER_CONFORMANCE_REPORT=<file> to write one line per case (id, kind,
// result, message) as TSV. LARDER_CONFORMANCE_DUMP=<test id> (or "all") logs
// every step of a case: request, response and the requests the origin saw.
package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// Kind is a test's kind in the suite: "required" (the default: a MUST of the
// RFCs), "optional" (the suite's "optimal": a SHOULD/MAY a good cache does)
// and "check" (informational: no conformance requirement).
type Kind string

const (
	Required Kind = "required"
	Optional Kind = "optional"
	Check    Kind = "check"
)

// Case is one test of the suite.
type Case struct {
	ID        string
	Name      string
	Kind      Kind // "" means Required, as in the suite
	DependsOn []string
	Requests  []Req

	// NotApplicable skips a test that does not apply to a shared cache
	// (browser_only, private cache).
	NotApplicable string
	// KnownFailure marks a case that currently fails: it is skipped with this
	// reason unless LARDER_CONFORMANCE_ALL=1.
	KnownFailure string
}

// Hdr is a header field of a request or response config: [name, value] or
// [name, delta] (an integer: an HTTP-date delta seconds from the server's
// "now"), with NoCheck for the suite's third element false (the origin sends
// the field, but the client does not check it arrived unchanged).
type Hdr struct {
	Name    string
	Value   string
	Delta   int
	IsDelta bool
	NoCheck bool
}

// H is a literal field, D an HTTP-date delta seconds from the server's now,
// HX a literal field the client does not check.
func H(name, value string) Hdr     { return Hdr{Name: name, Value: value} }
func D(name string, delta int) Hdr { return Hdr{Name: name, Delta: delta, IsDelta: true} }
func HX(name, value string) Hdr    { return Hdr{Name: name, Value: value, NoCheck: true} }

// ExpHdr is an expected response field: present ("has"), equal to a value or
// a date delta ("eq"), an integer greater than N (">"), or equal to the field
// named by Value ("=").
type ExpHdr struct {
	Name    string
	Op      string
	Value   string
	Delta   int
	IsDelta bool
	N       int
}

func Has(name string) ExpHdr       { return ExpHdr{Name: name, Op: "has"} }
func Eq(name, value string) ExpHdr { return ExpHdr{Name: name, Op: "eq", Value: value} }
func EqD(name string, delta int) ExpHdr {
	return ExpHdr{Name: name, Op: "eq", Delta: delta, IsDelta: true}
}
func Gt(name string, n int) ExpHdr { return ExpHdr{Name: name, Op: ">", N: n} }

func Missing(name string) MissHdr       { return MissHdr{Name: name} }
func MissingVal(name, v string) MissHdr { return MissHdr{Name: name, Value: v, HasValue: true} }
func ReqEq(name, value string) ReqHdr   { return ReqHdr{Name: name, Value: value, HasValue: true} }

// Shorthands for the case tables.
func merge(a []Hdr, b ...Hdr) []Hdr       { return append(slices.Clip(a), b...) }
func statusNull() *int                    { n := -1; return &n }
func statusIs(n int) *int                 { return &n }
func bodyText(s string) *string           { return &s }
func names(n ...string) []string          { return n }
func deps(n ...string) []string           { return n }
func reqs(r ...Req) []Req                 { return r }
func hdrs(h ...Hdr) []Hdr                 { return h }
func exps(e ...ExpHdr) []ExpHdr           { return e }
func misses(m ...MissHdr) []MissHdr       { return m }
func reqExps(r ...ReqHdr) []ReqHdr        { return r }
func setupTests(s ...string) []string     { return s }
func rfc850(names ...string) []string     { return names }
func notApplicable(c Case, r string) Case { c.NotApplicable = r; return c }

// MissHdr is an expected-missing response field: absent, or (with a value)
// not containing that value.
type MissHdr struct {
	Name     string
	Value    string
	HasValue bool
}

// ReqHdr is an expected request field at the origin: present, or equal to
// Value.
type ReqHdr struct {
	Name     string
	Value    string
	HasValue bool
}

// Req is one step: a request config of the suite.
type Req struct {
	// Client side.
	Method         string // request_method; "" is GET
	Filename       string
	QueryArg       string
	RequestHeaders []Hdr
	RequestBody    string
	MagicIMS       bool     // magic_ims: If-Modified-Since deltas are from the previous response's Server-Now
	RFC850Date     []string // lowercased field names sent as RFC 850 dates
	PauseAfter     bool

	// Origin side.
	ResponseStatus  int // response_status; 0 is 200
	ResponseHeaders []Hdr
	ResponseBody    *string // response_body; nil is the test's uuid
	ResponsePause   int     // seconds
	Disconnect      bool
	MagicLocations  bool

	// Expectations.
	ExpectedType           string // "cached", "not_cached", "etag_validated", "lm_validated"
	ExpectedStatus         *int   // nil: absent; -1: null (not checked)
	ExpectedHeaders        []ExpHdr
	ExpectedMissing        []MissHdr
	ExpectedRequestHeaders []ReqHdr
	ExpectedRequestMissing []ReqHdr
	ExpectedMethod         string
	ExpectedText           *string // expected_response_text
	NullText               bool    // expected_response_text: null
	NoCheckBody            bool    // check_body: false
	Setup                  bool
	SetupTests             []string
}

// templateMerge merges b into a copy of a as the suite's makeTemplate does
// (mergeDeep): arrays are concatenated, other members replaced when set.
func templateMerge(a, b Req) Req {
	out := a
	out.RequestHeaders = append(slices.Clip(a.RequestHeaders), b.RequestHeaders...)
	out.ResponseHeaders = append(slices.Clip(a.ResponseHeaders), b.ResponseHeaders...)
	out.ExpectedHeaders = append(slices.Clip(a.ExpectedHeaders), b.ExpectedHeaders...)
	out.ExpectedMissing = append(slices.Clip(a.ExpectedMissing), b.ExpectedMissing...)
	out.ExpectedRequestHeaders = append(slices.Clip(a.ExpectedRequestHeaders), b.ExpectedRequestHeaders...)
	out.ExpectedRequestMissing = append(slices.Clip(a.ExpectedRequestMissing), b.ExpectedRequestMissing...)
	out.SetupTests = append(slices.Clip(a.SetupTests), b.SetupTests...)
	out.RFC850Date = append(slices.Clip(a.RFC850Date), b.RFC850Date...)
	if b.Method != "" {
		out.Method = b.Method
	}
	if b.Filename != "" {
		out.Filename = b.Filename
	}
	if b.QueryArg != "" {
		out.QueryArg = b.QueryArg
	}
	if b.RequestBody != "" {
		out.RequestBody = b.RequestBody
	}
	if b.ResponseStatus != 0 {
		out.ResponseStatus = b.ResponseStatus
	}
	if b.ResponseBody != nil {
		out.ResponseBody = b.ResponseBody
	}
	if b.ResponsePause != 0 {
		out.ResponsePause = b.ResponsePause
	}
	if b.ExpectedType != "" {
		out.ExpectedType = b.ExpectedType
	}
	if b.ExpectedStatus != nil {
		out.ExpectedStatus = b.ExpectedStatus
	}
	if b.ExpectedMethod != "" {
		out.ExpectedMethod = b.ExpectedMethod
	}
	if b.ExpectedText != nil {
		out.ExpectedText = b.ExpectedText
	}
	out.MagicIMS = out.MagicIMS || b.MagicIMS
	out.PauseAfter = out.PauseAfter || b.PauseAfter
	out.Disconnect = out.Disconnect || b.Disconnect
	out.MagicLocations = out.MagicLocations || b.MagicLocations
	out.NullText = out.NullText || b.NullText
	out.NoCheckBody = out.NoCheckBody || b.NoCheckBody
	out.Setup = out.Setup || b.Setup
	return out
}

// The shared templates of tests/lib/templates.mjs.

// fresh: Cache-Control: max-age=100000, Date: 0; setup; pause_after.
func fresh(r Req) Req {
	return templateMerge(Req{
		ResponseHeaders: hdrs(H("Cache-Control", "max-age=100000"), D("Date", 0)),
		Setup:           true, PauseAfter: true,
	}, r)
}

// stale: Expires: -5000, Last-Modified: -100000, Date: 0; setup; pause_after.
func stale(r Req) Req {
	return templateMerge(Req{
		ResponseHeaders: hdrs(D("Expires", -5000), D("Last-Modified", -100000), D("Date", 0)),
		Setup:           true, PauseAfter: true,
	}, r)
}

// becomeStale: Cache-Control: max-age=2, Date: 0, Template-A: 1; setup; pause_after.
func becomeStale(r Req) Req {
	return templateMerge(Req{
		ResponseHeaders: hdrs(H("Cache-Control", "max-age=2"), D("Date", 0), H("Template-A", "1")),
		Setup:           true, PauseAfter: true,
	}, r)
}

// httpContent is the suite's utils.httpContent: a 15-letter string derived
// from key, used for bodies, ETags and field values.
func httpContent(key string) string {
	seed := 0
	for _, c := range key {
		seed += int(c)
	}
	b := make([]byte, 15)
	for i := range b {
		b[i] = byte((i*seed)%26) + 'a'
	}
	return string(b)
}

// clock is the fake clock of the cache, its store and the origin.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pause is the suite client's pause after a step (clientUtils.pause: 3 s).
const pause = 3 * time.Second

// start is the clock's start: not on a whole second, as in a real run the
// Date field (whole seconds) trails the server's clock.
var start = time.Date(2026, 11, 28, 12, 0, 0, 400e6, time.UTC)

var dateFields = map[string]bool{"date": true, "expires": true, "last-modified": true, "if-modified-since": true, "if-unmodified-since": true}
var locationFields = map[string]bool{"location": true, "content-location": true}

// httpDate is the suite's httpDate: nowMS plus delta seconds, as an IMF-fixdate
// or an RFC 850 date.
func httpDate(nowMS int64, delta int, rfc850 bool) string {
	t := time.UnixMilli(nowMS + int64(delta)*1000).UTC()
	if rfc850 {
		return t.Format("Monday, 02-Jan-06 15:04:05 GMT")
	}
	return t.Format(http.TimeFormat)
}

// fixup resolves a config field as the suite's fixupHeader does.
func fixup(h Hdr, serverNow string, baseURL string, r Req) string {
	name := strings.ToLower(h.Name)
	v := h.Value
	if dateFields[name] && h.IsDelta {
		ms, err := strconv.ParseInt(serverNow, 10, 64)
		if err != nil {
			return "Invalid Date"
		}
		v = httpDate(ms, h.Delta, slices.Contains(r.RFC850Date, name))
	} else if h.IsDelta {
		v = strconv.Itoa(h.Delta)
	}
	if locationFields[name] && r.MagicLocations {
		if v != "" {
			v = baseURL + "/" + v
		} else {
			v = baseURL
		}
	}
	return v
}

// serverRecord is what the origin stashes about each request it answers.
type serverRecord struct {
	reqNum      int // the client's Req-Num; 0 when absent (NaN)
	method      string
	header      map[string]string // lowercased names, values joined as Node does
	respHeaders [][2]string       // the checked fields as sent
}

// origin is the suite's server for one test.
type origin struct {
	clk   *clock
	uuid  string
	steps []Req

	mu    sync.Mutex
	state []serverRecord
	sent  map[int]map[string]string // step index -> lowercased field -> first value sent
}

// nodeDiscard are the request fields of which Node keeps only the first line.
var nodeDiscard = map[string]bool{"age": true, "authorization": true, "content-length": true, "content-type": true,
	"etag": true, "expires": true, "from": true, "host": true, "if-modified-since": true, "if-unmodified-since": true,
	"last-modified": true, "location": true, "max-forwards": true, "proxy-authorization": true, "referer": true,
	"retry-after": true, "server": true, "user-agent": true}

func nodeHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		n := strings.ToLower(k)
		switch {
		case nodeDiscard[n]:
			out[n] = vs[0]
		case n == "cookie":
			out[n] = strings.Join(vs, "; ")
		default:
			out[n] = strings.Join(vs, ", ")
		}
	}
	return out
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	o.mu.Lock()
	srvReqNum := len(o.state) + 1
	cliReqNum, err := strconv.Atoi(r.Header.Get("Req-Num"))
	if err != nil {
		cliReqNum = 0
	}
	reqNum := cliReqNum
	if reqNum == 0 {
		reqNum = srvReqNum
	}
	if reqNum < 1 || reqNum > len(o.steps) {
		o.mu.Unlock()
		http.Error(w, fmt.Sprintf("config not found for request %d", srvReqNum), http.StatusConflict)
		return
	}
	cfg := o.steps[reqNum-1]
	o.mu.Unlock()

	if cfg.ResponsePause > 0 {
		o.clk.Advance(time.Duration(cfg.ResponsePause) * time.Second)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clk.Now().UnixMilli()

	status, reason := cfg.ResponseStatus, ""
	if status == 0 {
		status = http.StatusOK
	}
	if strings.HasSuffix(cfg.ExpectedType, "validated") && reqNum >= 2 {
		prevLM, prevETag := o.prevField(reqNum-2, "last-modified"), o.prevField(reqNum-2, "etag")
		matched := false
		if prevLM != "" && nodeHeaders(r.Header)["if-modified-since"] == prevLM {
			matched = true
		}
		if prevETag != "" && nodeHeaders(r.Header)["if-none-match"] == prevETag {
			matched = true
		}
		if matched {
			status = http.StatusNotModified
		} else {
			status, reason = 999, "304 Not Generated"
		}
	}

	var h fieldList
	h.set("Server-Base-Url", r.URL.RequestURI())
	h.set("Server-Request-Count", strconv.Itoa(srvReqNum))
	if cliReqNum == 0 {
		h.set("Client-Request-Count", "NaN")
	} else {
		h.set("Client-Request-Count", strconv.Itoa(cliReqNum))
	}
	nowStr := strconv.FormatInt(now, 10)
	h.set("Server-Now", nowStr)
	var saved [][2]string
	savedIdx := map[string]int{}
	sent := map[string]string{}
	for _, f := range cfg.ResponseHeaders {
		v := fixup(f, nowStr, r.URL.RequestURI(), cfg)
		h.add(f.Name, v)
		if _, ok := sent[strings.ToLower(f.Name)]; !ok {
			sent[strings.ToLower(f.Name)] = v
		}
		if !f.NoCheck {
			cur := strings.Join(h.values(f.Name), ", ")
			if i, ok := savedIdx[f.Name]; ok {
				saved[i][1] = cur
			} else {
				savedIdx[f.Name] = len(saved)
				saved = append(saved, [2]string{f.Name, cur})
			}
		}
	}
	if o.sent == nil {
		o.sent = map[int]map[string]string{}
	}
	o.sent[reqNum-1] = sent
	if !h.has("Content-Type") {
		h.set("Content-Type", "text/plain")
	}
	o.state = append(o.state, serverRecord{reqNum: cliReqNum, method: r.Method, header: nodeHeaders(r.Header), respHeaders: saved})
	nums := make([]string, len(o.state))
	for i, s := range o.state {
		if s.reqNum == 0 {
			nums[i] = "NaN"
		} else {
			nums[i] = strconv.Itoa(s.reqNum)
		}
	}
	h.set("Request-Numbers", strings.Join(nums, " "))

	conn, bw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	if cfg.Disconnect {
		return // close the connection without a response
	}
	body := o.uuid
	if cfg.ResponseBody != nil && *cfg.ResponseBody != "" {
		body = *cfg.ResponseBody
	}
	writeNodeResponse(bw, r.Method, status, reason, &h, body, now)
	_ = bw.Flush()
}

// fieldList is a response header in the order Node sends it: each name once,
// at its first setHeader, with all its lines.
type fieldList struct {
	names []string
	vals  map[string][]string // by lowercased name
}

func (l *fieldList) set(name, v string) {
	k := strings.ToLower(name)
	if l.vals == nil {
		l.vals = map[string][]string{}
	}
	if _, ok := l.vals[k]; !ok {
		l.names = append(l.names, name)
	}
	l.vals[k] = []string{v}
}

func (l *fieldList) add(name, v string) {
	k := strings.ToLower(name)
	if l.vals == nil {
		l.vals = map[string][]string{}
	}
	if _, ok := l.vals[k]; !ok {
		l.names = append(l.names, name)
	}
	l.vals[k] = append(l.vals[k], v)
}

func (l *fieldList) has(name string) bool        { _, ok := l.vals[strings.ToLower(name)]; return ok }
func (l *fieldList) values(name string) []string { return l.vals[strings.ToLower(name)] }

// writeNodeResponse writes a response as the suite's Node server does
// (response.end(body)), on a connection closed after it (the proxy's
// transport does not reuse connections): header fields as set, Date
// unless set, then Content-Length from the body unless the handler set
// Content-Length or Transfer-Encoding, and the whole body, which Node writes
// even past a Content-Length set by hand. Node also sends Content-Type on a
// 304 and a Transfer-Encoding it does not know, which Go's server would not.
func writeNodeResponse(w io.Writer, method string, status int, reason string, h *fieldList, body string, nowMS int64) {
	if reason == "" {
		reason = http.StatusText(status)
		if reason == "" {
			reason = "Unknown"
		}
	}
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, reason)
	for _, n := range h.names {
		for _, v := range h.vals[strings.ToLower(n)] {
			fmt.Fprintf(w, "%s: %s\r\n", n, v)
		}
	}
	if !h.has("Date") {
		// Node's sendDate, on the origin's (fake) clock.
		fmt.Fprintf(w, "Date: %s\r\n", httpDate(nowMS, 0, false))
	}
	hasBody := method != http.MethodHead && status != 204 && status != 304 && status >= 200
	te := strings.ToLower(strings.Join(h.values("Transfer-Encoding"), ", "))
	if hasBody && !h.has("Content-Length") && !h.has("Transfer-Encoding") {
		fmt.Fprintf(w, "Content-Length: %d\r\n", len(body))
	}
	fmt.Fprintf(w, "\r\n")
	if !hasBody {
		return
	}
	if strings.Contains(te, "chunked") {
		fmt.Fprintf(w, "%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		return
	}
	_, _ = io.WriteString(w, body)
}

// prevField is getHeader(previousConfig.response_headers, name): the value
// the origin sent for that step if it answered it, else the config's literal.
func (o *origin) prevField(step int, name string) string {
	if s, ok := o.sent[step]; ok {
		return s[name]
	}
	for _, f := range o.steps[step].ResponseHeaders {
		if strings.EqualFold(f.Name, name) && !f.IsDelta {
			return f.Value
		}
	}
	return ""
}

func (o *origin) snapshot() []serverRecord {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.state)
}

// newProxy is the reverse proxy of cmd/larder: it keeps the client's Host,
// sets X-Forwarded-*, adds Via both ways, and answers 502 with no-store
// when the upstream does not answer.
func newProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			appendVia(pr.Out.Header, pr.In.ProtoMajor, pr.In.ProtoMinor)
		},
		ModifyResponse: func(resp *http.Response) error {
			appendVia(resp.Header, resp.ProtoMajor, resp.ProtoMinor)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h := w.Header()
			clear(h)
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "502 bad gateway: the upstream did not answer\n")
		},
		ErrorLog: log.New(io.Discard, "", 0),
		// The origin closes each connection after its response.
		Transport: &http.Transport{DisableKeepAlives: true},
	}
}

func appendVia(h http.Header, major, minor int) {
	proto := strconv.Itoa(major)
	if major < 2 {
		proto += "." + strconv.Itoa(minor)
	}
	via := proto + " larder"
	if old := h["Via"]; len(old) > 0 {
		vs := slices.Clone(old)
		vs[len(vs)-1] += ", " + via
		h["Via"] = vs
		return
	}
	h["Via"] = []string{via}
}

// failure is the first failed assertion of a case.
type failure struct {
	setup bool
	msg   string
}

func (f *failure) Error() string {
	if f.setup {
		return "SETUP: " + f.msg
	}
	return f.msg
}

func check(isSetup, ok bool, format string, args ...any) {
	if !ok {
		panic(&failure{setup: isSetup, msg: fmt.Sprintf(format, args...)})
	}
}

func setupCheck(r Req, member string) bool {
	return r.Setup || slices.Contains(r.SetupTests, member)
}

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

// run runs one case and returns its first failure, nil when it passes.
func run(t *testing.T, c Case) (fail *failure) {
	clk := &clock{t: start}
	st, err := memory.New(memory.Options{MaxBytes: 64 << 20, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	uuid := uuidFor(c.ID)
	org := &origin{clk: clk, uuid: uuid, steps: c.Requests}
	originSrv := httptest.NewServer(org)
	t.Cleanup(originSrv.Close)
	target, _ := url.Parse(originSrv.URL)
	cache := larder.New(st, larder.WithClock(clk.Now))
	cacheSrv := httptest.NewServer(cache.Middleware(newProxy(target)))
	t.Cleanup(cacheSrv.Close)

	tr := &http.Transport{DisableCompression: true, Proxy: nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
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
		u := cacheSrv.URL + "/test/" + uuid
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
		if err != nil {
			check(true, false, "request %d failed: %v", reqNum, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			check(true, false, "response %d body: %v", reqNum, err)
		}
		res := &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
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

// describeState lists the requests the origin saw, for dumps.
func describeState(state []serverRecord) string {
	var b strings.Builder
	for i, s := range state {
		fmt.Fprintf(&b, "[#%d %s Req-Num=%d", i+1, s.method, s.reqNum)
		for _, k := range []string{"if-none-match", "if-modified-since", "range", "cache-control"} {
			if v, ok := s.header[k]; ok {
				fmt.Fprintf(&b, " %s=%q", k, v)
			}
		}
		b.WriteString("] ")
	}
	return b.String()
}

// checkResponse is the suite client's checkResponse.
func checkResponse(c Case, rq Req, reqNum int, res *response, uuid string) {
	resNum := -1
	if v, ok := res.get("Server-Request-Count"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			resNum = n
		}
	}
	if v, ok := res.get("Request-Numbers"); ok {
		seen := map[string]bool{}
		for _, n := range strings.Fields(v) {
			check(true, !seen[n], "retry: the origin saw request %s twice (Request-Numbers: %s)", n, v)
			seen[n] = true
		}
	}
	typeSetup := setupCheck(rq, "expected_type")
	switch rq.ExpectedType {
	case "cached":
		if !(res.status == 304 && resNum == -1) {
			check(typeSetup, resNum != -1 && resNum < reqNum, "Response %d does not come from cache (status %d, Server-Request-Count %d)", reqNum, res.status, resNum)
		}
	case "not_cached":
		check(typeSetup, resNum == reqNum, "Response %d comes from cache (status %d, Server-Request-Count %d)", reqNum, res.status, resNum)
	}

	switch {
	case rq.ExpectedStatus != nil:
		if *rq.ExpectedStatus != -1 {
			check(setupCheck(rq, "expected_status"), res.status == *rq.ExpectedStatus, "Response %d status is %d, not %d", reqNum, res.status, *rq.ExpectedStatus)
		}
	case rq.ResponseStatus != 0:
		check(true, res.status == rq.ResponseStatus, "Response %d status is %d, not %d", reqNum, res.status, rq.ResponseStatus)
	case res.status == 999:
		check(typeSetup, false, "Request %d should have been conditional, but it was not.", reqNum)
	default:
		check(true, res.status == 200, "Response %d status is %d, not 200", reqNum, res.status)
	}

	presentSetup := setupCheck(rq, "expected_response_headers")
	for _, e := range rq.ExpectedHeaders {
		v, ok := res.get(e.Name)
		switch e.Op {
		case "has":
			check(presentSetup, ok, "Response %d %s header not present.", reqNum, e.Name)
		case ">":
			check(presentSetup, ok, "Response %d %s header not present.", reqNum, e.Name)
			n, err := strconv.Atoi(leadingInt(v))
			check(presentSetup, err == nil && n > e.N, "Response %d header %s is %s, should be bigger than %d", reqNum, e.Name, v, e.N)
		case "=":
			check(presentSetup, ok, "Response %d %s header not present.", reqNum, e.Name)
			other, _ := res.get(e.Value)
			check(presentSetup, v == other, "Response %d header %s is %s, should match %s (%s)", reqNum, e.Name, v, e.Value, other)
		case "eq":
			sn, _ := res.get("Server-Now")
			want := fixup(Hdr{Name: e.Name, Value: e.Value, Delta: e.Delta, IsDelta: e.IsDelta}, sn, "", rq)
			check(presentSetup, ok && v == want, "Response %d header %s is %q, not %q", reqNum, e.Name, v, want)
		}
	}
	missSetup := setupCheck(rq, "expected_response_headers_missing")
	for _, m := range rq.ExpectedMissing {
		v, ok := res.get(m.Name)
		if !m.HasValue {
			check(missSetup, !ok, "Response %d includes unexpected header %s: %q", reqNum, m.Name, v)
		} else if ok {
			// The suite's check of this form reads response.headers[name],
			// always undefined on a Fetch Headers object, so it never fails;
			// this port checks what it means.
			check(missSetup, !strings.Contains(v, m.Value), "Response %d header %s still has value %q", reqNum, m.Name, v)
		}
	}

	// Body.
	noBodyStatus := res.status == 204 || res.status == 304
	switch {
	case rq.NoCheckBody:
	case rq.NullText:
	case rq.ExpectedText != nil:
		check(setupCheck(rq, "expected_response_text"), res.body == *rq.ExpectedText, "Response body is %q, not %q", res.body, *rq.ExpectedText)
	case rq.ResponseBody != nil:
		check(true, res.body == *rq.ResponseBody, "Response body is %q, not %q", res.body, *rq.ResponseBody)
	case !noBodyStatus && rq.Method != http.MethodHead:
		check(true, res.body == uuid, "Response %d body is %q, not %q", reqNum, res.body, uuid)
	}
}

func leadingInt(s string) string {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// skipResponseHeaders are not compared with what the origin sent.
var skipResponseHeaders = map[string]bool{"date": true}

// checkServerRequests is the suite client's checkServerRequests: it walks the
// steps against the requests the origin saw.
func checkServerRequests(c Case, responses []*response, state []serverRecord) {
	idx := 0
	for i, rq := range c.Requests {
		reqNum := i + 1
		res := responses[i]
		typeSetup := setupCheck(rq, "expected_type")
		var sr *serverRecord
		if idx < len(state) {
			sr = &state[idx]
		}
		var validating []string
		switch rq.ExpectedType {
		case "cached":
			continue // the origin does not see the request
		case "not_cached":
			check(typeSetup, sr != nil && sr.reqNum == reqNum, "Response %d comes from cache (origin request %d is %v)", reqNum, idx+1, reqNumOf(sr))
		case "etag_validated":
			validating = append(validating, "if-none-match")
		case "lm_validated":
			validating = append(validating, "if-modified-since")
		}
		idx++
		for _, v := range validating {
			check(typeSetup, sr != nil, "request %d wasn't sent to server", reqNum)
			_, ok := sr.header[v]
			check(typeSetup, ok, "request %d doesn't have %s header", reqNum, v)
		}
		if len(rq.ExpectedRequestHeaders) > 0 {
			s := setupCheck(rq, "expected_request_headers")
			check(s, sr != nil, "request %d wasn't sent to server", reqNum)
			for _, e := range rq.ExpectedRequestHeaders {
				v, ok := sr.header[strings.ToLower(e.Name)]
				if !e.HasValue {
					check(s, ok, "Request %d %s header not present.", reqNum, e.Name)
				} else {
					check(s, ok && v == e.Value, "Request %d header %s is %q, not %q", reqNum, e.Name, v, e.Value)
				}
			}
		}
		if len(rq.ExpectedRequestMissing) > 0 {
			s := setupCheck(rq, "expected_request_headers_missing")
			check(s, sr != nil, "request %d wasn't sent to server", reqNum)
			for _, e := range rq.ExpectedRequestMissing {
				v, ok := sr.header[strings.ToLower(e.Name)]
				if !e.HasValue {
					check(s, !ok, "Request %d %s header present.", reqNum, e.Name)
				} else {
					check(s, !ok || v != e.Value, "Request %d header %s is %q", reqNum, e.Name, v)
				}
			}
		}
		if sr != nil {
			for _, f := range sr.respHeaders {
				if skipResponseHeaders[strings.ToLower(f[0])] {
					continue
				}
				got, _ := res.get(f[0])
				check(true, got == f[1], "Response %d header %s is %q, not %q", reqNum, f[0], got, f[1])
			}
		}
		if rq.ExpectedMethod != "" {
			check(setupCheck(rq, "expected_method"), sr != nil && sr.method == rq.ExpectedMethod, "Request %d had method %v, not %s", reqNum, methodOf(sr), rq.ExpectedMethod)
		}
	}
}

func reqNumOf(sr *serverRecord) any {
	if sr == nil {
		return "none"
	}
	return sr.reqNum
}

func methodOf(sr *serverRecord) string {
	if sr == nil {
		return "none"
	}
	return sr.method
}

// markKnown sets KnownFailure on the cases of a suite file named in known
// (id -> reason). An id that names no case is a mistake in the marks.
func markKnown(cases []Case, known map[string]string) []Case {
	used := make(map[string]bool, len(known))
	for i := range cases {
		if r, ok := known[cases[i].ID]; ok {
			cases[i].KnownFailure = r
			used[cases[i].ID] = true
		}
	}
	for id := range known {
		if !used[id] {
			panic("knownFailure mark for unknown test id " + id)
		}
	}
	return cases
}

// suite is one file of the suite.
type suite struct {
	name  string
	cases []Case
}

// suites lists the ported files in the suite's order.
func suites() []suite {
	return []suite{
		{"age-parse", ageParseCases()},
		{"authorization", authorizationCases()},
		{"cc-freshness", ccFreshnessCases()},
		{"cc-parse", ccParseCases()},
		{"cc-request", ccRequestCases()},
		{"cc-response", ccResponseCases()},
		{"cdn-cache-control", cdnCacheControlCases()},
		{"conditional-etag", conditionalEtagCases()},
		{"conditional-lm", conditionalLMCases()},
		{"expires-freshness", expiresFreshnessCases()},
		{"expires-parse", expiresParseCases()},
		{"headers", headersCases()},
		{"heuristic-freshness", heuristicFreshnessCases()},
		{"invalidation", invalidationCases()},
		{"other", otherCases()},
		{"partial", partialCases()},
		{"pragma", pragmaCases()},
		{"stale", staleCases()},
		{"status", statusCases()},
		{"update304", update304Cases()},
		{"updateHead", updateHeadCases()},
		{"vary", varyCases()},
		{"vary-parse", varyParseCases()},
	}
}

type result struct {
	suite, id string
	kind      Kind
	outcome   string // pass, fail, setup-fail, known-failure, not-applicable
	msg       string
}

func TestCacheTests(t *testing.T) {
	runAll := os.Getenv("LARDER_CONFORMANCE_ALL") != ""
	var mu sync.Mutex
	var results []result
	seen := map[string]string{}
	t.Run("group", func(t *testing.T) {
		for _, s := range suites() {
			t.Run(s.name, func(t *testing.T) {
				for _, c := range s.cases {
					if prev, dup := seen[c.ID]; dup {
						t.Errorf("duplicate test id %s (also in %s)", c.ID, prev)
					}
					seen[c.ID] = s.name
					if c.Kind == "" {
						c.Kind = Required
					}
					t.Run(c.ID, func(t *testing.T) {
						t.Parallel()
						rec := func(outcome, msg string) {
							mu.Lock()
							results = append(results, result{s.name, c.ID, c.Kind, outcome, msg})
							mu.Unlock()
						}
						if c.NotApplicable != "" {
							rec("not-applicable", c.NotApplicable)
							t.Skip("not applicable: " + c.NotApplicable)
						}
						if c.KnownFailure != "" && !runAll {
							rec("known-failure", c.KnownFailure)
							t.Skipf("known failure (%s): %s", c.Kind, c.KnownFailure)
						}
						f := run(t, c)
						switch {
						case f == nil:
							rec("pass", "")
						case f.setup:
							rec("setup-fail", f.msg)
							t.Errorf("[%s] %s: setup failure: %s", c.Kind, c.ID, f.msg)
						default:
							rec("fail", f.msg)
							t.Errorf("[%s] %s: %s", c.Kind, c.ID, f.msg)
						}
					})
				}
			})
		}
	})
	sort.Slice(results, func(i, j int) bool {
		if results[i].suite != results[j].suite {
			return results[i].suite < results[j].suite
		}
		return results[i].id < results[j].id
	})
	counts := map[string]int{}
	for _, r := range results {
		counts[r.outcome]++
		counts[r.outcome+"/"+string(r.kind)]++
	}
	t.Logf("cache-tests port: %d cases: %d pass, %d fail, %d setup-fail, %d known-failure, %d not-applicable",
		len(results), counts["pass"], counts["fail"], counts["setup-fail"], counts["known-failure"], counts["not-applicable"])
	if path := os.Getenv("LARDER_CONFORMANCE_REPORT"); path != "" {
		var b bytes.Buffer
		for _, r := range results {
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", r.suite, r.id, r.kind, r.outcome, strings.ReplaceAll(r.msg, "\n", " "))
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
}
