package disk_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

func Example() {
	tmp, err := os.MkdirTemp("", "larder-disk-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "cache")

	store, err := disk.Open(dir, disk.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	e := &larder.Entry{
		Kind:   larder.KindResponse,
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"text/plain"}},
		Body:   []byte("hello, larder"),
	}
	if err := store.Set(ctx, "https://example.com/", e, 5*time.Minute); err != nil {
		panic(err)
	}
	// A large body streams to a file of its own.
	big := strings.Repeat("x", 1<<20)
	if err := store.SetStream(ctx, "https://example.com/big", e, strings.NewReader(big), int64(len(big)), time.Hour); err != nil {
		panic(err)
	}
	store.Close()

	// After a restart, the entries are still there.
	store, err = disk.Open(dir, disk.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	got, err := store.Get(ctx, "https://example.com/")
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Status, got.Header.Get("Content-Type"), string(got.Body))

	meta, body, size, err := store.GetStream(ctx, "https://example.com/big")
	if err != nil {
		panic(err)
	}
	n, _ := io.Copy(io.Discard, body)
	body.Close()
	fmt.Println(meta.Status, size, n)
	// Output:
	// 200 text/plain hello, larder
	// 200 1048576 1048576
}
