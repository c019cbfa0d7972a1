package bench

import (
	"sync"
	"sync/atomic"
	"testing"
)

// In-process benchmarks: each peer (Bare, Larder, Gregjones, Souin) on each
// path (Hit, 304, Miss) with each body size (1K, 64K), sequential ("seq") and
// with b.RunParallel ("par", GOMAXPROCS goroutines). The top-level names are
// Benchmark<Peer>_<Path>_<Size>, so that "-bench 'Larder_Hit_1K'" or
// "-bench 'Larder.*Hit.*1K'" selects one.

func BenchmarkBare_Hit_1K(b *testing.B)       { benchPeer(b, "Bare", pathHit, 0) }
func BenchmarkBare_Hit_64K(b *testing.B)      { benchPeer(b, "Bare", pathHit, 1) }
func BenchmarkBare_304_1K(b *testing.B)       { benchPeer(b, "Bare", path304, 0) }
func BenchmarkBare_304_64K(b *testing.B)      { benchPeer(b, "Bare", path304, 1) }
func BenchmarkBare_Miss_1K(b *testing.B)      { benchPeer(b, "Bare", pathMiss, 0) }
func BenchmarkBare_Miss_64K(b *testing.B)     { benchPeer(b, "Bare", pathMiss, 1) }
func BenchmarkLarder_Hit_1K(b *testing.B)     { benchPeer(b, "Larder", pathHit, 0) }
func BenchmarkLarder_Hit_64K(b *testing.B)    { benchPeer(b, "Larder", pathHit, 1) }
func BenchmarkLarder_304_1K(b *testing.B)     { benchPeer(b, "Larder", path304, 0) }
func BenchmarkLarder_304_64K(b *testing.B)    { benchPeer(b, "Larder", path304, 1) }
func BenchmarkLarder_Miss_1K(b *testing.B)    { benchPeer(b, "Larder", pathMiss, 0) }
func BenchmarkLarder_Miss_64K(b *testing.B)   { benchPeer(b, "Larder", pathMiss, 1) }
func BenchmarkGregjones_Hit_1K(b *testing.B)  { benchPeer(b, "Gregjones", pathHit, 0) }
func BenchmarkGregjones_Hit_64K(b *testing.B) { benchPeer(b, "Gregjones", pathHit, 1) }
func BenchmarkGregjones_304_1K(b *testing.B)  { benchPeer(b, "Gregjones", path304, 0) }
func BenchmarkGregjones_304_64K(b *testing.B) { benchPeer(b, "Gregjones", path304, 1) }
func BenchmarkGregjones_Miss_1K(b *testing.B) { benchPeer(b, "Gregjones", pathMiss, 0) }
func BenchmarkGregjones_Miss_64K(b *testing.B) {
	benchPeer(b, "Gregjones", pathMiss, 1)
}
func BenchmarkSouin_Hit_1K(b *testing.B)   { benchPeer(b, "Souin", pathHit, 0) }
func BenchmarkSouin_Hit_64K(b *testing.B)  { benchPeer(b, "Souin", pathHit, 1) }
func BenchmarkSouin_304_1K(b *testing.B)   { benchPeer(b, "Souin", path304, 0) }
func BenchmarkSouin_304_64K(b *testing.B)  { benchPeer(b, "Souin", path304, 1) }
func BenchmarkSouin_Miss_1K(b *testing.B)  { benchPeer(b, "Souin", pathMiss, 0) }
func BenchmarkSouin_Miss_64K(b *testing.B) { benchPeer(b, "Souin", pathMiss, 1) }

func benchPeer(b *testing.B, peerName, path string, size int) {
	p := peerByName(peerName)
	n := sizes[size].n
	b.Run("seq", func(b *testing.B) { benchSeq(b, p, path, n) })
	b.Run("par", func(b *testing.B) { benchPar(b, p, path, n) })
}

func benchSeq(b *testing.B, p peer, path string, size int) {
	f := newFixture(b, p, size)
	warm := f.prepare(b, path)
	rn := f.runner(path)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	var n int64
	for b.Loop() {
		if err := rn.serve(); err != nil {
			b.Fatalf("%s %s request %d: %v", p.name, path, n, err)
		}
		n++
	}
	if err := f.checkCalls(path, warm, n); err != nil {
		b.Fatal(err)
	}
}

func benchPar(b *testing.B, p peer, path string, size int) {
	f := newFixture(b, p, size)
	warm := f.prepare(b, path)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	var (
		n        atomic.Int64
		failOnce sync.Once
		failed   error
	)
	b.RunParallel(func(pb *testing.PB) {
		rn := f.runner(path)
		var k int64
		for pb.Next() {
			if err := rn.serve(); err != nil {
				failOnce.Do(func() { failed = err })
				break
			}
			k++
		}
		n.Add(k)
	})
	if failed != nil {
		b.Fatalf("%s %s: %v", p.name, path, failed)
	}
	if err := f.checkCalls(path, warm, n.Load()); err != nil {
		b.Fatal(err)
	}
}

// TestPeersServeHits runs the benchmark setup of every peer as a plain test,
// so that CI ("go test -run . -bench XXX") catches a broken one: hits and 304s
// must not reach the origin and must carry the whole body (or none), a miss
// must reach it once and be a hit the next time, sequentially and from
// concurrent goroutines.
func TestPeersServeHits(t *testing.T) {
	for _, p := range peers {
		for _, sz := range sizes {
			for _, path := range []string{pathHit, path304, pathMiss} {
				t.Run(p.name+"/"+path+"/"+sz.name, func(t *testing.T) {
					f := newFixture(t, p, sz.n)
					warm := f.prepare(t, path)
					rn := f.runner(path)
					const seq = 20
					for i := range seq {
						if err := rn.serve(); err != nil {
							t.Fatalf("request %d: %v", i, err)
						}
					}
					if err := f.checkCalls(path, warm, seq); err != nil {
						t.Fatal(err)
					}
					// Concurrent requests, as RunParallel makes them.
					var wg sync.WaitGroup
					errs := make(chan error, 4)
					for range 4 {
						wg.Go(func() {
							rn := f.runner(path)
							for range 25 {
								if err := rn.serve(); err != nil {
									errs <- err
									return
								}
							}
						})
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						t.Fatal(err)
					}
					if err := f.checkCalls(path, warm, seq+100); err != nil {
						t.Fatal(err)
					}
				})
			}
			if p.caches {
				t.Run(p.name+"/MissThenHit/"+sz.name, func(t *testing.T) {
					// The miss path really stores: the same new URL again is a hit.
					f := newFixture(t, p, sz.n)
					rn := f.runner(pathHit)
					rn.base = newRequest("http://example.com/miss/again", "")
					for i := range 3 {
						if err := rn.serve(); err != nil {
							t.Fatalf("request %d: %v", i, err)
						}
					}
					if got := f.calls(); got != 1 {
						t.Fatalf("origin called %d times for 3 requests of one URL, want 1", got)
					}
				})
			}
		}
	}
}
