package soak_test

import (
	"errors"
	"testing"

	"github.com/larder-cache/larder/internal/soak"
)

func TestBody(t *testing.T) {
	b := soak.MakeBody("/p/007", 42, "fr", "u03", 500)
	if len(b) != 500 {
		t.Fatalf("len %d", len(b))
	}
	got, err := soak.ParseBody(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := (soak.Body{Path: "/p/007", Version: 42, Variant: "fr", User: "u03", Len: 500}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if string(soak.MakeBody("/p/007", 42, "fr", "u03", 500)) != string(b) {
		t.Fatal("MakeBody is not deterministic")
	}
	if string(soak.MakeBody("/p/007", 43, "fr", "u03", 500)[100:200]) == string(b[100:200]) {
		t.Fatal("the filler does not depend on the version")
	}
	if _, err := soak.ParseBody(b[:499]); !errors.Is(err, soak.ErrTruncated) {
		t.Errorf("truncated body: %v", err)
	}
	c := append([]byte(nil), b...)
	c[250] ^= 1
	if _, err := soak.ParseBody(c); !errors.Is(err, soak.ErrChecksum) {
		t.Errorf("corrupt body: %v", err)
	}
	if _, err := soak.ParseBody([]byte("hello")); err == nil {
		t.Error("no error for a foreign body")
	}
}
