package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

var _ larder.TagStore = (*Store)(nil)

// The tag index (larder.TagStore). Each tag has two keys, in one hash slot
// of their own (so tags spread over a cluster's nodes):
//
//	<Prefix> "tagidx:{" <h> "}" <tag>    a sorted set: primary key -> expiry
//	<Prefix> "tagpurge:{" <h> "}" <tag>  a string: when the tag was last purged
//
// where h is the first 8 bytes of SHA-256 of "tag:" and the tag, in hex.
// Times are Unix microseconds, which a Lua number (a double) holds exactly.
// The sorted set's own expiry is that of its latest member, and AddTags
// removes its expired members, so the index of a tag lives as long as the
// entries that carry it and holds only those. A purge record expires after
// its keep. None of these keys starts like an entry's ("<Prefix>{").

// addTagScript is AddTags for one tag, atomic on the server. KEYS[1] is the
// index, KEYS[2] the purge record; ARGV[1] since, ARGV[2] the key's expiry
// (µs), ARGV[3] the key, ARGV[4] the index's time to live in ms. It returns
// 0 when the tag was purged at or after since, else records the key and
// returns 1.
const addTagScript = `
local p = redis.call('GET', KEYS[2])
if p and tonumber(p) >= tonumber(ARGV[1]) then
  return 0
end
local cur = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not cur or tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
`

// purgeTagScript writes the purge record of a tag: KEYS[1] is the record,
// ARGV[1] the purge time (µs), ARGV[2] its keep in ms. An earlier record is
// replaced, a later one kept.
const purgeTagScript = `
local p = redis.call('GET', KEYS[1])
if not p or tonumber(p) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`

var (
	addTag   = goredis.NewScript(addTagScript)
	purgeTag = goredis.NewScript(purgeTagScript)
)

// tagKeys returns the Redis keys of a tag's index and purge record.
func (s *Store) tagKeys(tag string) (idx, purged string) {
	sum := sha256.Sum256([]byte("tag:" + tag))
	h := "{" + hex.EncodeToString(sum[:tagLen/2]) + "}"
	return s.prefix + "tagidx:" + h + tag, s.prefix + "tagpurge:" + h + tag
}

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// AddTags records key under each of tags until expires, unless one of them
// was purged at or after since (see larder.TagStore): one Lua script per
// tag, atomic on the server, all sent in one pipeline. On false, the key may
// have been recorded under some of the other tags, which costs a purge of
// them no more than a tombstone too many.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, since, expires time.Time) (bool, error) {
	if len(tags) == 0 {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ttl := max(expires.Sub(since).Milliseconds(), 1)
	args := []any{micros(since), micros(expires), key, strconv.FormatInt(ttl, 10)}
	cmds := make([]*goredis.Cmd, len(tags))
	err := s.scriptPipeline(ctx, addTag, func(p goredis.Pipeliner) {
		for i, t := range tags {
			idx, purged := s.tagKeys(t)
			cmds[i] = addTag.EvalSha(ctx, p, []string{idx, purged}, args...)
		}
	})
	if err != nil {
		return false, fmt.Errorf("redis: AddTags: %w", err)
	}
	for _, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return false, fmt.Errorf("redis: AddTags: %w", err)
		}
		if n == 0 {
			return false, nil
		}
	}
	return true, nil
}

// purgePage is how many keys one call of a purge reads from a tag's index:
// Redis serves nothing else while it answers one, and the hits of other
// requests wait behind it. A page of 100 takes Redis under 0.1 ms; pages of
// 500 (0.3–0.5 ms each) raised the p99 of the hits during a purge of
// 100,000 entries (BENCHMARKS.md, purge by tag).
const purgePage = 100

// purgePageScript reads one page of a tag's index in the order of the
// sorted set (by expiry, then by key): KEYS[1] is the index; ARGV[1] the
// purge time (µs), ARGV[2] the last key of the previous page ("" for the
// first page), ARGV[3] its score as the previous page returned it, ARGV[4]
// the page's size. It returns the score of the page's last key ("" when
// the page is empty) and the page's keys: those after the previous page's
// last key, or on the first page those that expire after the purge time.
//
// The next page starts after the rank of the last key, read anew: keys
// added or removed before it meanwhile move ranks, not the key. If the last
// key was removed (expired) or moved (a fill extended its expiry: scores
// only grow), the page starts at the first key of its old score, which
// returns again those of that score already read (keys rarely share an
// expiry to the microsecond).
const purgePageScript = `
local start
if ARGV[2] == '' then
  start = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
else
  local r = redis.call('ZRANK', KEYS[1], ARGV[2])
  if r and redis.call('ZSCORE', KEYS[1], ARGV[2]) == ARGV[3] then
    start = r + 1
  else
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[3])
  end
end
local keys = redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[4]) - 1)
if #keys == 0 then
  return {'', keys}
end
return {redis.call('ZSCORE', KEYS[1], keys[#keys]), keys}
`

var purgePageRead = goredis.NewScript(purgePageScript)

// PurgeTags writes the purge record of each tag (one pipeline of Lua
// scripts), then reads the keys of each tag's index that expire after now,
// purgePage at a time (purgePageScript), so that a tag over many keys does
// not hold Redis for long (see larder.TagStore). Reading after the record
// is what makes the purge consistent: a fill that records its key after
// the record looked up after the purge, or is refused.
//
// Every key present in the index from the first page to the last is
// returned: pages follow the order of the sorted set, in which a key only
// moves forward (its score, its expiry, only grows), and each page starts
// at or before the position after the previous one's last key, and returns
// every key from there on that the page holds.
func (s *Store) PurgeTags(ctx context.Context, tags []string, now time.Time, keep time.Duration) ([]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	at, keepMS := micros(now), strconv.FormatInt(max(keep.Milliseconds(), 1), 10)
	err := s.scriptPipeline(ctx, purgeTag, func(p goredis.Pipeliner) {
		for _, t := range tags {
			_, purged := s.tagKeys(t)
			purgeTag.EvalSha(ctx, p, []string{purged}, at, keepMS)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("redis: PurgeTags: %w", err)
	}
	var out []string
	for _, t := range tags {
		idx, _ := s.tagKeys(t)
		last, score := "", ""
		for {
			from := len(out)
			var lastScore string
			var err error
			out, lastScore, err = s.purgePage(ctx, out, idx, at, last, score)
			if err != nil {
				return nil, fmt.Errorf("redis: PurgeTags: %w", err)
			}
			if len(out)-from < purgePage {
				break
			}
			last, score = out[len(out)-1], lastScore
		}
	}
	// A page may return keys an earlier one did (see purgePageScript), and
	// a key may carry several of the tags: each once, without a set of
	// 100,000 strings for the collector.
	slices.Sort(out)
	return slices.Compact(out), nil
}

// purgePage runs purgePageScript once (loading it on NOSCRIPT), and
// appends the page's keys to keys.
func (s *Store) purgePage(ctx context.Context, keys []string, idx, at, last, score string) (_ []string, lastScore string, err error) {
	v, err := purgePageRead.Run(ctx, s.c, []string{idx}, at, last, score, purgePage).Slice()
	if err != nil {
		return keys, "", err
	}
	if len(v) != 2 {
		return keys, "", fmt.Errorf("the page script returned %d values", len(v))
	}
	lastScore, _ = v[0].(string)
	ks, _ := v[1].([]any)
	for _, k := range ks {
		str, ok := k.(string)
		if !ok {
			return keys, "", fmt.Errorf("the page script returned a %T", k)
		}
		keys = append(keys, str)
	}
	return keys, lastScore, nil
}

// scriptPipeline runs the EVALSHA calls of script that build queues, in one
// pipeline. When a server does not have the script (NOSCRIPT: a new or
// restarted node), it loads it, on every node of a cluster, and runs the
// pipeline again, once. A call whose script already ran is run twice
// then, which the tag scripts allow: each one's second run changes nothing.
func (s *Store) scriptPipeline(ctx context.Context, script *goredis.Script, build func(p goredis.Pipeliner)) error {
	for try := 0; ; try++ {
		_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			build(p)
			return nil
		})
		if err == nil || try > 0 || !goredis.HasErrorPrefix(err, "NOSCRIPT") {
			return err
		}
		if err := script.Load(ctx, s.c).Err(); err != nil {
			return err
		}
	}
}

var _ larder.MultiSetter = (*Store)(nil)

// SetMulti stores e under each of keys for ttl, as Set does (see
// larder.MultiSetter): the value is encoded once, and written
// setMultiUnit keys a round trip: on one server in a script call
// (setMultiServer); through a cluster client in pipelines of SETs (or
// DELs, when Set would delete) to one node at a time (setMultiCluster);
// through any other client (a ring, which routes each command by its key)
// in pipelines of SETs. The cache writes the tombstones of a purge by tag
// with it.
func (s *Store) SetMulti(ctx context.Context, keys []string, e *larder.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("redis: SetMulti of a nil entry")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	v, ok, err := s.encodeValue(e, ttl)
	if err != nil {
		return err
	}
	switch c := s.c.(type) {
	case *goredis.Client:
		return s.setMultiServer(ctx, keys, v, ok, ttl)
	case *goredis.ClusterClient:
		return s.setMultiCluster(ctx, c, c.MasterForKey, keys, v, ok, ttl)
	}
	rkeys := s.redisKeys(keys)
	for len(rkeys) > 0 {
		unit := rkeys[:min(len(rkeys), setMultiUnit)]
		rkeys = rkeys[len(unit):]
		if err := writeKeys(ctx, s.c, unit, v, ok, ttl); err != nil {
			return err
		}
	}
	return nil
}

// writeKeys sets each of rkeys (Redis keys) to v for ttl, or deletes it
// when set is false, in one pipeline of c.
func writeKeys(ctx context.Context, c goredis.Cmdable, rkeys []string, v []byte, set bool, ttl time.Duration) error {
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, rk := range rkeys {
			if set {
				p.Set(ctx, rk, v, ttl.Truncate(time.Millisecond))
			} else {
				p.Del(ctx, rk)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: SetMulti: %w", err)
	}
	return nil
}

// setMultiCluster is SetMulti through a cluster client: the keys grouped
// by the master that serves their slot, and written to one node after the
// other, setMultiUnit keys a round trip, through that node's client. A
// pipeline of the call's keys through the cluster client keeps every node
// busy at once, each with its share of the keys; with three servers on the
// 2 CPUs of the test machine, that doubled the p99 of the hits served
// meanwhile, where one node at a time, a few keys a round trip, leaves it
// about where it is on one server (BENCHMARKS.md, purge by tag). A unit
// that a node refuses (its slot moved, the node failed over) is written
// again through the cluster client, which follows redirects and refreshes
// its map of the slots. The node clients' hooks see these writes, not the
// cluster client's. master returns the client of the node that serves a
// Redis key (cc.MasterForKey).
func (s *Store) setMultiCluster(ctx context.Context, cc *goredis.ClusterClient, master func(context.Context, string) (*goredis.Client, error), keys []string, v []byte, set bool, ttl time.Duration) error {
	rkeys := s.redisKeys(keys)
	nodes, err := byNode(ctx, master, rkeys)
	if err != nil {
		return fmt.Errorf("redis: SetMulti: %w", err)
	}
	unit := make([]string, 0, setMultiUnit)
	for _, n := range nodes {
		for idx := n.idx; len(idx) > 0; {
			unit = unit[:0]
			for _, i := range idx[:min(len(idx), setMultiUnit)] {
				unit = append(unit, rkeys[i])
			}
			idx = idx[len(unit):]
			if writeKeys(ctx, n.c, unit, v, set, ttl) == nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := writeKeys(ctx, cc, unit, v, set, ttl); err != nil {
				return err
			}
		}
	}
	return nil
}

// nodeKeys is the keys of a call that one node of a cluster serves: its
// client, and the keys' indexes in the call.
type nodeKeys struct {
	c   *goredis.Client
	idx []int
}

// byNode groups rkeys (Redis keys) by the node that serves them, as master
// (a ClusterClient's MasterForKey) says, in the order of their first key.
func byNode(ctx context.Context, master func(context.Context, string) (*goredis.Client, error), rkeys []string) ([]*nodeKeys, error) {
	var nodes []*nodeKeys
	index := make(map[*goredis.Client]*nodeKeys)
	for i, rk := range rkeys {
		c, err := master(ctx, rk)
		if err != nil {
			return nil, err
		}
		n := index[c]
		if n == nil {
			n = &nodeKeys{c: c}
			index[c] = n
			nodes = append(nodes, n)
		}
		n.idx = append(n.idx, i)
	}
	return nodes, nil
}

// setManyScript sets every key of KEYS to ARGV[1] for ARGV[2] ms.
const setManyScript = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return #KEYS
`

var setMany = goredis.NewScript(setManyScript)

// setMultiServer is SetMulti on one server: one command per
// setMultiUnit keys, setManyScript (or a DEL of them all when set is
// false), with the Redis keys of the call built in one allocation and the
// value and ttl arguments boxed once. A command per key, with its own Cmd,
// arguments and key strings, made 9 allocations a key (under 3 now: one
// is go-redis's boxing of the key into its arguments, the rest are the
// call's, shared by its 4 keys; TestSetMultiAllocs), and the collections
// they cost a purge of 100,000 entries doubled the p99 of the hits served
// meanwhile (BENCHMARKS.md, purge by tag).
func (s *Store) setMultiServer(ctx context.Context, keys []string, v []byte, set bool, ttl time.Duration) error {
	args := []any{v, strconv.FormatInt(ttl.Milliseconds(), 10)} // boxed once for every unit
	for all := s.redisKeys(keys); len(all) > 0; {
		rkeys := all[:min(len(all), setMultiUnit)]
		all = all[len(rkeys):]
		var err error
		if set {
			err = setMany.Run(ctx, s.c, rkeys, args...).Err()
		} else {
			err = s.c.Del(ctx, rkeys...).Err()
		}
		if err != nil {
			return fmt.Errorf("redis: SetMulti: %w", err)
		}
	}
	return nil
}
