package conformance

import "slices"

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
