package larder

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"

	"github.com/larder-cache/larder/internal/ranges"
)

// rangeOf returns the ranges a GET's Range field asks of a stored complete
// 200 response (RFC 9110 §14.2), coalesced and in ascending order
// (§15.3.7.2), or ok false when the full response is to be sent: no Range,
// an If-Range that does not match (§13.1.5), or a Range field to ignore.
func (x *exchange) rangeOf(e *Entry, m *entryMeta) (rs []ranges.Range, err error, ok bool) {
	v := x.rf.rangeV
	if len(v) != 1 || x.r.Method != http.MethodGet || e.Status != http.StatusOK {
		return nil, nil, false
	}
	if ir := x.rf.ifRange; len(ir) > 0 && !ranges.IfRange(ir[0], m.etag(), m.lastModified()) {
		return nil, nil, false
	}
	rs, err = ranges.Parse(v[0], x.bodyLen(e))
	if err == ranges.ErrIgnore {
		return nil, nil, false
	}
	return rs, err, true
}

// writeRanges answers a range request from a stored response: 206 with one
// part or a multipart/byteranges body, or 416 (RFC 9110 §14, §15.3.7,
// §15.5.17). h already holds the stored header fields. Ranges that coalesced
// into one are sent as a single part.
func (x *exchange) writeRanges(h http.Header, e *Entry, rs []ranges.Range, err error) {
	size := x.bodyLen(e)
	if err != nil {
		h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
		h["Content-Length"] = []string{"0"}
		delete(h, "Content-Type")
		x.ev.Status = http.StatusRequestedRangeNotSatisfiable
		x.w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	x.ev.Status = http.StatusPartialContent
	if len(rs) == 1 {
		r := rs[0]
		h["Content-Range"] = []string{r.ContentRange(size)}
		h["Content-Length"] = []string{strconv.FormatInt(r.Length, 10)}
		x.w.WriteHeader(http.StatusPartialContent)
		_ = x.writePart(e, r.Start, r.Length)
		return
	}
	x.writeMultipart(h, e, rs)
}

// writeMultipart sends rs of e's body as multipart/byteranges content
// (RFC 9110 §14.6, §15.3.7.2; RFC 2046 §5.1.1). Only the framing is built in
// memory: the exact Content-Length is known before the first byte is
// written, and each part's data is written straight from the stored body.
func (x *exchange) writeMultipart(h http.Header, e *Entry, rs []ranges.Range) {
	size := x.bodyLen(e)
	var ctype string
	if v := x.c.metaOf(e).lookup("Content-Type"); len(v) > 0 {
		ctype = v[0]
	}
	if strings.ContainsAny(ctype, "\r\n") {
		ctype = ""
	}
	boundary := rand.Text()
	// frame holds every part's delimiter and header section, then the close
	// delimiter; ends[i] is where part i's framing ends.
	frame := make([]byte, 0, len(rs)*(len(boundary)+len(ctype)+80)+len(boundary)+8)
	ends := make([]int, len(rs))
	n := int64(0)
	for i, r := range rs {
		if i > 0 {
			frame = append(frame, "\r\n"...)
		}
		frame = append(frame, "--"...)
		frame = append(frame, boundary...)
		frame = append(frame, "\r\n"...)
		if ctype != "" {
			frame = append(frame, "Content-Type: "...)
			frame = append(frame, ctype...)
			frame = append(frame, "\r\n"...)
		}
		frame = append(frame, "Content-Range: "...)
		frame = r.AppendContentRange(frame, size)
		frame = append(frame, "\r\n\r\n"...)
		ends[i] = len(frame)
		n += r.Length
	}
	frame = append(frame, "\r\n--"...)
	frame = append(frame, boundary...)
	frame = append(frame, "--\r\n"...)
	n += int64(len(frame))

	delete(h, "Content-Range") // §15.3.7.2: only in the parts
	h["Content-Type"] = []string{"multipart/byteranges; boundary=" + boundary}
	h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	x.w.WriteHeader(http.StatusPartialContent)
	start := 0
	for i, r := range rs {
		if _, err := x.w.Write(frame[start:ends[i]]); err != nil {
			return
		}
		if err := x.writePart(e, r.Start, r.Length); err != nil {
			return
		}
		start = ends[i]
	}
	_, _ = x.w.Write(frame[start:])
}
