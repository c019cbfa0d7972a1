package memcache

import (
	"crypto/sha256"
	"encoding/base64"
	"math"
	"strings"
	"testing"
	"time"
)

func TestExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		ttl  time.Duration
		want int32
	}{
		{time.Nanosecond, 2},
		{time.Second, 2},
		{time.Second + time.Nanosecond, 3},
		{1500 * time.Millisecond, 3},
		{time.Minute, 61},
		{30*24*time.Hour - time.Second, maxRelative},           // the last relative time
		{30 * 24 * time.Hour, 1_800_000_000 + maxRelative + 1}, // absolute
		{30*24*time.Hour + time.Millisecond, 1_800_000_000 + maxRelative + 2},
		{365 * 24 * time.Hour, 1_800_000_000 + 365*24*3600 + 1},
		{time.Duration(math.MaxInt64), maxRelative}, // past 2038: 30 days
	} {
		if got := expiration(c.ttl, now); got != c.want {
			t.Errorf("expiration(%v) = %d, want %d", c.ttl, got, c.want)
		}
	}
	// Past 2038 even a 31-day ttl cannot be absolute.
	if got := expiration(31*24*time.Hour, time.Unix(math.MaxInt32-10, 0)); got != maxRelative {
		t.Errorf("expiration near 2038 = %d, want %d", got, maxRelative)
	}
}

func TestKey(t *testing.T) {
	if hashLen != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		t.Fatalf("hashLen = %d", hashLen)
	}
	s, err := newStore(nil, Options{Prefix: strings.Repeat("p", MaxPrefixLen)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, k := range []string{"", " ", "\x00", "a", "a\x00", strings.Repeat("ключ", 5000), "GET https://example.com/"} {
		mk := s.key(k)
		if len(mk) != 250 || !strings.HasPrefix(mk, s.prefix) {
			t.Fatalf("key(%.20q) = %q: %d bytes", k, mk, len(mk))
		}
		for i := 0; i < len(mk); i++ {
			if mk[i] <= ' ' || mk[i] >= 0x7f {
				t.Fatalf("key(%.20q) has byte %#x", k, mk[i])
			}
		}
		if o, ok := seen[mk]; ok {
			t.Fatalf("keys %q and %q share %q", o, k, mk)
		}
		seen[mk] = k
	}
}
