package conformance

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

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
