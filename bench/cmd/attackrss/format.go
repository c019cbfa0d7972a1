package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func fmtBytes(n float64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", n/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", n)
	}
}

// fmtCounts formats a count per value as "v×n v×n", by value.
func fmtCounts[K int | int64 | string](m map[K]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		s := fmt.Sprint(k)
		if s == "" {
			s = `""`
		}
		parts = append(parts, fmt.Sprintf("%s×%d", s, m[k]))
	}
	return strings.Join(parts, " ")
}

func sortedKeys[K int | int64 | string](m map[K]int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func maxKey(m map[int64]int) int64 {
	var x int64
	for k := range m {
		x = max(x, k)
	}
	return x
}
