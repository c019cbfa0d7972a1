package larder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"
)

// headsEqual compares heads as codecEntriesEqual compares entries.
func headsEqual(a, b EntryHead) bool {
	return codecEntriesEqual(a.Entry(), b.Entry())
}

// bodyLenOf is the bodyLen EncodeEntryMeta takes for e's body.
func bodyLenOf(e *Entry) int64 {
	if e.Body == nil {
		return -1
	}
	return int64(len(e.Body))
}

// softHead is a head a rewrite might return for h: another Nonce (longer
// or shorter), lifetime, response time and status.
func softHead(h EntryHead, nonce string) EntryHead {
	h.Nonce = nonce
	h.Lifetime /= 3
	h.ResponseTime = time.Date(2026, 12, 1, 3, 30, 0, 7, time.UTC)
	h.Status++
	return h
}

// TestEntryHead: DecodeEntryHead reads the head of every test entry from a
// prefix of its encoding, and AppendEntryHead writes a new head before the
// rest of the metadata, which decodes to the entry with that head: with no
// room to fill, exactly what EncodeEntryMeta gives for it, and padded to
// each size up to what the lifetime's varint can take.
func TestEntryHead(t *testing.T) {
	for name, e := range codecTestEntries() {
		bodyLen := bodyLenOf(e)
		enc, err := EncodeEntryMeta(e, bodyLen)
		if err != nil {
			t.Fatal(err)
		}
		h, metaLen, bl, err := DecodeEntryHead(append(bytes.Clone(enc), "body"...))
		if err != nil || metaLen != len(enc) || bl != max(bodyLen, 0) || !headsEqual(h, e.Head()) {
			t.Fatalf("%s: DecodeEntryHead = %+v, %d, %d, %v; want %+v, %d, %d", name, h, metaLen, bl, err, e.Head(), len(enc), max(bodyLen, 0))
		}
		for _, nonce := range []string{"", "n", e.Nonce + "-longer-than-before"} {
			nh := softHead(h, nonce)
			want := e.WithHead(nh)
			exact, err := EncodeEntryMeta(want, bodyLen)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendEntryHead([]byte("ab"), enc, nh, 0)
			if err != nil || string(got[:2]) != "ab" || !bytes.Equal(got[2:], exact) {
				t.Fatalf("%s, Nonce %q: AppendEntryHead = %x, %v;\nEncodeEntryMeta gives %x", name, nonce, got, err, exact)
			}
			want.Header = codecNormalizeHeader(want.Header)
			want.Body = nil
			room := binary.MaxVarintLen64 - codecVarintSize(int64(nh.Lifetime))
			for pad := -2; pad <= room+2; pad++ {
				got, err := AppendEntryHead(nil, enc, nh, len(exact)+pad)
				if err != nil {
					t.Fatalf("%s, pad %d: %v", name, pad, err)
				}
				wantLen := len(exact)
				if pad > 0 && pad <= room {
					wantLen += pad
				}
				d, m, bl, err := DecodeEntryMeta(got)
				if len(got) != wantLen || err != nil || m != len(got) || bl != max(bodyLen, 0) || !codecEntriesEqual(d, want) {
					t.Fatalf("%s, pad %d: %d bytes (want %d), decoded %+v, %d, %d, %v;\nwant %+v", name, pad, len(got), wantLen, d, m, bl, err, want)
				}
				// With the body after it, it is a whole entry.
				var u Entry
				if err := u.UnmarshalBinary(append(got, e.Body...)); err != nil {
					t.Fatalf("%s, pad %d: UnmarshalBinary: %v", name, pad, err)
				}
				w := *want
				w.Body = e.Body
				if !codecEntriesEqual(&u, &w) {
					t.Fatalf("%s, pad %d: UnmarshalBinary gave\n %+v\nwant %+v", name, pad, &u, &w)
				}
			}
		}
	}
}

// TestEntryHeadAlone: with no entry read, AppendEntryHead writes the
// prefix of an entry that has nothing but its head, as EncodeEntryMeta
// does for it (a nil body).
func TestEntryHeadAlone(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 30, 0, 0, time.UTC)
	for _, h := range []EntryHead{
		{Kind: KindTombstone, Nonce: "gen-1", ResponseTime: t0, Expires: t0.Add(time.Minute)},
		{},
		{Kind: KindResponse, Status: 200, Lifetime: -time.Second, InitialAge: math.MaxInt64},
	} {
		want, err := EncodeEntryMeta(h.Entry(), -1)
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range [][]byte{nil, {}} {
			got, err := AppendEntryHead(nil, old, h, 0)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("AppendEntryHead(%+v) = %x, %v; want %x", h, got, err, want)
			}
		}
	}
}

// TestEntryHeadErrors: what is not an encoding's prefix, or a head the
// format cannot hold, is an error that wraps ErrEntryFormat, not a
// panic, and AppendEntryHead then returns nil.
func TestEntryHeadErrors(t *testing.T) {
	e := codecTestEntries()["response"]
	enc, err := EncodeEntryMeta(e, bodyLenOf(e))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"truncated header": enc[:EntryHeaderSize-1],
		"truncated meta":   enc[:len(enc)-1],
		"bad magic":        append([]byte("LRDX"), enc[4:]...),
		"version 1":        append([]byte("LRDE\x01"), enc[5:]...),
		"cut in the head":  codecWithMetaLen(enc[:EntryHeaderSize+3], 3),
	}
	for name, b := range bad {
		if _, _, _, err := DecodeEntryHead(b); !errors.Is(err, ErrEntryFormat) {
			t.Errorf("DecodeEntryHead, %s: %v", name, err)
		}
		if got, err := AppendEntryHead(nil, b, e.Head(), 0); got != nil || !errors.Is(err, ErrEntryFormat) {
			t.Errorf("AppendEntryHead, %s: %x, %v", name, got, err)
		}
	}
	far := e.Head()
	far.Expires = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, err := AppendEntryHead(nil, enc, far, 0); got != nil || !errors.Is(err, ErrEntryFormat) {
		t.Errorf("AppendEntryHead of the year 2300: %x, %v", got, err)
	}
}

// codecWithMetaLen returns b with its header's metadata length set to n.
func codecWithMetaLen(b []byte, n uint32) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[len(entryMagic)+1:], n)
	return b
}

// TestEntryHeadAllocs: DecodeEntryHead allocates the Nonce only, and
// AppendEntryHead nothing when dst has room: a soft purge rewrites 100,000
// heads, and what it allocates the hits served meanwhile pay for in
// collections.
func TestEntryHeadAllocs(t *testing.T) {
	for name, e := range codecTestEntries() {
		enc, err := EncodeEntryMeta(e, bodyLenOf(e))
		if err != nil {
			t.Fatal(err)
		}
		want := 0.0
		if e.Nonce != "" {
			want = 1
		}
		if n := testing.AllocsPerRun(50, func() { _, _, _, _ = DecodeEntryHead(enc) }); n != want {
			t.Errorf("%s: DecodeEntryHead allocates %v times, want %v", name, n, want)
		}
		dst := make([]byte, 0, 2*len(enc)+64)
		nh := softHead(e.Head(), "gen-2")
		if n := testing.AllocsPerRun(50, func() { _, _ = AppendEntryHead(dst, enc, nh, len(enc)) }); n != 0 {
			t.Errorf("%s: AppendEntryHead allocates %v times", name, n)
		}
	}
}

func FuzzEntryHead(f *testing.F) {
	codecFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, prefix []byte) {
		h, metaLen, bodyLen, err := DecodeEntryHead(prefix)
		if err != nil && !errors.Is(err, ErrEntryFormat) {
			t.Fatalf("DecodeEntryHead: an error that does not wrap ErrEntryFormat: %v", err)
		}
		nh := softHead(h, h.Nonce+"~")
		out, aerr := AppendEntryHead(nil, prefix, nh, len(prefix))
		if aerr != nil && (out != nil || !errors.Is(aerr, ErrEntryFormat)) {
			t.Fatalf("AppendEntryHead: %x, %v", out, aerr)
		}
		e, m, bl, derr := DecodeEntryMeta(prefix)
		if derr != nil {
			return
		}
		// What decodes whole has that head, and takes a new one.
		if err != nil || m != metaLen || bl != bodyLen || !headsEqual(h, e.Head()) {
			t.Fatalf("DecodeEntryHead = %+v, %d, %d, %v; DecodeEntryMeta's head %+v, %d, %d", h, metaLen, bodyLen, err, e.Head(), m, bl)
		}
		if aerr != nil {
			if errors.Is(checkTimes(nh.RequestTime, nh.ResponseTime, nh.Expires), ErrEntryFormat) {
				return
			}
			t.Fatalf("AppendEntryHead of what decodes: %v", aerr)
		}
		want := e.WithHead(nh)
		got, gm, gbl, err := DecodeEntryMeta(out)
		if err != nil || gm != len(out) || gbl != bodyLen || !codecEntriesEqual(got, want) {
			t.Fatalf("the new head's prefix decodes to %+v, %d, %d, %v;\nwant %+v, %d, %d", got, gm, gbl, err, want, len(out), bodyLen)
		}
	})
}
