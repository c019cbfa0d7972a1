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
	"flag"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/larder-cache/larder/bench/internal/object"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address to listen on (loopback)")
	hitHeader := flag.Bool("hit-header", false, "also write the fields of a larder hit: Age, Cache-Status, Via, Date")
	flag.Parse()

	var count atomic.Int64
	objects := map[string]*object.Object{"/1k": object.New(1<<10, *hitHeader), "/64k": object.New(64<<10, *hitHeader)}

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
		o.Serve(w, r)
	})
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
