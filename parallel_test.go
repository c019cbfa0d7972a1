package larder

import (
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
)

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 100} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = strconv.Itoa(i)
		}
		cs := chunks(keys, 32)
		if want := (n + 31) / 32; len(cs) != want {
			t.Fatalf("%d keys: %d chunks, want %d", n, len(cs), want)
		}
		if got := slices.Concat(cs...); !slices.Equal(got, keys) && n > 0 {
			t.Fatalf("%d keys: chunks %v", n, cs)
		}
		for _, c := range cs {
			if len(c) == 0 || len(c) > 32 {
				t.Fatalf("%d keys: a chunk of %d", n, len(c))
			}
		}
	}
}

// TestInParallel: every item is done, at most limit at once, and an error
// of one is returned.
func TestInParallel(t *testing.T) {
	var running, most, done atomic.Int32
	errBad := errors.New("bad")
	items := make([]int, 200)
	for i := range items {
		items[i] = i
	}
	err := inParallel(items, 8, func(i int) error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		defer running.Add(-1)
		done.Add(1)
		if i == 57 {
			return errBad
		}
		return nil
	})
	if !errors.Is(err, errBad) || done.Load() != 200 || most.Load() > 8 {
		t.Fatalf("err %v, %d done, %d at once at most", err, done.Load(), most.Load())
	}
}
