package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

// setIfScript is SetIf, atomic on the server. KEYS[1] is the key; ARGV[1]
// the generation the stored entry must have ("" for none, or an entry
// without a Nonce); ARGV[2] the ttl in milliseconds, "0" when the entry is
// not to be kept (the key is then deleted if the comparison holds); ARGV[3]
// the value. The stored Nonce is read from the value's header with two
// GETRANGE calls (a missing key reads as ""), never the whole value. It
// returns 1 when it stored, else 0, and an error for a value not in the
// store's format.
const setIfScript = `
local cur = ''
local head = redis.call('GETRANGE', KEYS[1], 0, 2)
if head ~= '' then
  if #head < 3 or string.byte(head, 1) ~= 1 then
    return redis.error_reply('` + formatErrorCode + ` the value is not in the larder store format')
  end
  local n = string.byte(head, 2) * 256 + string.byte(head, 3)
  if n > 0 then
    cur = redis.call('GETRANGE', KEYS[1], 3, 2 + n)
  end
end
if cur ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
return 1
`

// formatErrorCode starts the script's error for a value not in the
// store's format.
const formatErrorCode = "LARDERFORMAT"

var setIf = goredis.NewScript(setIfScript)

// SetIf stores e under key for ttl if the entry stored under key has
// Nonce == gen, or if none is (or one without a Nonce) and gen is "" (see
// larder.ConditionalStore). The comparison and the write are one Lua
// script, atomic on the server. As with Set, when the comparison holds but
// e is not kept (a ttl under 1 ms, a value larger than MaxValueSize), the
// key is deleted and SetIf returns false.
func (s *Store) SetIf(ctx context.Context, key string, e *larder.Entry, ttl time.Duration, gen string) (bool, error) {
	if e == nil {
		return false, errors.New("redis: SetIf of a nil entry")
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	v, ok, err := s.encodeValue(e, ttl)
	if err != nil {
		return false, err
	}
	ms := "0"
	if ok {
		ms = strconv.FormatInt(ttl.Milliseconds(), 10)
	}
	n, err := setIf.Run(ctx, s.c, []string{s.Key(key)}, gen, ms, v).Int()
	if err != nil {
		if strings.HasPrefix(err.Error(), formatErrorCode+" ") {
			return false, fmt.Errorf("redis: SetIf: %w: %w", larder.ErrEntryFormat, err)
		}
		return false, fmt.Errorf("redis: SetIf script: %w", err)
	}
	return n == 1, nil
}

// GetMulti returns the entries stored under keys, in order, nil for a key
// that holds none (see larder.MultiGetter). The keys are read by MGET:
// one for all of them on a standalone server, one per hash slot on a
// cluster (the keys of one URL share a hash tag, and so a slot), one per
// hash tag with any other client; several MGETs go together in a pipeline
// (one round trip to each node that holds some). A value that cannot be
// decoded fails the whole call.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]*larder.Entry, error) {
	out := make([]*larder.Entry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Group the keys, in the order of their first appearance.
	type group struct {
		idx  []int    // indexes in keys
		keys []string // the Redis keys
		cmd  *goredis.SliceCmd
	}
	var groups []*group
	byGroup := make(map[int]*group, 2)
	lastTag, lastGroup := "", 0
	for i, k := range keys {
		tag := Tag(k)
		gi := lastGroup
		if i == 0 || tag != lastTag {
			gi = s.group(tag, i)
			lastTag, lastGroup = tag, gi
		}
		g := byGroup[gi]
		if g == nil {
			g = &group{}
			byGroup[gi] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.keys = append(g.keys, s.prefix+"{"+tag+"}"+k)
	}

	if len(groups) == 1 {
		groups[0].cmd = s.c.MGet(ctx, groups[0].keys...)
	} else {
		_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, g := range groups {
				g.cmd = p.MGet(ctx, g.keys...)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("redis: MGET pipeline: %w", err)
		}
	}
	for _, g := range groups {
		vals, err := g.cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("redis: MGET: %w", err)
		}
		if len(vals) != len(g.idx) {
			return nil, fmt.Errorf("redis: MGET of %d keys returned %d values", len(g.idx), len(vals))
		}
		for j, v := range vals {
			if v == nil {
				continue
			}
			sv, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("redis: MGET returned a %T", v)
			}
			e, err := decodeValue(sv)
			if err != nil {
				s.dropCorrupt(ctx, g.keys[j], sv)
				return nil, err
			}
			out[g.idx[j]] = e
		}
	}
	return out, nil
}

// HonoursDeadline reports whether the store's client returns by the
// deadline of a call's context (larder.DeadlineStore): see
// ClientHonoursDeadline.
func (s *Store) HonoursDeadline() bool { return ClientHonoursDeadline(s.c) }

// ClientHonoursDeadline reports whether c returns by the deadline of a
// call's context: whether it is a *goredis.Client (a failover one
// included), a *goredis.ClusterClient or a *goredis.Ring made with
// ContextTimeoutEnabled. Without it go-redis waits on the network up to its
// own ReadTimeout and WriteTimeout (3 s by default) whatever the context
// says; a cache then calls the store on a goroutine of its own, which it
// gives up on at its store timeout.
func ClientHonoursDeadline(c goredis.UniversalClient) bool {
	switch c := c.(type) {
	case *goredis.Client:
		return c.Options().ContextTimeoutEnabled
	case *goredis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *goredis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// group returns the group of keys that a command on several keys may take
// a key of hash tag tag, the i-th key of a call, with: one server takes
// any keys in one command (0); a cluster those of one hash slot (1 + the
// slot); any other client (a ring, which shards by hash tag) one key at a
// time (-1 - i).
func (s *Store) group(tag string, i int) int {
	switch s.c.(type) {
	case *goredis.Client:
		return 0
	case *goredis.ClusterClient:
		return 1 + int(hashSlot(tag))
	}
	return -1 - i
}

// hashSlot is the Redis Cluster hash slot of a key whose hash tag is tag:
// CRC16 (XMODEM) of the tag, modulo 16384.
func hashSlot(tag string) uint16 {
	var crc uint16
	for i := 0; i < len(tag); i++ {
		crc ^= uint16(tag[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}
