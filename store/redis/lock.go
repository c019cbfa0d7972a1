package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

var _ larder.FillLocker = (*Store)(nil)

// LockKey returns the Redis key of the fill lock named k (see the package
// doc, "Fill locks"): apart from every entry's key, with the same hash tag
// as the entry k.
func (s *Store) LockKey(k string) string {
	return s.prefix + "fill:{" + Tag(k) + "}" + k
}

// unlockScript deletes KEYS[1] if it still holds ARGV[1], the token of the
// lock's holder.
var unlockScript = goredis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// LockFill takes the fill lock named key for ttl (see larder.FillLocker):
// one SET NX PX of a random token, which expires with the lock. release
// deletes the key only if it still holds the token (a script compares
// them), so a lock that expired and was taken by another process is left
// alone; it gives up after ttl, or a second at most. A ttl under 1 ms is
// taken as 1 ms.
func (s *Store) LockFill(ctx context.Context, key string, ttl time.Duration) (release func(), held bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	rk := s.LockKey(key)
	ttl = max(ttl.Truncate(time.Millisecond), time.Millisecond)
	ok, err := s.c.SetNX(ctx, rk, token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis: SET NX: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), min(ttl, time.Second))
		defer cancel()
		_ = unlockScript.Run(ctx, s.c, []string{rk}, token).Err()
	}, true, nil
}
