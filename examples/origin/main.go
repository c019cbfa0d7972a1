// Command origin is a small origin server for trying the larder proxy: it
// serves /hello with Cache-Control: max-age=60 and an ETag, answers
// If-None-Match itself, and counts the requests it gets (GET /count).
//
//	go run ./examples/origin -addr 127.0.0.1:9000
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"sync/atomic"
	"time"
)

func newOrigin() http.Handler {
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"hello-v1"`)
		if r.Header.Get("If-None-Match") == `"hello-v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "hello from the origin")
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, hits.Load())
	})
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: newOrigin(), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("origin listening on http://%s", *addr)
	log.Fatal(srv.ListenAndServe())
}
