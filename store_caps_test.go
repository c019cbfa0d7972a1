package larder_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// ExampleConditionalStore shows the fill that SetIf makes safe: a fill reads
// the generation under the key before it fetches, and stores only if no
// invalidation (which leaves a tombstone with a fresh Nonce) came in between.
func ExampleConditionalStore() {
	store, err := memory.New(memory.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	var cs larder.ConditionalStore = store
	ctx := context.Background()
	const key = "https://example.com/a"

	// A fill reads the key: nothing there, generation "".
	gen := ""
	if e, err := store.Get(ctx, key); err == nil {
		gen = e.Nonce
	}
	// Meanwhile, an invalidation leaves a tombstone.
	tomb := &larder.Entry{Kind: larder.KindTombstone, Nonce: "t-1"}
	_ = store.Set(ctx, key, tomb, time.Minute)

	// The fill's response, read before the invalidation, is not stored.
	resp := &larder.Entry{Kind: larder.KindResponse, Status: 200, Nonce: "r-1", Body: []byte("old")}
	stored, err := cs.SetIf(ctx, key, resp, time.Hour, gen)
	fmt.Println(stored, err)

	// A fill that read the tombstone stores over it.
	resp2 := &larder.Entry{Kind: larder.KindResponse, Status: 200, Nonce: "r-2", Body: []byte("new")}
	stored, err = cs.SetIf(ctx, key, resp2, time.Hour, "t-1")
	fmt.Println(stored, err)
	// Output:
	// false <nil>
	// true <nil>
}

// ExampleDecodeEntryMeta shows a store that keeps serialised entries answering
// a freshness check from the metadata alone: it reads the fixed header, then
// exactly the metadata, and never the body.
func ExampleDecodeEntryMeta() {
	e := &larder.Entry{
		Kind:   larder.KindResponse,
		Status: http.StatusOK,
		Header: http.Header{"Etag": {`"v1"`}},
		Body:   bytes.Repeat([]byte("x"), 1<<20),
	}
	data, err := e.MarshalBinary()
	if err != nil {
		panic(err)
	}
	file := bytes.NewReader(data) // what a disk store would read from

	header := make([]byte, larder.EntryHeaderSize)
	if _, err := io.ReadFull(file, header); err != nil {
		panic(err)
	}
	metaLen, bodyLen, err := larder.EntryLayout(header)
	if err != nil {
		panic(err) // a version 1 entry: read it whole, with UnmarshalBinary
	}
	prefix := make([]byte, metaLen)
	if _, err := file.ReadAt(prefix, 0); err != nil {
		panic(err)
	}
	meta, _, _, err := larder.DecodeEntryMeta(prefix)
	if err != nil {
		panic(err)
	}
	fmt.Println(meta.Status, meta.Header.Get("Etag"), meta.Body == nil, bodyLen)
	fmt.Println(metaLen < 100)
	// Output:
	// 200 "v1" true 1048576
	// true
}

// TestMemoryStoreCapabilities: the memory store has every optional
// capability, as its package doc says.
func TestMemoryStoreCapabilities(t *testing.T) {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var st larder.Store = s
	if _, ok := st.(larder.BodyStreamer); !ok {
		t.Error("not a BodyStreamer")
	}
	if _, ok := st.(larder.ConditionalStore); !ok {
		t.Error("not a ConditionalStore")
	}
	if _, ok := st.(larder.MultiGetter); !ok {
		t.Error("not a MultiGetter")
	}
	if nb, ok := st.(larder.NonBlockingStore); !ok || !nb.NonBlocking() {
		t.Error("not a NonBlockingStore that reports true")
	}
}

// TestStreamedEntryEncodes: an entry written as a stream, prefix from
// EncodeEntryMeta then the body, decodes whole and from its prefix.
func TestStreamedEntryEncodes(t *testing.T) {
	meta := &larder.Entry{Kind: larder.KindResponse, Status: 200, Nonce: "n", Header: http.Header{"A": {"b"}}}
	body := strings.Repeat("body", 1000)
	prefix, err := larder.EncodeEntryMeta(meta, int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.Write(prefix)
	if _, err := io.Copy(&buf, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	var got larder.Entry
	if err := got.UnmarshalBinary(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != body || got.Nonce != "n" || got.Header.Get("A") != "b" {
		t.Fatalf("decoded %+v", got)
	}
	m, metaLen, bodyLen, err := larder.DecodeEntryMeta(buf.Bytes()[:len(prefix)])
	if err != nil || metaLen != len(prefix) || bodyLen != int64(len(body)) || m.Nonce != "n" {
		t.Fatalf("DecodeEntryMeta = %+v, %d, %d, %v", m, metaLen, bodyLen, err)
	}
}
