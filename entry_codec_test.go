package larder

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"math"
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
		"body stored apart": {
			Kind:    KindResponse,
			Status:  http.StatusOK,
			Header:  http.Header{"Content-Length": {"104857600"}},
			Nonce:   "n1",
			BodyKey: "https://example.com/big\x00body\x00n0",
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
		reflect.DeepEqual(a.Tags, b.Tags) && a.BodyKey == b.BodyKey
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
			codecCheckMeta(t, b, &want)
			if e.BodyKey != "" {
				return // version 1 has no body key
			}
			// The version 1 encoding of the same entry still decodes.
			var got1 Entry
			if err := got1.UnmarshalBinary(codecV1(t, b)); err != nil {
				t.Fatalf("UnmarshalBinary of version 1: %v", err)
			}
			if !codecEntriesEqual(&got1, &want) {
				t.Fatalf("version 1 round trip mismatch:\n got %+v\nwant %+v", got1, want)
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
		"version 1":       mutate(func(b []byte) []byte { b[len(entryMagic)] = 1; return b }),
		"version 3":       mutate(func(b []byte) []byte { b[len(entryMagic)] = 3; return b }),
		"version 255":     mutate(func(b []byte) []byte { b[len(entryMagic)] = 255; return b }),
		"trailing byte":   append(bytes.Clone(good), 0),
		"v1 trailing":     append(codecV1(t, good), 0),
		"header only":     good[:EntryHeaderSize],
		"meta only":       good[:len(good)-len(e.Body)],
		"meta too long": mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[5:], binary.BigEndian.Uint32(b[5:])+1)
			return b
		}),
		"meta too short": mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[5:], binary.BigEndian.Uint32(b[5:])-1)
			return b
		}),
		"body nil but bytes": mutate(func(b []byte) []byte { binary.BigEndian.PutUint64(b[9:], 0); return b }),
		"text":               []byte("HTTP/1.1 200 OK\r\n\r\n"),
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
			bs := [][]byte{b, codecV1(t, b)}
			if e.BodyKey != "" {
				bs = bs[:1] // version 1 has no body key
			}
			for _, b := range bs {
				for n := range len(b) {
					var got Entry
					if err := got.UnmarshalBinary(b[:n]); !errors.Is(err, ErrEntryFormat) {
						t.Fatalf("version %d truncated to %d of %d bytes: err = %v, want ErrEntryFormat", b[4], n, len(b), err)
					}
				}
			}
			// DecodeEntryMeta fails on every prefix shorter than the metadata,
			// and from the header on tells how long the metadata is.
			metaLen, _, err := EntryLayout(b)
			if err != nil {
				t.Fatal(err)
			}
			for n := range metaLen {
				e, m, _, err := DecodeEntryMeta(b[:n])
				if !errors.Is(err, ErrEntryFormat) || e != nil {
					t.Fatalf("DecodeEntryMeta of %d of %d metadata bytes = %v, %v; want ErrEntryFormat", n, metaLen, e, err)
				}
				if n >= EntryHeaderSize && m != metaLen {
					t.Fatalf("DecodeEntryMeta of %d bytes: metaLen = %d, want %d", n, m, metaLen)
				}
			}
		})
	}
}

// TestEntryCodecCorrupt flips every byte of an encoding in several ways: decoding
// must either fail with ErrEntryFormat or give an entry that encodes again.
func TestEntryCodecCorrupt(t *testing.T) {
	b2, err := codecTestEntries()["response"].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{b2, codecV1(t, b2)} {
		codecCorrupt(t, b)
	}
}

func codecCorrupt(t *testing.T, b []byte) {
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
			if e, _, _, err := DecodeEntryMeta(c); err != nil {
				if !errors.Is(err, ErrEntryFormat) {
					t.Fatalf("byte %d = %#x: DecodeEntryMeta err = %v, want ErrEntryFormat", i, x, err)
				}
			} else if e.Body != nil {
				t.Fatalf("byte %d = %#x: DecodeEntryMeta returned a body", i, x)
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
		// version 2: metadata and body lengths far beyond the data
		"v2 meta length": codecV2Header(math.MaxUint32, 1),
		"v2 body length": codecV2Header(0, math.MaxUint64),
		"v2 body length over int64": append(codecV2Header(11, 1<<63+5),
			0, 1, 0x90, 0x03, 0, 0, 0, 0, 0, 0, 0),
		"v2 string count": append(codecV2Header(10, 0), huge...),
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
			if e, _, _, err := DecodeEntryMeta(data); err == nil || !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("DecodeEntryMeta = %v, %v; want ErrEntryFormat", e, err)
			}
		})
	}
}

// codecV2Header returns a version 2 header with the given metadata length and
// n+1 of the body.
func codecV2Header(metaLen uint32, bodyN uint64) []byte {
	b := append([]byte(entryMagic), 2)
	b = binary.BigEndian.AppendUint32(b, metaLen)
	return binary.BigEndian.AppendUint64(b, bodyN)
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
	meta := b[:len(b)-len(e.Body)]
	n = testing.AllocsPerRun(100, func() { _, _, _, _ = DecodeEntryMeta(meta) })
	// the entry, the string, the shared []string, the header map
	if n > 5 {
		t.Errorf("DecodeEntryMeta: %v allocs, want at most 5", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = EntryLayout(meta) }); n != 0 {
		t.Errorf("EntryLayout: %v allocs, want 0", n)
	}
	dst := make([]byte, 0, 3+len(meta))
	if n := testing.AllocsPerRun(100, func() { _, _ = AppendEntryMeta(dst[:3], e, int64(len(e.Body))) }); n != 0 {
		t.Errorf("AppendEntryMeta with room: %v allocs, want 0", n)
	}
	short := make([]byte, 3, 8)
	if n := testing.AllocsPerRun(100, func() { _, _ = AppendEntryMeta(short, e, int64(len(e.Body))) }); n != 1 {
		t.Errorf("AppendEntryMeta without room: %v allocs, want 1 (its one growth)", n)
	}
}

// TestAppendEntryMeta: AppendEntryMeta appends what EncodeEntryMeta
// returns, and leaves dst's bytes as they were.
func TestAppendEntryMeta(t *testing.T) {
	for name, e := range codecTestEntries() {
		for _, bodyLen := range []int64{-1, 0, int64(len(e.Body)), 1 << 40} {
			want, err := EncodeEntryMeta(e, bodyLen)
			if err != nil {
				t.Fatalf("%s: EncodeEntryMeta: %v", name, err)
			}
			for _, dst := range [][]byte{nil, []byte("abc"), append(make([]byte, 0, 1024), "xyz"...)} {
				prefix := string(dst)
				got, err := AppendEntryMeta(dst, e, bodyLen)
				if err != nil {
					t.Fatalf("%s: AppendEntryMeta: %v", name, err)
				}
				if string(got) != prefix+string(want) {
					t.Fatalf("%s, body %d, dst %q: AppendEntryMeta gave %q, want the prefix then %q", name, bodyLen, prefix, got, want)
				}
			}
		}
	}
	if _, err := AppendEntryMeta(nil, &Entry{}, math.MaxInt64); !errors.Is(err, ErrEntryFormat) {
		t.Fatalf("AppendEntryMeta with a body of MaxInt64 bytes: %v, want ErrEntryFormat", err)
	}
}
