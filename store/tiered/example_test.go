package tiered_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/tiered"
)

// A tiered store in front of a shared L2. Here the L2 is a memory store and
// there is no bus, so that the example runs alone; in a fleet the L2 is
// store/redis and Options.Bus its client (see the package doc).
func Example() {
	l2, err := memory.New(memory.Options{})
	if err != nil {
		panic(err)
	}
	defer l2.Close()
	s, err := tiered.New(l2, tiered.Options{L1: memory.Options{MaxBytes: 16 << 20}})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	cache := larder.New(s)
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	}))
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/", nil))
		_ = cache.Close() // the fill lands behind the response: wait for it
		fmt.Println(rec.Header().Get("Cache-Status"))
	}
	st := s.Stats()
	fmt.Println("L1 hits:", st.L1Hits, "L2 reads:", st.L2Gets)
	// Output:
	// Larder; fwd=uri-miss; stored; ttl=60
	// Larder; hit; ttl=60
	// Larder; hit; ttl=60
	// L1 hits: 1 L2 reads: 2
}
