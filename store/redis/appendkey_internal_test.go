package redis

import (
	"strings"
	"testing"
)

// TestAppendKey: appendKey appends what Key returns, and allocates nothing
// in a buffer with room.
func TestAppendKey(t *testing.T) {
	for _, prefix := range []string{"", DefaultPrefix, "p:"} {
		s := &Store{prefix: prefix}
		for _, k := range []string{
			"",
			"https://example.com/a",
			"https://example.com/a\x00accept-language=de",
			"\x00",
			"https://example.com/" + strings.Repeat("long/", 100),
		} {
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
