package larder

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/hex"
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
}

// codecFuzzSeeds adds the small test entries, in both versions, as seeds.
func codecFuzzSeeds(f *testing.F) {
	for _, e := range codecTestEntries() {
		b, err := e.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 2048 {
			continue // large seeds make the fuzzer's minimisation crawl
		}
		f.Add(b)
		f.Add(codecV1(f, b))
	}
	for _, h := range codecGoldenV1 {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte(entryMagic + "\x01"))
	f.Add([]byte(entryMagic + "\x02"))
	f.Add(codecV2Header(0, 0))
	// Non-minimal varints: decodes, but encodes to other bytes.
	f.Add([]byte("LRDE\x02\x00\x00\x00\x1f\x00\x00\x00\x00\x00\x00\x00\x00\x000\x900\x01\x86\xbc\xb5\xa0\xc0\x8e\xee\xec0\x01\U0003cd60\xc0\x8e\xee\xec\x00\x0000\x00\x00\x00\x00"))
}

func FuzzUnmarshalEntry(f *testing.F) {
	codecFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var e1 Entry
		if err := e1.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("error does not wrap ErrEntryFormat: %v", err)
			}
			return
		}
		if len(data) > len(entryMagic) && data[len(entryMagic)] == entryVersion {
			// What decodes whole decodes from its metadata prefix alike.
			metaLen, bodyLen, err := EntryLayout(data)
			if err != nil || int64(metaLen)+bodyLen != int64(len(data)) {
				t.Fatalf("EntryLayout = %d, %d, %v for %d bytes that decode", metaLen, bodyLen, err, len(data))
			}
			m, _, _, err := DecodeEntryMeta(data[:metaLen])
			if err != nil {
				t.Fatalf("DecodeEntryMeta of what decodes whole: %v", err)
			}
			m.Body = e1.Body
			if !codecEntriesEqual(m, &e1) {
				t.Fatalf("DecodeEntryMeta and UnmarshalBinary disagree:\n%+v\n%+v", m, &e1)
			}
		}
		b1, err := e1.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		codecCheckMeta(t, b1, &e1)
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
		if e1.BodyKey != "" {
			return // version 1 has no body key
		}
		// The version 1 form of the same entry decodes to it as well.
		var e3 Entry
		if err := e3.UnmarshalBinary(codecV1(t, b1)); err != nil {
			t.Fatalf("version 1 form does not decode: %v", err)
		}
		if !codecEntriesEqual(&e1, &e3) {
			t.Fatalf("version 1 form decodes differently:\n%+v\n%+v", e1, e3)
		}
	})
}

func FuzzDecodeEntryMeta(f *testing.F) {
	codecFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, prefix []byte) {
		e, metaLen, bodyLen, err := DecodeEntryMeta(prefix)
		if err != nil {
			if !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("error does not wrap ErrEntryFormat: %v", err)
			}
			if e != nil {
				t.Fatal("an entry and an error")
			}
			return
		}
		if metaLen < EntryHeaderSize || metaLen > len(prefix) || bodyLen < 0 {
			t.Fatalf("metaLen %d, bodyLen %d for a prefix of %d bytes", metaLen, bodyLen, len(prefix))
		}
		if e.Body != nil {
			t.Fatal("DecodeEntryMeta returned a body")
		}
		if m, n, err := EntryLayout(prefix); err != nil || m != metaLen || n != bodyLen {
			t.Fatalf("EntryLayout = %d, %d, %v; DecodeEntryMeta said %d, %d", m, n, err, metaLen, bodyLen)
		}
		// The metadata alone decodes the same; it encodes again, and that
		// decodes to the same entry.
		e2, _, _, err := DecodeEntryMeta(prefix[:metaLen])
		if err != nil || !codecEntriesEqual(e, e2) {
			t.Fatalf("metadata alone: %v, %v", e2, err)
		}
		enc, err := EncodeEntryMeta(e, bodyLen)
		if err != nil {
			t.Fatalf("decoded metadata does not encode: %v", err)
		}
		e3, m3, n3, err := DecodeEntryMeta(enc)
		if err != nil || m3 != len(enc) || n3 != bodyLen || !codecEntriesEqual(e, e3) {
			t.Fatalf("re-encoded metadata: %v, %d, %d, %v", e3, m3, n3, err)
		}
		if bodyLen <= 1<<16 {
			// With its body the prefix is a whole entry.
			whole := append(bytes.Clone(prefix[:metaLen]), make([]byte, bodyLen)...)
			var w Entry
			if err := w.UnmarshalBinary(whole); err != nil {
				t.Fatalf("metadata and a body of %d bytes do not decode: %v", bodyLen, err)
			}
			w.Body = nil
			if !codecEntriesEqual(e, &w) {
				t.Fatalf("whole entry decodes differently:\n%+v\n%+v", e, &w)
			}
		}
	})
}

// codecV1 converts a version 2 encoding to version 1.
func codecV1(t testing.TB, b []byte) []byte {
	t.Helper()
	metaLen, _, err := EntryLayout(b)
	if err != nil {
		t.Fatalf("codecV1: %v", err)
	}
	bodyN := binary.BigEndian.Uint64(b[9:])
	v1 := append([]byte(entryMagic), 1)
	v1 = binary.AppendUvarint(v1, bodyN)
	v1 = append(v1, b[EntryHeaderSize:metaLen]...)
	return append(v1, b[metaLen:]...)
}

// codecCheckMeta checks the version 2 encoding b of want: EntryLayout and
// DecodeEntryMeta read its metadata from any prefix that holds it, and
// EncodeEntryMeta gives that prefix.
func codecCheckMeta(t testing.TB, b []byte, want *Entry) {
	t.Helper()
	metaLen, bodyLen, err := EntryLayout(b[:EntryHeaderSize])
	if err != nil {
		t.Fatalf("EntryLayout: %v", err)
	}
	if metaLen+int(bodyLen) != len(b) || bodyLen != int64(len(want.Body)) {
		t.Fatalf("EntryLayout = %d, %d for %d bytes with a body of %d", metaLen, bodyLen, len(b), len(want.Body))
	}
	wantMeta := *want
	wantMeta.Body = nil
	for _, n := range []int{metaLen, min(metaLen+1, len(b)), len(b)} {
		e, m, bl, err := DecodeEntryMeta(b[:n])
		if err != nil {
			t.Fatalf("DecodeEntryMeta of %d bytes: %v", n, err)
		}
		if m != metaLen || bl != bodyLen {
			t.Fatalf("DecodeEntryMeta of %d bytes: metaLen %d, bodyLen %d; want %d, %d", n, m, bl, metaLen, bodyLen)
		}
		if !codecEntriesEqual(e, &wantMeta) {
			t.Fatalf("DecodeEntryMeta of %d bytes:\n got %+v\nwant %+v", n, e, &wantMeta)
		}
	}
	nb := int64(len(want.Body))
	if want.Body == nil {
		nb = -1
	}
	prefix, err := EncodeEntryMeta(want, nb)
	if err != nil {
		t.Fatalf("EncodeEntryMeta: %v", err)
	}
	if !bytes.Equal(prefix, b[:metaLen]) {
		t.Fatalf("EncodeEntryMeta differs from the prefix of MarshalBinary:\n%x\n%x", prefix, b[:metaLen])
	}
}

// codecGoldenV1 are encodings written by the version 1 encoder (larder before
// format version 2) of codecGoldenEntries: they must keep decoding.
var codecGoldenV1 = []string{
	"4c52444501060601900301aaf4f5f6c4fe88fc3001aabafc85c6fe88fc3001aab4ebffc28589fc3080f882ad1680e0ba84bf03026e31030c436f6e74656e742d54797065010a746578742f706c61696e0a5365742d436f6f6b69650203623d3203613d31020f6163636570742d656e636f64696e670302743102743268656c6c6f",
	"4c5244450100010200000001aaf4ba828bd08afc300000086e2d38663361326300020661636365707400",
	"4c524445010100019803000000000000010000",
}

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
