package larder

import "sync"

// inParallel calls fn for each item on a goroutine of its own, at most
// limit at once, and returns when all calls are done, with the first error
// (the first to be reported, when several fail at once).
func inParallel[T any](items []T, limit int, fn func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, limit)
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// chunks splits keys into slices of at most n keys, in order.
func chunks(keys []string, n int) [][]string {
	out := make([][]string, 0, (len(keys)+n-1)/n)
	for len(keys) > 0 {
		c := keys[:min(len(keys), n)]
		keys = keys[len(c):]
		out = append(out, c)
	}
	return out
}
