// Command origin is the end-to-end benchmark's upstream: it serves /1k and
// /64k (1 KiB and 64 KiB bodies) with Cache-Control: max-age=3600, a strong
// ETag and Content-Length, answers a matching If-None-Match with a 304, counts
// the requests it serves and reports the count at /__count.
//
// With -hit-header it also writes the fields that larder adds to a hit (Age,
// Cache-Status, Via) and an explicit Date, as larder sends the stored one: the
// same 8 header fields as a larder hit, written by a bare Go handler. That is
// the end-to-end benchmark's ceiling for any Go cache that sends them.
//
//	origin -listen 127.0.0.1:18080 [-hit-header]
package main

import (
	"bytes"
	"flag"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

type object struct {
	body []byte
	etag string
	hdr  map[string][]string
	h304 map[string][]string
}

func newObject(n int, hitHeader bool) *object {
	b := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	b[0], b[n-1] = '<', '>'
	o := &object{body: b, etag: `"v1-` + strconv.Itoa(n) + `"`}
	o.hdr = map[string][]string{
		"Content-Type":   {"application/octet-stream"},
		"Cache-Control":  {"max-age=3600"},
		"Etag":           {o.etag},
		"Content-Length": {strconv.Itoa(n)},
	}
	o.h304 = map[string][]string{
		"Cache-Control": {"max-age=3600"},
		"Etag":          {o.etag},
	}
	if hitHeader {
		date := []string{time.Now().UTC().Format(http.TimeFormat)}
		for _, h := range []map[string][]string{o.hdr, o.h304} {
			h["Age"] = []string{"0"}
			h["Cache-Status"] = []string{"Larder; hit; ttl=3600"}
			h["Via"] = []string{"1.1 larder"}
			h["Date"] = date
		}
	}
	return o
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address to listen on (loopback)")
	hitHeader := flag.Bool("hit-header", false, "also write the fields of a larder hit: Age, Cache-Status, Via, Date")
	flag.Parse()

	var count atomic.Int64
	objects := map[string]*object{"/1k": newObject(1<<10, *hitHeader), "/64k": newObject(64<<10, *hitHeader)}

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__count" {
			w.Header()["Cache-Control"] = []string{"no-store"}
			w.Header()["Content-Type"] = []string{"text/plain"}
			_, _ = w.Write(strconv.AppendInt(nil, count.Load(), 10))
			return
		}
		count.Add(1)
		o := objects[r.URL.Path]
		if o == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if inm := r.Header["If-None-Match"]; len(inm) == 1 && inm[0] == o.etag {
			for k, v := range o.h304 {
				h[k] = v
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		for k, v := range o.hdr {
			h[k] = v
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(o.body)
	})
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
