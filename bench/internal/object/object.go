// Package object is the response that every benchmark origin serves, in
// process (bench's peers) and over loopback (bench/e2e/origin): a body with
// Cache-Control: max-age=3600, a strong ETag and Content-Length, answered
// with a 304 when If-None-Match matches. Its header values are built once,
// as a tuned handler's would be, so serving it allocates nothing.
package object

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// Object is one cacheable response.
type Object struct {
	Body      []byte
	ETag      string
	header    map[string][]string // the fields of a 200
	header304 map[string][]string // the fields of a 304
}

// New returns an object of n body bytes (n > 0). The first and last bytes
// differ from the rest, so that a check of length, first and last byte
// catches a truncated or shifted body. With hitHeader, it also carries the
// fields a larder hit adds (Age, Cache-Status, Via) and an explicit Date, as
// larder sends the stored one: a larder hit's 8 fields, written by a bare
// handler.
func New(n int, hitHeader bool) *Object {
	b := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	b[0], b[n-1] = '<', '>'
	o := &Object{Body: b, ETag: `"v1-` + strconv.Itoa(n) + `"`}
	o.header = map[string][]string{
		"Content-Type":   {"application/octet-stream"},
		"Cache-Control":  {"max-age=3600"},
		"Etag":           {o.ETag},
		"Content-Length": {strconv.Itoa(n)},
	}
	o.header304 = map[string][]string{
		"Cache-Control": {"max-age=3600"},
		"Etag":          {o.ETag},
	}
	if hitHeader {
		date := []string{time.Now().UTC().Format(http.TimeFormat)}
		for _, h := range []map[string][]string{o.header, o.header304} {
			h["Age"] = []string{"0"}
			h["Cache-Status"] = []string{"Larder; hit; ttl=3600"}
			h["Via"] = []string{"1.1 larder"}
			h["Date"] = date
		}
	}
	return o
}

// Serve writes the object: a 304 when the request's If-None-Match is its
// ETag, else a 200 with the body (the header alone for HEAD).
func (o *Object) Serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if inm := r.Header["If-None-Match"]; len(inm) == 1 && inm[0] == o.ETag {
		for k, v := range o.header304 {
			h[k] = v
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, v := range o.header {
		h[k] = v
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(o.Body)
	}
}
