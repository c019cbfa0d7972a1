package larder

import (
	"bytes"
	"encoding"
	"errors"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	_ encoding.BinaryMarshaler   = (*Entry)(nil)
	_ encoding.BinaryUnmarshaler = (*Entry)(nil)
)

func codecTestEntries() map[string]*Entry {
	t0 := time.Date(2025, 11, 28, 4, 42, 0, 123456789, time.UTC)
	big := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	return map[string]*Entry{
		"zero": {},
		"response": {
			Kind:   KindResponse,
			Status: http.StatusOK,
			Header: http.Header{
				"Content-Type":  {"text/html; charset=utf-8"},
				"Cache-Control": {"max-age=60", "public"},
				"Set-Cookie":    {"b=2", "a=1", "c=3"}, // order kept, not sorted
				"Etag":          {`"abc"`},
				"Vary":          {"Accept-Encoding"},
				"X-Empty":       {""},
			},
			Body:         []byte("<html>hello</html>"),
			RequestTime:  t0,
			ResponseTime: t0.Add(150 * time.Millisecond),
			InitialAge:   3 * time.Second,
			Lifetime:     time.Minute,
			Expires:      t0.Add(2 * time.Minute),
			VaryNames:    []string{"accept-encoding"},
			Tags:         []string{"product:1", "category:shoes"},
		},
		"empty header nil body": {
			Kind:         KindResponse,
			Status:       http.StatusNoContent,
			Header:       http.Header{},
			ResponseTime: t0,
		},
		"empty body and lists": {
			Kind:      KindResponse,
			Status:    http.StatusOK,
			Body:      []byte{},
			VaryNames: []string{},
			Tags:      []string{},
		},
		"header key without values": {
			Kind:   KindResponse,
			Status: 200,
			Header: http.Header{"X-None": {}, "A": {"1"}},
		},
		"vary index": {
			Kind:      KindVary,
			Expires:   t0.Add(time.Hour),
			VaryNames: []string{"accept", "accept-encoding", "accept-language"},
			Nonce:     "n-8f3a2c",
		},
		"unicode": {
			Kind:   KindResponse,
			Status: 200,
			Header: http.Header{"X-Grüße": {"日本語", "émoji 🍕"}, "X-Bin": {"\x00\xff\xfe"}},
			Body:   []byte("ünïcödé 🍕 \x00\xff"),
			Nonce:  "ключ",
			Tags:   []string{"тег", ""},
		},
		"negative and odd values": {
			Kind:         Kind(255),
			Status:       -1,
			InitialAge:   -time.Second,
			Lifetime:     -1,
			RequestTime:  time.Unix(0, 0),
			ResponseTime: time.Unix(0, -1),
			Expires:      time.Unix(0, 1<<62),
		},
		"local time": {
			Kind:         KindResponse,
			Status:       200,
			RequestTime:  time.Now(), // monotonic reading and location are dropped
			ResponseTime: time.Now().In(time.FixedZone("X", 3600)),
		},
		"large body": {
			Kind:   KindResponse,
			Status: 200,
			Header: http.Header{"Content-Type": {"application/octet-stream"}},
			Body:   big,
		},
		"many headers": codecManyHeaderEntry(100),
	}
}

func codecManyHeaderEntry(n int) *Entry {
	h := make(http.Header, n)
	for i := range n {
		h[strings.Repeat("K", i%7+1)+string(rune('a'+i%26))+strings.Repeat("x", i)] = []string{strings.Repeat("v", i)}
	}
	return &Entry{Kind: KindResponse, Status: 200, Header: h}
}

// codecEntriesEqual reports whether a and b have equal exported fields, with times
// compared by Equal and nil-ness of slices and maps kept.
func codecEntriesEqual(a, b *Entry) bool {
	return a.Kind == b.Kind && a.Status == b.Status &&
		reflect.DeepEqual(a.Header, b.Header) &&
		(a.Body == nil) == (b.Body == nil) && bytes.Equal(a.Body, b.Body) &&
		a.RequestTime.Equal(b.RequestTime) && a.RequestTime.IsZero() == b.RequestTime.IsZero() &&
		a.ResponseTime.Equal(b.ResponseTime) && a.ResponseTime.IsZero() == b.ResponseTime.IsZero() &&
		a.Expires.Equal(b.Expires) && a.Expires.IsZero() == b.Expires.IsZero() &&
		a.InitialAge == b.InitialAge && a.Lifetime == b.Lifetime &&
		reflect.DeepEqual(a.VaryNames, b.VaryNames) && a.Nonce == b.Nonce &&
		reflect.DeepEqual(a.Tags, b.Tags)
}

// codecNormalizeHeader turns nil value slices into empty ones, as decoding does.
func codecNormalizeHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if vs == nil {
			vs = []string{}
		}
		out[k] = vs
	}
	return out
}

func TestEntryCodecRoundTrip(t *testing.T) {
	for name, e := range codecTestEntries() {
		t.Run(name, func(t *testing.T) {
			b, err := e.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if !bytes.HasPrefix(b, []byte(entryMagic)) || b[len(entryMagic)] != entryVersion {
				t.Fatalf("encoding does not start with magic and version: %q", b[:min(len(b), 8)])
			}
			var got Entry
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			want := *e
			want.Header = codecNormalizeHeader(e.Header)
			if !codecEntriesEqual(&got, &want) {
				t.Fatalf("round trip mismatch:\n got %+v\nwant %+v", got, want)
			}
			if got.meta != nil {
				t.Fatal("UnmarshalBinary set meta")
			}
			// Deterministic: encoding again gives the same bytes.
			b2, err := got.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary of decoded entry: %v", err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatal("re-encoding the decoded entry gave different bytes")
			}
			// Decoding must not keep a reference to the input.
			for i := range b {
				b[i] = 0xAA
			}
			if !codecEntriesEqual(&got, &want) {
				t.Fatal("decoded entry changed when the input buffer was overwritten")
			}
		})
	}
}

func TestEntryCodecDecodedSlicesAreCapped(t *testing.T) {
	e := &Entry{
		Header:    http.Header{"A": {"1"}, "B": {"2"}},
		VaryNames: []string{"x"},
		Tags:      []string{"t"},
	}
	b, _ := e.MarshalBinary()
	var got Entry
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	// Appending to one decoded slice must not overwrite another sharing its array.
	_ = append(got.Header["A"], "clobber")
	_ = append(got.VaryNames, "clobber")
	if got.Header["B"][0] != "2" || got.Tags[0] != "t" {
		t.Fatalf("append to a decoded slice overwrote a neighbour: %v %v", got.Header, got.Tags)
	}
}

func TestEntryCodecUnmarshalReplacesFields(t *testing.T) {
	e := &Entry{Kind: KindVary, Nonce: "n"}
	b, _ := e.MarshalBinary()
	got := Entry{Status: 500, Body: []byte("old"), Tags: []string{"old"}, Header: http.Header{"Old": {"1"}}}
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !codecEntriesEqual(&got, e) {
		t.Fatalf("got %+v, want %+v", got, e)
	}
}

func TestEntryCodecMarshalTimeOutOfRange(t *testing.T) {
	e := &Entry{Expires: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := e.MarshalBinary(); !errors.Is(err, ErrEntryFormat) {
		t.Fatalf("MarshalBinary of year 3000: err = %v, want ErrEntryFormat", err)
	}
}

func TestEntryCodecBadMagicAndVersion(t *testing.T) {
	e := codecTestEntries()["response"]
	good, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	cases := map[string][]byte{
		"nil":             nil,
		"empty":           {},
		"magic only":      []byte(entryMagic),
		"bad magic":       mutate(func(b []byte) []byte { b[0] = 'X'; return b }),
		"lowercase magic": mutate(func(b []byte) []byte { copy(b, "lrde"); return b }),
		"version 0":       mutate(func(b []byte) []byte { b[len(entryMagic)] = 0; return b }),
		"version 2":       mutate(func(b []byte) []byte { b[len(entryMagic)] = 2; return b }),
		"version 255":     mutate(func(b []byte) []byte { b[len(entryMagic)] = 255; return b }),
		"trailing byte":   append(bytes.Clone(good), 0),
		"text":            []byte("HTTP/1.1 200 OK\r\n\r\n"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var got Entry
			err := got.UnmarshalBinary(data)
			if !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("err = %v, want ErrEntryFormat", err)
			}
			if !codecEntriesEqual(&got, &Entry{}) {
				t.Fatalf("entry changed on error: %+v", got)
			}
		})
	}
}

func TestEntryCodecTruncated(t *testing.T) {
	for name, e := range codecTestEntries() {
		if name == "large body" {
			continue // every offset of 1 MiB is slow and adds nothing
		}
		t.Run(name, func(t *testing.T) {
			b, err := e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(b) {
				var got Entry
				if err := got.UnmarshalBinary(b[:n]); !errors.Is(err, ErrEntryFormat) {
					t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrEntryFormat", n, len(b), err)
				}
			}
		})
	}
}

// TestEntryCodecCorrupt flips every byte of an encoding in several ways: decoding
// must either fail with ErrEntryFormat or give an entry that encodes again.
func TestEntryCodecCorrupt(t *testing.T) {
	b, err := codecTestEntries()["response"].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for _, x := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff, b[i] ^ 0x01, b[i] + 1} {
			c := bytes.Clone(b)
			c[i] = x
			var got Entry
			if err := got.UnmarshalBinary(c); err != nil {
				if !errors.Is(err, ErrEntryFormat) {
					t.Fatalf("byte %d = %#x: err = %v, want ErrEntryFormat", i, x, err)
				}
				continue
			}
			if _, err := got.MarshalBinary(); err != nil {
				t.Fatalf("byte %d = %#x: decoded entry does not encode: %v", i, x, err)
			}
		}
	}
}

func TestEntryCodecHugeLengths(t *testing.T) {
	// Lengths and counts far beyond the data must fail without allocating them.
	head := []byte(entryMagic + "\x01")
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	cases := map[string][]byte{
		"body length":  append(bytes.Clone(head), huge...),
		"string count": append(append(bytes.Clone(head), 1), huge...),
		"varint overflow": append(bytes.Clone(head),
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		// body nil, 0 strings, kind, status 200, 3 zero times, ages 0, nonce length huge
		"nonce length": append(append(bytes.Clone(head), 0, 0, 1, 0x90, 0x03, 0, 0, 0, 0, 0), huge...),
		// ... nonce "", header count huge
		"header count": append(append(bytes.Clone(head), 0, 0, 1, 0x90, 0x03, 0, 0, 0, 0, 0, 0), huge...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var got Entry
			allocs := testing.AllocsPerRun(10, func() {
				if err := got.UnmarshalBinary(data); !errors.Is(err, ErrEntryFormat) {
					t.Fatalf("err = %v, want ErrEntryFormat", err)
				}
			})
			_ = allocs // error values allocate a little; the point is not panicking or OOM
		})
	}
}

func TestEntryCodecAllocs(t *testing.T) {
	e := codecBenchEntry()
	if n := testing.AllocsPerRun(100, func() { _, _ = e.MarshalBinary() }); n != 1 {
		t.Errorf("MarshalBinary: %v allocs, want 1", n)
	}
	b, _ := e.MarshalBinary()
	n := testing.AllocsPerRun(100, func() {
		var got Entry
		_ = got.UnmarshalBinary(b)
	})
	// the string, the shared []string, the header map, the body
	if n > 5 {
		t.Errorf("UnmarshalBinary: %v allocs, want at most 5", n)
	}
}

func FuzzUnmarshalEntry(f *testing.F) {
	for _, e := range codecTestEntries() {
		b, err := e.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 2048 {
			continue // large seeds make the fuzzer's minimisation crawl
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte(entryMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e1 Entry
		if err := e1.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("error does not wrap ErrEntryFormat: %v", err)
			}
			return
		}
		b1, err := e1.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		var e2 Entry
		if err := e2.UnmarshalBinary(b1); err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !codecEntriesEqual(&e1, &e2) {
			t.Fatalf("decode→encode→decode changed the entry:\n%+v\n%+v", e1, e2)
		}
		b2, err := e2.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatal("encoding is not stable")
		}
	})
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
