// Package serve runs an example program: it parses the flags (-addr, and
// any the example defined), builds the example's handler and serves it with
// the timeouts a public server needs.
package serve

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/larder-cache/larder/store/memory"
)

// Main parses the command line, calls build for the handler and serves it on
// -addr (default 127.0.0.1:8080), logging the URLs of paths to try.
func Main(build func() http.Handler, paths ...string) {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	srv := &http.Server{
		Addr:              *addr,
		Handler:           build(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	for _, p := range paths {
		log.Printf("try http://%s%s", *addr, p)
	}
	log.Fatal(srv.ListenAndServe())
}

// Memory returns the built-in memory store bounded to maxBytes, or exits.
func Memory(maxBytes int64) *memory.Store {
	store, err := memory.New(memory.Options{MaxBytes: maxBytes})
	if err != nil {
		log.Fatal(err)
	}
	return store
}
