package larder

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
)

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
		shared, serr := DecodeEntry(data)
		if err := e1.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("error does not wrap ErrEntryFormat: %v", err)
			}
			if serr == nil || shared != nil {
				t.Fatalf("DecodeEntry of what UnmarshalBinary refuses (%v): %+v, %v", err, shared, serr)
			}
			return
		}
		if serr != nil || !codecEntriesEqual(shared, &e1) {
			t.Fatalf("DecodeEntry and UnmarshalBinary disagree:\n%+v, %v\n%+v", shared, serr, &e1)
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
		// Its head written again before the rest, padded to the length
		// of the prefix's own metadata (a soft purge's in-place
		// rewrite), it decodes the same too.
		padded, err := AppendEntryHead(nil, prefix[:metaLen], e.Head(), metaLen)
		if err != nil {
			t.Fatalf("AppendEntryHead: %v", err)
		}
		e4, m4, n4, err := DecodeEntryMeta(padded)
		if err != nil || m4 != len(padded) || n4 != bodyLen || !codecEntriesEqual(e, e4) {
			t.Fatalf("padded metadata: %v, %d, %d, %v", e4, m4, n4, err)
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
