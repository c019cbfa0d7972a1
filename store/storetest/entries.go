package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// sampleEntries returns entries that use every exported field.
func sampleEntries() map[string]*larder.Entry {
	return map[string]*larder.Entry{
		"response": {
			Kind:   larder.KindResponse,
			Status: http.StatusOK,
			Header: http.Header{
				"Content-Type":  {"text/html; charset=utf-8"},
				"Cache-Control": {"max-age=60", "public"},
				"Set-Cookie":    {"b=2", "a=1", "c=3"},
				"X-Unicode":     {"日本語 🍕"},
				"X-Empty":       {""},
			},
			Body:         []byte("<html>hello, world</html>"),
			RequestTime:  epoch,
			ResponseTime: epoch.Add(150 * time.Millisecond),
			InitialAge:   3 * time.Second,
			Lifetime:     time.Minute,
			Expires:      epoch.Add(2 * time.Minute),
			VaryNames:    []string{"accept-encoding", "accept-language"},
			Tags:         []string{"product:1", "category:shoes"},
		},
		"vary index": {
			Kind:      larder.KindVary,
			Expires:   epoch.Add(time.Hour),
			VaryNames: []string{"accept", "accept-encoding"},
			Nonce:     "nonce-8f3a2c",
		},
		"body stored apart": {
			Kind:         larder.KindResponse,
			Status:       http.StatusOK,
			Header:       http.Header{"Content-Length": {"123456789"}},
			ResponseTime: epoch,
			Lifetime:     time.Minute,
			Expires:      epoch.Add(2 * time.Minute),
			Nonce:        "nonce-7d1e",
			BodyKey:      "https://example.com/big\x00body\x00nonce-7c0",
		},
		"body": {
			Kind:    larder.KindBody,
			Body:    []byte("the body of a response stored apart"),
			Expires: epoch.Add(2 * time.Minute),
		},
		"minimal": {
			Kind:   larder.KindResponse,
			Status: http.StatusNoContent,
		},
		"not found with body": {
			Kind:         larder.KindResponse,
			Status:       http.StatusNotFound,
			Header:       http.Header{"Content-Type": {"text/plain"}},
			Body:         []byte{0, 1, 2, 0xff, '\n', '\r'},
			ResponseTime: epoch,
			Lifetime:     -time.Second,
		},
	}
}

func newEntry(status int, body string) *larder.Entry {
	return &larder.Entry{
		Kind:         larder.KindResponse,
		Status:       status,
		Header:       http.Header{"X-Body": {body}},
		Body:         []byte(body),
		ResponseTime: epoch,
		Lifetime:     time.Minute,
	}
}

// cloneEntry deep-copies the exported fields of e.
func cloneEntry(e *larder.Entry) *larder.Entry {
	c := &larder.Entry{
		Kind:         e.Kind,
		Status:       e.Status,
		Header:       e.Header.Clone(),
		Body:         bytes.Clone(e.Body),
		RequestTime:  e.RequestTime,
		ResponseTime: e.ResponseTime,
		InitialAge:   e.InitialAge,
		Lifetime:     e.Lifetime,
		Expires:      e.Expires,
		VaryNames:    slices.Clone(e.VaryNames),
		Nonce:        e.Nonce,
		Tags:         slices.Clone(e.Tags),
		BodyKey:      e.BodyKey,
	}
	return c
}

// diffEntries describes how got differs from want in their exported fields, or
// returns "" if they are equal. Nil and empty slices and maps count as equal.
func diffEntries(got, want *larder.Entry) string {
	if got == nil || want == nil {
		if got == want {
			return ""
		}
		return fmt.Sprintf("got %p, want %p", got, want)
	}
	var d []string
	add := func(field string, g, w any) {
		d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, w))
	}
	if got.Kind != want.Kind {
		add("Kind", got.Kind, want.Kind)
	}
	if got.Status != want.Status {
		add("Status", got.Status, want.Status)
	}
	if !headersEqual(got.Header, want.Header) {
		add("Header", got.Header, want.Header)
	}
	if !bytes.Equal(got.Body, want.Body) {
		if len(got.Body) > 64 || len(want.Body) > 64 {
			add("Body", fmt.Sprintf("%d bytes", len(got.Body)), fmt.Sprintf("%d bytes (different)", len(want.Body)))
		} else {
			add("Body", fmt.Sprintf("%q", got.Body), fmt.Sprintf("%q", want.Body))
		}
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"RequestTime", got.RequestTime, want.RequestTime},
		{"ResponseTime", got.ResponseTime, want.ResponseTime},
		{"Expires", got.Expires, want.Expires},
	} {
		if !f.got.Equal(f.want) || f.got.IsZero() != f.want.IsZero() {
			add(f.name, f.got, f.want)
		}
	}
	if got.InitialAge != want.InitialAge {
		add("InitialAge", got.InitialAge, want.InitialAge)
	}
	if got.Lifetime != want.Lifetime {
		add("Lifetime", got.Lifetime, want.Lifetime)
	}
	if !slices.Equal(got.VaryNames, want.VaryNames) {
		add("VaryNames", got.VaryNames, want.VaryNames)
	}
	if got.Nonce != want.Nonce {
		add("Nonce", got.Nonce, want.Nonce)
	}
	if !slices.Equal(got.Tags, want.Tags) {
		add("Tags", got.Tags, want.Tags)
	}
	if got.BodyKey != want.BodyKey {
		add("BodyKey", got.BodyKey, want.BodyKey)
	}
	return strings.Join(d, "\n")
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !slices.Equal(av, bv) {
			return false
		}
	}
	return true
}

func mustSet(t testing.TB, s larder.Store, key string, e *larder.Entry, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, e, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func mustGet(t testing.TB, s larder.Store, key string) *larder.Entry {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e == nil {
		t.Fatalf("Get(%q) returned a nil entry and no error", key)
	}
	return e
}

func mustMiss(t testing.TB, s larder.Store, key string) {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if !errors.Is(err, larder.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", key, e, err)
	}
}

func mustEqual(t testing.TB, what string, got, want *larder.Entry) {
	t.Helper()
	if d := diffEntries(got, want); d != "" {
		t.Fatalf("%s differs:\n%s", what, d)
	}
}
