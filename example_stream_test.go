package larder_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// A disk store holds bodies larger than memory: a response whose body is
// over the body buffer goes to the store as a stream while it goes to the
// client, up to the max object size.
func ExampleWithBodyBuffer() {
	dir, err := os.MkdirTemp("", "larder-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := disk.Open(dir, disk.Options{MaxBytes: 1 << 30, MaxEntryBytes: 512 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	cache := larder.New(store,
		larder.WithBodyBuffer(256<<10),    // bodies over 256 KiB are streamed
		larder.WithMaxObjectSize(512<<20), // and stored up to 512 MiB
	)
	defer cache.Close()

	big := strings.Repeat("x", 4<<20)
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		_, _ = w.Write([]byte(big))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/big", nil))
	_ = cache.Close() // waits for the store's writes

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/big", nil))
	fmt.Println(w.Code, w.Body.Len(), strings.Contains(w.Header().Get("Cache-Status"), "; hit"))
	// Output: 200 4194304 true
}
