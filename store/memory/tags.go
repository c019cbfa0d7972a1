package memory

import (
	"context"
	"time"

	"github.com/larder-cache/larder"
)

var _ larder.TagStore = (*Store)(nil)

// AddTags records key under each of tags until expires, unless one of the
// tags was purged at or after since (see larder.TagStore). The index lives
// beside the entries, in this process: it forgets a key once the expiry
// given with it has passed (not when the entry is evicted earlier for
// size), so it holds at most the keys stored in the last longest-lifetime,
// and its memory is not counted in MaxBytes. It never fails.
func (s *Store) AddTags(_ context.Context, key string, tags []string, since, expires time.Time) (bool, error) {
	return s.tags.Add(key, tags, since, expires, since), nil
}

// PurgeTags records a purge of each tag at now, kept for keep, and returns
// the keys recorded under them (see larder.TagStore). It never fails.
func (s *Store) PurgeTags(_ context.Context, tags []string, now time.Time, keep time.Duration) ([]string, error) {
	return s.tags.Purge(tags, now, keep), nil
}
