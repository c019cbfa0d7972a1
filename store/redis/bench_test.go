package redis_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/redis"
)

// BenchmarkStore: one store call on loopback Redis, for a 1 KiB body.
func BenchmarkStore(b *testing.B) {
	for _, sv := range servers {
		b.Run(sv.name, func(b *testing.B) {
			c := sv.client(b)
			s := newStore(b, c, redis.Options{})
			ctx := context.Background()
			e := entry(string(make([]byte, 1024)), "gen")
			if err := s.Set(ctx, "https://example.com/a", e, time.Minute); err != nil {
				b.Fatal(err)
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Get(ctx, "https://example.com/a"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("GetMulti2", func(b *testing.B) {
				keys := []string{"https://example.com/a", "https://example.com/a\x00v=gen\x00\x00x"}
				for b.Loop() {
					if _, err := s.GetMulti(ctx, keys); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Set", func(b *testing.B) {
				for b.Loop() {
					if err := s.Set(ctx, "https://example.com/s", e, time.Minute); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("SetIf", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.SetIf(ctx, "https://example.com/s", e, time.Minute, "gen"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkHit: a hit through the cache's middleware on loopback Redis,
// a plain URL (one GET) and one that varies (index and variant in one
// GetMulti), 1 KiB bodies.
func BenchmarkHit(b *testing.B) {
	for _, sv := range servers {
		b.Run(sv.name, func(b *testing.B) {
			c := sv.client(b)
			s := newStore(b, c, redis.Options{})
			cache := larder.New(s)
			defer cache.Close()
			body := make([]byte, 1024)
			h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				if r.URL.Path == "/vary" {
					w.Header().Set("Vary", "Accept-Language")
				}
				w.Write(body)
			}))
			for _, path := range []string{"/plain", "/vary"} {
				serve(h, "GET", path, "Accept-Language", "de")
				cache.Close()
				serve(h, "GET", path, "Accept-Language", "de") // the hint
				if w := serve(h, "GET", path, "Accept-Language", "de"); !isHit(w) {
					b.Fatalf("%s: not a hit: %q", path, w.Header().Get("Cache-Status"))
				}
				b.Run(path[1:], func(b *testing.B) {
					for b.Loop() {
						if w := serve(h, "GET", path, "Accept-Language", "de"); w.Code != 200 {
							b.Fatal(w.Code)
						}
					}
				})
			}
		})
	}
}
