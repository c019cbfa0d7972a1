package larder_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// TestTransportStreamedHits: over a store that gives bodies as streams
// (store/disk), a Transport hit copies the body from the store in several
// reads: the caller gets the whole body, byte for byte, for bodies stored
// whole and stored apart; and a body that fails midway is an error of
// RoundTrip or of the body's Read, never a panic nor a complete-looking
// short body.
func TestTransportStreamedHits(t *testing.T) {
	for _, n := range []int{200 << 10, 3 << 20} { // stored whole, and apart (past the 1 MiB body buffer)
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			body := make([]byte, n)
			for i := range body {
				body[i] = byte(i*7 + i/251)
			}
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Content-Length", strconv.Itoa(n))
				_, _ = w.Write(body)
			}))
			defer origin.Close()
			s := newStreamStore(t, nil)
			tr := larder.NewTransport(nil, s)
			defer tr.Close()
			client := &http.Client{Transport: tr}
			get := func() ([]byte, string, error) {
				resp, err := client.Get(origin.URL + "/b")
				if err != nil {
					return nil, "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return b, resp.Header.Get("Cache-Status"), err
			}
			if b, _, err := get(); err != nil || !bytes.Equal(b, body) {
				t.Fatalf("miss: %d bytes, %v", len(b), err)
			}
			_ = tr.Close() // the fill is behind the response
			b, cs, err := get()
			if err != nil || !bytes.Equal(b, body) {
				t.Fatalf("hit (%s): %d bytes, equal %v, %v", cs, len(b), bytes.Equal(b, body), err)
			}
			if s.streams.Load() == 0 {
				t.Fatal("the body was not read as a stream")
			}
			s.failAt.Store(100 << 10)
			defer s.failAt.Store(0)
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("RoundTrip panicked: %v", v)
					}
				}()
				b, cs, err = get()
			}()
			if err == nil {
				t.Fatalf("a body failing midway (%s): %d bytes and no error", cs, len(b))
			}
		})
	}
}

// TestTransportStreamedRevalidation: a stale response whose stored body
// fails midway while the origin's 304 refreshes it: a body stored whole is
// read before anything is sent, so the cache fetches the response anew and
// the caller gets it whole; a body stored apart (past the body buffer) is
// sent from the store on the exchange's goroutine, so the caller's body
// ends with an error. Neither crashes the program (the engine's abort is a
// panic only an http.Server recovers), and no short body looks complete.
func TestTransportStreamedRevalidation(t *testing.T) {
	for _, n := range []int{256 << 10, 3 << 20} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			clk := newClock()
			body := bytes.Repeat([]byte("0123456789abcdef"), n/16)
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=1")
				w.Header().Set("ETag", `"v1"`)
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			}))
			defer origin.Close()
			s := newStreamStore(t, clk)
			tr := larder.NewTransport(nil, s, larder.WithClock(clk.Now))
			defer tr.Close()
			client := &http.Client{Transport: tr}
			get := func() ([]byte, error) {
				resp, err := client.Get(origin.URL + "/r")
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				return io.ReadAll(resp.Body)
			}
			if b, err := get(); err != nil || !bytes.Equal(b, body) {
				t.Fatalf("miss: %d bytes, %v", len(b), err)
			}
			_ = tr.Close()
			clk.Advance(5 * time.Second)
			s.failAt.Store(64 << 10)
			b, err := get()
			switch {
			case n < 1<<20 && (err != nil || !bytes.Equal(b, body)):
				t.Fatalf("stored whole: %d bytes, %v; want the whole body fetched anew", len(b), err)
			case n >= 1<<20 && err == nil:
				t.Fatalf("stored apart: %d bytes and no error", len(b))
			}
		})
	}
}
