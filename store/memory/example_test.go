package memory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

func Example() {
	store, err := memory.New(memory.Options{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	ctx := context.Background()
	e := &larder.Entry{
		Kind:   larder.KindResponse,
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"text/plain"}},
		Body:   []byte("hello, larder"),
	}
	if err := store.Set(ctx, "GET https://example.com/", e, 5*time.Minute); err != nil {
		panic(err)
	}

	got, err := store.Get(ctx, "GET https://example.com/")
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Status, got.Header.Get("Content-Type"), string(got.Body))

	_, err = store.Get(ctx, "GET https://example.com/other")
	fmt.Println(errors.Is(err, larder.ErrNotFound))

	fmt.Println(store.Stats().Entries)
	// Output:
	// 200 text/plain hello, larder
	// true
	// 1
}
