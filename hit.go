package larder

import (
	"net/http"
	"time"

	"github.com/larder-cache/larder/internal/conditional"
)

// writeStored serves a stored response: its header fields, Age (RFC 9111
// §5.1), Cache-Status, and its body unless the request is HEAD or the
// client's preconditions turn it into a 304 or 412 (RFC 9110 §13.2.2).
func (x *exchange) writeStored(e *Entry, m *entryMeta, age time.Duration, cacheStatus string) {
	r := x.r
	status := e.Status
	if x.rf.conditional {
		status = x.evaluateStored(e, m)
	}
	only304 := status == http.StatusNotModified && status != e.Status
	fields := status == e.Status || only304
	n := 0
	if fields {
		n = m.fieldCount(only304)
	}
	// The values go out in one new backing array: the stored entry's
	// slices, and the shared Age and Cache-Status values, must never reach
	// a handler that could write into them.
	h, vals := x.fieldRoom(n + x.addedFields(fields))
	if fields {
		vals = m.putFieldsIn(h, only304, vals)
	} else {
		vals = valuesRoom(vals, 0, 3)
	}
	if status != e.Status && status != http.StatusNotModified {
		vals = append(vals, "text/plain; charset=utf-8")
		h["Content-Type"] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	vals = append(vals, ageField(age))
	h["Age"] = vals[len(vals)-1 : len(vals) : len(vals)]
	if cacheStatus == "" {
		vals = append(vals, x.hitStatus(e, age))
	} else {
		vals = append(vals, cacheStatus)
	}
	h["Cache-Status"] = vals[len(vals)-1 : len(vals) : len(vals)]
	if status == e.Status && x.rf.rangeV != nil {
		if rs, err, ok := x.rangeOf(e, m); ok {
			x.writeRanges(h, e, rs, err)
			return
		}
	}
	x.ev.Status = status
	x.w.WriteHeader(status)
	switch {
	case r.Method == http.MethodHead:
	case status == e.Status:
		x.writeBody(e)
	case status == http.StatusPreconditionFailed:
		_, _ = x.w.Write([]byte("412 precondition failed\n"))
	}
}

// fieldRoom returns the header that n fields of a stored response go into,
// and an empty array for their values (valuesRoom makes one if it has not
// room enough): a Transport's response (hitResponse) has a header map made
// for n fields and an array of its own; the middleware, the writer's header
// and none.
func (x *exchange) fieldRoom(n int) (http.Header, []string) {
	if hr, ok := x.w.(*hitResponse); ok {
		return hr.room(n)
	}
	return x.w.Header(), nil
}

// addedFields is how many fields a stored response's header gets besides
// the stored ones (fields: the stored fields are sent; else its status
// is 412): Age and Cache-Status, Content-Type for a 412, those of a range
// (Content-Range, or a multipart Content-Type), and a Transport's
// X-From-Cache. A map made for exactly that many fields never grows, and
// up to eight are one group (larger hints make a table).
func (x *exchange) addedFields(fields bool) int {
	n := 2
	if !fields {
		n++
	}
	if x.rf.rangeV != nil {
		n++
	}
	if x.c.cfg.fromCacheMark && x.c.cfg.client {
		n++
	}
	return n
}

// fieldCount is how many header fields putFields sets: the stored ones, or
// those a 304 carries (only304).
func (m *entryMeta) fieldCount(only304 bool) int {
	switch {
	case only304:
		return int(m.n304)
	case m.refs == nil:
		return len(m.strs) / 2
	}
	return len(*m.refs)
}

// putFields sets in h the stored header fields, or those a 304 carries
// (only304), as views of one new array holding their values, which it
// returns with room for three more.
func (m *entryMeta) putFields(h http.Header, only304 bool) []string {
	return m.putFieldsIn(h, only304, nil)
}

// putFieldsIn is putFields with the values copied into vals's array when it
// has room for them and the two writeStored adds (Age, Cache-Status).
func (m *entryMeta) putFieldsIn(h http.Header, only304 bool, vals []string) []string {
	if m.refs == nil {
		nf := len(m.strs) / 2
		n := nf
		if only304 {
			n = int(m.n304)
		}
		vals = valuesRoom(vals, n, 2)
		copy(vals, m.strs[:n])
		for i, name := range m.strs[nf : nf+n] {
			h[name] = vals[i : i+1 : i+1]
		}
		return vals
	}
	refs, n := *m.refs, len(m.strs)
	if only304 {
		refs, n = refs[:m.n304], m.values304()
	}
	vals = valuesRoom(vals, n, 2)
	copy(vals, m.strs[:n])
	alias := only304 && m.flags&metaETagAlias != 0
	for _, f := range refs {
		name := f.name
		if alias && name == "ETag" {
			name = "Etag" // as copy304 sends it
		}
		h[name] = vals[f.off:f.end:f.end]
	}
	return vals
}

// valuesRoom returns room for n values and more after them: vals[:n] when
// vals has it, else a new array with room for three more.
func valuesRoom(vals []string, n, more int) []string {
	if cap(vals) >= n+more {
		return vals[:n]
	}
	return make([]string, n, n+3)
}

// evaluateStored returns the status the request's preconditions give against
// the stored response e: e.Status, 304 or 412. The common conditional
// request, a GET whose only precondition is one If-None-Match tag equal to
// the stored strong ETag, is answered without the general evaluation.
func (x *exchange) evaluateStored(e *Entry, m *entryMeta) int {
	if etag := m.etag(); e.Status == http.StatusOK && etag != "" && etag[0] == '"' && !x.rf.ifMatch && !x.rf.ifUnmodified {
		if inm := x.rf.ifNoneMatch; len(inm) == 1 && inm[0] == etag {
			return http.StatusNotModified // RFC 9110 §13.2.2 step 3, weak comparison holds
		}
	}
	switch conditional.EvaluateValidators(x.r.Method, x.r.Header, e.Status, m.validators()) {
	case conditional.NotModified:
		return http.StatusNotModified
	case conditional.PreconditionFailed:
		return http.StatusPreconditionFailed
	}
	return e.Status
}

// validators returns the validators of the stored response, read from m
// (its fields, not Entry.Header, which may be nil: Entry.Fields).
func (m *entryMeta) validators() conditional.Validators {
	v := conditional.Validators{ETag: m.etag(), LastModified: m.lookup("Last-Modified"), Date: m.lookup("Date")}
	return v
}

// evaluate returns the status the request's preconditions give against a
// representation with the given status and header: status itself, 304 or 412.
func evaluate(r *http.Request, status int, h http.Header) int {
	switch conditional.Evaluate(r.Method, r.Header, status, h) {
	case conditional.NotModified:
		return http.StatusNotModified
	case conditional.PreconditionFailed:
		return http.StatusPreconditionFailed
	}
	return status
}

// copy304 copies the fields of a 304 (RFC 9110 §15.4.5) from src to dst.
func copy304(dst, src http.Header) {
	conditional.NotModifiedHeader(dst, src)
	for _, k := range [...]string{"Age", "Cache-Status"} {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}
