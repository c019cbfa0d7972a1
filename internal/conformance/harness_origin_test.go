package conformance

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

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
