package larder

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

func codecGoldenEntries() []*Entry {
	t0 := time.Date(2025, 11, 28, 4, 42, 0, 123456789, time.UTC)
	return []*Entry{
		{Kind: KindResponse, Status: 200, Header: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"b=2", "a=1"}},
			Body: []byte("hello"), RequestTime: t0, ResponseTime: t0.Add(150 * time.Millisecond), InitialAge: 3 * time.Second,
			Lifetime: time.Minute, Expires: t0.Add(2 * time.Minute), VaryNames: []string{"accept-encoding"}, Tags: []string{"t1", "t2"}, Nonce: "n1"},
		{Kind: KindVary, Expires: t0.Add(time.Hour), VaryNames: []string{"accept"}, Nonce: "n-8f3a2c"},
		{Kind: KindResponse, Status: 204, Header: http.Header{}, Body: []byte{}},
	}
}

func TestEntryCodecGoldenV1(t *testing.T) {
	for i, e := range codecGoldenEntries() {
		data, err := hex.DecodeString(codecGoldenV1[i])
		if err != nil {
			t.Fatal(err)
		}
		var got Entry
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("golden %d: %v", i, err)
		}
		if !codecEntriesEqual(&got, e) {
			t.Fatalf("golden %d:\n got %+v\nwant %+v", i, got, e)
		}
		// The converter the other tests use agrees with the old encoder.
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(codecV1(t, b), data) {
			t.Fatalf("golden %d: codecV1 gives %x", i, codecV1(t, b))
		}
		// A version 1 entry has no metadata prefix.
		if _, _, err := EntryLayout(data); !errors.Is(err, ErrEntryNoMetaPrefix) || !errors.Is(err, ErrEntryFormat) {
			t.Fatalf("golden %d: EntryLayout err = %v, want ErrEntryNoMetaPrefix and ErrEntryFormat", i, err)
		}
		if e, _, _, err := DecodeEntryMeta(data); !errors.Is(err, ErrEntryNoMetaPrefix) || e != nil {
			t.Fatalf("golden %d: DecodeEntryMeta = %v, %v; want ErrEntryNoMetaPrefix", i, e, err)
		}
	}
}

// TestEntryCodecGoldenV2 pins the version 2 layout.
func TestEntryCodecGoldenV2(t *testing.T) {
	e := &Entry{Kind: KindTombstone, Status: 1, Nonce: "g", Body: []byte("B")}
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := "4c524445" + "02" + // magic, version
		"0000000d" + "0000000000000002" + // metaLen 13, body n+1 = 2
		"00" + "03" + "02" + "000000" + "00" + "00" + "0167" + "00" + "00" + "00" + // strCount .. tags
		"42" // body
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}
}

func TestEncodeEntryMetaStreaming(t *testing.T) {
	// A store that writes the metadata and then the body as a stream gets
	// what MarshalBinary gives.
	e := codecTestEntries()["response"]
	whole, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	meta := *e
	meta.Body = []byte("ignored")
	prefix, err := EncodeEntryMeta(&meta, int64(len(e.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := append(prefix, e.Body...); !bytes.Equal(got, whole) {
		t.Fatalf("EncodeEntryMeta + body:\n%x\nMarshalBinary:\n%x", got, whole)
	}
	// A nil body: -1.
	meta.Body = nil
	prefix, err = EncodeEntryMeta(&meta, -1)
	if err != nil {
		t.Fatal(err)
	}
	if whole, _ := meta.MarshalBinary(); !bytes.Equal(prefix, whole) {
		t.Fatal("EncodeEntryMeta with -1 differs from MarshalBinary of a nil body")
	}
	// A body too long to be counted.
	if _, err := EncodeEntryMeta(&meta, math.MaxInt64); !errors.Is(err, ErrEntryFormat) {
		t.Fatalf("EncodeEntryMeta(MaxInt64): err = %v", err)
	}
	if _, err := EncodeEntryMeta(&Entry{Expires: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, 0); !errors.Is(err, ErrEntryFormat) {
		t.Fatalf("EncodeEntryMeta of year 3000: err = %v", err)
	}
	// A body longer than memory: the metadata says so.
	prefix, err = EncodeEntryMeta(&meta, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	if _, m, n, err := DecodeEntryMeta(prefix); err != nil || m != len(prefix) || n != 1<<40 {
		t.Fatalf("DecodeEntryMeta = %d, %d, %v", m, n, err)
	}
}

func TestEntryLayoutErrors(t *testing.T) {
	good, _ := codecTestEntries()["response"].MarshalBinary()
	for name, data := range map[string][]byte{
		"empty":               nil,
		"short":               good[:EntryHeaderSize-1],
		"magic":               append([]byte("XRDE"), good[4:]...),
		"version 9":           append([]byte(entryMagic+"\x09"), good[5:]...),
		"body n+1 over int64": codecV2Header(0, 1<<63+1),
	} {
		if _, _, err := EntryLayout(data); !errors.Is(err, ErrEntryFormat) || errors.Is(err, ErrEntryNoMetaPrefix) {
			t.Errorf("%s: err = %v, want ErrEntryFormat only", name, err)
		}
	}
}

func codecBenchEntry() *Entry {
	t0 := time.Date(2025, 11, 28, 4, 42, 0, 0, time.UTC)
	return &Entry{
		Kind:   KindResponse,
		Status: 200,
		Header: http.Header{
			"Content-Type":   {"application/json"},
			"Cache-Control":  {"public, max-age=300"},
			"Etag":           {`"5f3c-1a2b3c4d"`},
			"Last-Modified":  {"Fri, 28 Nov 2025 04:00:00 GMT"},
			"Vary":           {"Accept-Encoding"},
			"Content-Length": {"1024"},
		},
		Body:         bytes.Repeat([]byte("x"), 1024),
		RequestTime:  t0,
		ResponseTime: t0.Add(20 * time.Millisecond),
		Lifetime:     5 * time.Minute,
		Expires:      t0.Add(10 * time.Minute),
		VaryNames:    []string{"accept-encoding"},
		Tags:         []string{"api", "user:42"},
	}
}

func BenchmarkEntryMarshal(b *testing.B) {
	e := codecBenchEntry()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEntryUnmarshal(b *testing.B) {
	data, err := codecBenchEntry().MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var e Entry
		if err := e.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEntryMeta(b *testing.B) {
	e := codecBenchEntry()
	data, err := e.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	meta := data[:len(data)-len(e.Body)]
	b.SetBytes(int64(len(meta)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := DecodeEntryMeta(meta); err != nil {
			b.Fatal(err)
		}
	}
}
