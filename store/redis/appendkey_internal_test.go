package redis

import (
	"strings"
	"testing"
)

// TestAppendKey: appendKey appends what Key returns, and allocates nothing
// in a buffer with room; redisKeys returns what Key does, and hashTag of
// it is Tag's.
func TestAppendKey(t *testing.T) {
	keys := []string{
		"",
		"https://example.com/a",
		"https://example.com/a\x00accept-language=de",
		"\x00",
		"https://example.com/" + strings.Repeat("long/", 100),
	}
	for _, prefix := range []string{"", DefaultPrefix, "p:"} {
		s := &Store{prefix: prefix}
		rkeys := s.redisKeys(keys)
		for i, k := range keys {
			if rkeys[i] != s.Key(k) {
				t.Errorf("redisKeys(%q)[%d] = %q, want %q", prefix, i, rkeys[i], s.Key(k))
			}
			if got := s.hashTag(rkeys[i]); got != Tag(k) {
				t.Errorf("hashTag(%q) = %q, want %q", rkeys[i], got, Tag(k))
			}
		}
		for _, k := range keys {
			b := s.appendKey([]byte("xyz"), k)
			if got, want := string(b), "xyz"+s.Key(k); got != want {
				t.Errorf("appendKey(%q, %q) = %q, want %q", prefix, k, got, want)
			}
			if n := s.keyLen(k); n != len(s.Key(k)) {
				t.Errorf("keyLen(%q) = %d, want %d", k, n, len(s.Key(k)))
			}
			buf := make([]byte, 0, s.keyLen(k))
			if a := testing.AllocsPerRun(10, func() { s.appendKey(buf[:0], k) }); a != 0 {
				t.Errorf("appendKey(%q) allocates %v times", k, a)
			}
		}
	}
}
