package larder

import (
	"errors"
	"testing"
	"unsafe"
)

// within reports whether b's bytes lie inside data's.
func within(b, data []byte) bool {
	if len(b) == 0 {
		return true
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(data))
}

// TestDecodeEntry: DecodeEntry decodes every test entry, in both format
// versions, as UnmarshalBinary does, without copying: its Body and
// strings are views of the data, and the Body's capacity is its length.
func TestDecodeEntry(t *testing.T) {
	for name, e := range codecTestEntries() {
		v2, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		forms := map[string][]byte{"v2": v2}
		if e.BodyKey == "" {
			forms["v1"] = codecV1(t, v2)
		}
		for form, data := range forms {
			data = append(data, "room"...)[:len(data)] // capacity past the body
			var want Entry
			if err := want.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEntry(data)
			if err != nil || !codecEntriesEqual(got, &want) {
				t.Fatalf("%s, %s: DecodeEntry = %+v, %v;\nwant %+v", name, form, got, err, &want)
			}
			if !within(got.Body, data) || cap(got.Body) != len(got.Body) {
				t.Fatalf("%s, %s: the Body is not a view of the data, or has room past it (cap %d, len %d)", name, form, cap(got.Body), len(got.Body))
			}
			if got.Nonce != "" && !within(unsafe.Slice(unsafe.StringData(got.Nonce), len(got.Nonce)), data) {
				t.Fatalf("%s, %s: the Nonce is a copy", name, form)
			}
			for k, vs := range got.Header {
				for _, v := range vs {
					if v != "" && !within(unsafe.Slice(unsafe.StringData(v), len(v)), data) {
						t.Fatalf("%s, %s: the value of %s is a copy", name, form, k)
					}
				}
			}
		}
	}
}

// TestDecodeEntryErrors: what UnmarshalBinary refuses, DecodeEntry refuses
// too, with an error that wraps ErrEntryFormat and no entry.
func TestDecodeEntryErrors(t *testing.T) {
	e := codecTestEntries()["response"]
	data, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"nil":       nil,
		"magic":     []byte(entryMagic),
		"truncated": data[:len(data)-1],
		"longer":    append(append([]byte(nil), data...), 'x'),
		"version 3": append([]byte(entryMagic+"\x03"), data[5:]...),
	} {
		if got, err := DecodeEntry(b); got != nil || !errors.Is(err, ErrEntryFormat) {
			t.Errorf("%s: DecodeEntry = %+v, %v", name, got, err)
		}
	}
}
