package bench

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gregjones/httpcache"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/memory"
)

// Client-side caches: a hit through an http.RoundTripper, larder.Transport
// against github.com/gregjones/httpcache's Transport, each over the same
// in-process origin (handlerTransport, as the Gregjones peer above uses).
// The caller does what an http.Client's caller does: RoundTrip, read the
// body whole, close it. github.com/bartventer/httpcache is not compared:
// the module proxy does not serve it (403, "not available"). The names are
// BenchmarkClient<Peer>_Hit_<Size>.

func BenchmarkClientLarder_Hit_1K(b *testing.B)     { benchClient(b, "Larder", 0) }
func BenchmarkClientLarder_Hit_64K(b *testing.B)    { benchClient(b, "Larder", 1) }
func BenchmarkClientGregjones_Hit_1K(b *testing.B)  { benchClient(b, "Gregjones", 0) }
func BenchmarkClientGregjones_Hit_64K(b *testing.B) { benchClient(b, "Gregjones", 1) }

// clientPeer returns the caching RoundTripper of a peer over o.
func clientPeer(tb testing.TB, name string, o http.Handler) http.RoundTripper {
	switch name {
	case "Larder":
		s, err := memory.New(memory.Options{MaxBytes: storeBudget})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(s.Close)
		return larder.NewTransport(handlerTransport{o}, s)
	case "Gregjones":
		t := httpcache.NewTransport(newBoundedCache(4096))
		t.Transport = handlerTransport{o}
		return t
	}
	tb.Fatalf("no client peer %q", name)
	return nil
}

// clientHit makes one request through rt and reads the response whole; it
// fails unless the response is a hit with the whole body.
func clientHit(rt http.RoundTripper, req *http.Request, buf []byte, size int) error {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || n != int64(size) {
		return fmt.Errorf("status %d, %d body bytes", resp.StatusCode, n)
	}
	if !servedHit(resp.Header) {
		return fmt.Errorf("not a hit: %v", resp.Header)
	}
	return nil
}

// servedHit reports whether a response header says it is a hit: Larder's
// Cache-Status or gregjones/httpcache's X-From-Cache. It reads the map
// directly: the check is not what is measured.
func servedHit(h http.Header) bool {
	if v := h["X-From-Cache"]; len(v) == 1 && v[0] == "1" {
		return true
	}
	v := h["Cache-Status"]
	return len(v) == 1 && strings.Contains(v[0], "; hit")
}

func benchClient(b *testing.B, peer string, size int) {
	n := sizes[size].n
	b.Run("seq", func(b *testing.B) {
		o := newOrigin(n)
		rt := clientPeer(b, peer, o)
		req, err := http.NewRequest(http.MethodGet, "http://example.com/obj", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header["Accept"] = []string{"*/*"}
		buf := make([]byte, 32<<10)
		if err := warmClient(rt, req, buf); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(n))
		cpu0 := processCPU()
		for b.Loop() {
			if err := clientHit(rt, req, buf, n); err != nil {
				b.Fatal(err)
			}
		}
		// CPU time per hit, GC included: steadier than ns/op on a
		// machine whose CPUs other work shares.
		if cpu := processCPU() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
		if c := o.calls.Load(); c != 1 {
			b.Fatalf("origin called %d times, want 1", c)
		}
	})
	b.Run("par", func(b *testing.B) {
		o := newOrigin(n)
		rt := clientPeer(b, peer, o)
		req, err := http.NewRequest(http.MethodGet, "http://example.com/obj", nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := warmClient(rt, req, make([]byte, 32<<10)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(n))
		cpu0 := processCPU()
		defer func() {
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		}()
		var once sync.Once
		var failed error
		b.RunParallel(func(pb *testing.PB) {
			// One request per goroutine: a RoundTripper's caller does
			// not share a request between concurrent calls.
			r := req.Clone(req.Context())
			buf := make([]byte, 32<<10)
			for pb.Next() {
				if err := clientHit(rt, r, buf, n); err != nil {
					once.Do(func() { failed = err })
					return
				}
			}
		})
		if failed != nil {
			b.Fatal(failed)
		}
		if c := o.calls.Load(); c != 1 {
			b.Fatalf("origin called %d times, want 1", c)
		}
	})
}

// warmClient makes the first request, the miss that stores the response.
func warmClient(rt http.RoundTripper, req *http.Request, buf []byte) error {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(io.Discard, resp.Body, buf)
	resp.Body.Close()
	if t, ok := rt.(*larder.Transport); ok {
		_ = t.Close()
	}
	return err
}

// TestClientPeers checks that each client peer's second request is a hit.
func TestClientPeers(t *testing.T) {
	for _, peer := range []string{"Larder", "Gregjones"} {
		o := newOrigin(1 << 10)
		rt := clientPeer(t, peer, o)
		req, _ := http.NewRequest(http.MethodGet, "http://example.com/obj", nil)
		buf := make([]byte, 32<<10)
		if err := warmClient(rt, req, buf); err != nil {
			t.Fatal(err)
		}
		if err := clientHit(rt, req, buf, 1<<10); err != nil {
			t.Errorf("%s: %v", peer, err)
		}
	}
}
