package larder

import (
	"errors"
	"io"
	"net/http"
	"strconv"
)

// hitResponse is the ResponseWriter of a request the cache answers by
// itself (a hit, a 304 or 412 to the caller's preconditions, a 504 for
// only-if-cached), and the http.Response built from what it was given: one
// allocation for both, no goroutine, and a body reading the stored bytes
// in place.
//
// It keeps the slices given to Write instead of copying them: on this path
// the engine writes only stored bodies (immutable once stored, see Store)
// and slices it allocated for the one response.
//
// Its header's values are the caller's own, never the stored ones: a
// stored response's go into vals (room), in the same allocation, when they
// fit. The header map and the status are the http.Response's.
type hitResponse struct {
	resp http.Response
	body bytesBody
	vals [hitValues]string
}

// hitValues is the room in a hitResponse for the values of its header
// fields: those of a response with five stored fields (what Go's server
// sends with a cacheable response: Date, Content-Type, Content-Length,
// with Cache-Control and ETag) and the Age and Cache-Status the cache
// adds, in the 288-byte size class the response is allocated in. A longer
// header's values get an array of their own.
const hitValues = 7

func (hr *hitResponse) Header() http.Header {
	if hr.resp.Header == nil {
		hr.resp.Header = make(http.Header, 8)
	}
	return hr.resp.Header
}

// room returns the response's header and, when the header is made here
// (for n fields, once: a map sized for them), the array for the values of
// stored fields, empty; else nil.
func (hr *hitResponse) room(n int) (http.Header, []string) {
	if hr.resp.Header != nil {
		return hr.resp.Header, nil
	}
	hr.resp.Header = make(http.Header, n)
	return hr.resp.Header, hr.vals[:0]
}

func (hr *hitResponse) WriteHeader(code int) {
	if hr.resp.StatusCode == 0 {
		hr.resp.StatusCode = code
	}
}

func (hr *hitResponse) Write(p []byte) (int, error) {
	if hr.resp.StatusCode == 0 {
		hr.resp.StatusCode = http.StatusOK
	}
	if hr.body.b == nil {
		hr.body.b = p
	} else {
		b := hr.body.b
		hr.body.b = append(b[:len(b):len(b)], p...)
	}
	return len(p), nil
}

// ReadFrom takes a body streamed from the store (a BodyStreamer's body, which
// the engine copies with io.Copy): read into a buffer of the response's own,
// as io.Copy reuses its buffer between Writes, which Write would keep.
func (hr *hitResponse) ReadFrom(src io.Reader) (int64, error) {
	if hr.resp.StatusCode == 0 {
		hr.resp.StatusCode = http.StatusOK
	}
	b := hr.body.b
	b = b[:len(b):len(b)] // a slice Write kept is never written to
	start := len(b)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := src.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			hr.body.b = b
			return int64(len(b) - start), nil
		}
		if err != nil {
			hr.body.b = b
			return int64(len(b) - start), err
		}
	}
}

// response returns the http.Response to req.
func (hr *hitResponse) response(req *http.Request, mark bool) *http.Response {
	h := hr.Header()
	if mark {
		h["X-From-Cache"] = []string{"1"}
	}
	r := &hr.resp
	r.Status = statusLine(r.StatusCode)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Request = req
	if req.Method == http.MethodHead {
		r.ContentLength = headerLength(h)
		r.Body = http.NoBody
		return r
	}
	r.ContentLength = int64(len(hr.body.b))
	if len(hr.body.b) == 0 {
		r.Body = http.NoBody
		return r
	}
	r.Body = &hr.body
	return r
}

// headerLength is the length a Content-Length field gives, or -1.
func headerLength(h http.Header) int64 {
	if n, ok := contentLength(h); ok {
		return n
	}
	return -1
}

// errBodyClosed is what reading a response body after closing it returns.
var errBodyClosed = errors.New("larder: read on closed response body")

// bytesBody is a response body reading a byte slice in place.
type bytesBody struct {
	b   []byte
	off int // the next byte to read; closedBody once closed
}

// closedBody is the offset of a closed bytesBody.
const closedBody = -1

func (b *bytesBody) Read(p []byte) (int, error) {
	if b.off == closedBody {
		return 0, errBodyClosed
	}
	if b.off >= len(b.b) {
		return 0, io.EOF
	}
	n := copy(p, b.b[b.off:])
	b.off += n
	return n, nil
}

// WriteTo lets io.Copy and io.ReadAll-like callers write the bytes at once.
func (b *bytesBody) WriteTo(w io.Writer) (int64, error) {
	if b.off == closedBody {
		return 0, errBodyClosed
	}
	n, err := w.Write(b.b[b.off:])
	b.off += n
	return int64(n), err
}

func (b *bytesBody) Close() error {
	b.off = closedBody
	return nil
}

// statusLines holds the Status of responses with the registered codes, so
// a hit does not format one. It is built once and only read.
var statusLines = func() []string {
	t := make([]string, 600)
	for code := range t {
		if text := http.StatusText(code); text != "" {
			t[code] = strconv.Itoa(code) + " " + text
		}
	}
	return t
}()

// statusLine is the Status of an http.Response with this code, as net/http
// sets it ("200 OK").
func statusLine(code int) string {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return strconv.Itoa(code) + " status code " + strconv.Itoa(code)
}
