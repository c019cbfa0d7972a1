package larder

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/larder-cache/larder/internal/ranges"
)

// rangeOf returns the ranges a GET's Range field asks of a stored complete
// 200 response (RFC 9110 §14.2), or ok false when the full response is to be
// sent: no Range, an If-Range that does not match (§13.1.5), or a Range
// field to ignore.
func (x *exchange) rangeOf(e *Entry, m *entryMeta) (rs []ranges.Range, err error, ok bool) {
	v := x.rf.rangeV
	if len(v) != 1 || x.r.Method != http.MethodGet || e.Status != http.StatusOK {
		return nil, nil, false
	}
	if ir := x.rf.ifRange; len(ir) > 0 && !ranges.IfRange(ir[0], m.etag, m.lastModified) {
		return nil, nil, false
	}
	rs, err = ranges.Parse(v[0], int64(len(e.Body)))
	if err == ranges.ErrIgnore {
		return nil, nil, false
	}
	return rs, err, true
}

// writeRanges answers a range request from a stored response: 206 with one
// part or a multipart/byteranges body, or 416 (RFC 9110 §14, §15.3.7,
// §15.5.17). h already holds the stored header fields.
func (x *exchange) writeRanges(h http.Header, e *Entry, rs []ranges.Range, err error) {
	size := int64(len(e.Body))
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
		_, _ = x.w.Write(e.Body[r.Start : r.Start+r.Length])
		return
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	ctype := firstValue(e.Header, "Content-Type")
	for _, r := range rs {
		ph := textproto.MIMEHeader{"Content-Range": {r.ContentRange(size)}}
		if ctype != "" {
			ph["Content-Type"] = []string{ctype}
		}
		pw, _ := mw.CreatePart(ph)
		_, _ = pw.Write(e.Body[r.Start : r.Start+r.Length])
	}
	_ = mw.Close()
	h["Content-Type"] = []string{"multipart/byteranges; boundary=" + mw.Boundary()}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	x.w.WriteHeader(http.StatusPartialContent)
	_, _ = x.w.Write(buf.Bytes())
}
