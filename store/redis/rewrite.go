package redis

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

var _ larder.MetaRewriter = (*Store)(nil)

// RewriteMeta (larder.MetaRewriter) in two round trips: the heads of the
// values (the part before the body) are read with GETRANGE, in one
// pipeline; the new heads are written by one script call per group of
// keys (one hash slot of a cluster; any keys on one server), which splices
// each with the body that follows the old head, on the server. A value is,
// after its 3 bytes and Nonce, an entry's encoding (format version 2): a
// fixed header of larder.EntryHeaderSize bytes, which holds the length of
// the metadata and the body's, the metadata, then the body.

// headRead is how many bytes of each value RewriteMeta reads first: the
// head of most. A longer one is read again, whole.
const headRead = 512

// writeHeadsScript writes new heads: ARGV holds three arguments per key
// of KEYS: the head read ("" for nothing), the ttl in milliseconds ("0" to
// delete instead), the new head. A key whose value still starts with the
// head read (its Nonce, so the entry read, and its metadata, so where its
// body starts; for nothing, a key that holds nothing) gets the new head
// followed by its body (the bytes after the old head), for the ttl. It
// returns per key 1 when it wrote, else 0.
const writeHeadsScript = `
local out = {}
for i, key in ipairs(KEYS) do
  local j = 3 * (i - 1)
  local read, ms, new = ARGV[j+1], ARGV[j+2], ARGV[j+3]
  local old = #read
  local same
  if read == '' then
    same = redis.call('EXISTS', key) == 0
  else
    same = redis.call('GETRANGE', key, 0, old - 1) == read
  end
  out[i] = 0
  if same then
    if ms == '0' then
      redis.call('DEL', key)
    elseif #new == old then
      redis.call('SETRANGE', key, 0, new)
      redis.call('PEXPIRE', key, ms)
      out[i] = 1
    else
      local body = ''
      if old > 0 then
        body = redis.call('GETRANGE', key, old, -1)
      end
      redis.call('SET', key, new .. body, 'PX', ms)
      out[i] = 1
    end
  end
end
return out
`

var writeHeads = goredis.NewScript(writeHeadsScript)

// rewriteGroup bounds the keys of one script call: Redis serves nothing
// else while a script runs (and it copies each body it splices).
const rewriteGroup = 16

// RewriteMeta rewrites the metadata of the entries stored under keys,
// keeping their bodies, as larder.MetaRewriter says: two round trips per
// 16 keys (serverPurgeUnit), three when a head is longer than 512 bytes;
// no body read or sent. Through a cluster client, the keys go to one node
// at a time, through the node's client, as SetMulti's do (see
// setMultiCluster; a node that refuses a unit fails the call, and the
// cache then soft-purges each of its keys on its own); through any other
// client (a ring), 16 keys a unit too. The rules of Set apply to the new
// value: larger than MaxValueSize, or a ttl under 1 ms, and the value read
// is deleted (its key is returned). A value not in this store's format,
// or in an entry format without a metadata prefix, is left as it is, and
// its key returned.
func (s *Store) RewriteMeta(ctx context.Context, keys []string, rewrite func(key string, e *larder.Entry) (*larder.Entry, time.Duration, bool)) ([]string, error) {
	rkeys := s.redisKeys(keys)
	var retry []string
	run := func(c goredis.UniversalClient, keys, rkeys []string) error {
		r, err := s.rewriteUnit(ctx, c, keys, rkeys, rewrite)
		retry = append(retry, r...)
		return err
	}
	cc, ok := s.c.(*goredis.ClusterClient)
	if !ok {
		for i := 0; i < len(keys); i += serverPurgeUnit {
			j := min(len(keys), i+serverPurgeUnit)
			if err := run(s.c, keys[i:j], rkeys[i:j]); err != nil {
				return nil, err
			}
		}
		return retry, nil
	}
	nodes, err := byNode(ctx, cc.MasterForKey, rkeys)
	if err != nil {
		return nil, fmt.Errorf("redis: RewriteMeta: %w", err)
	}
	uk, urk := make([]string, 0, serverPurgeUnit), make([]string, 0, serverPurgeUnit)
	for _, n := range nodes {
		for idx := n.idx; len(idx) > 0; {
			uk, urk = uk[:0], urk[:0]
			for _, i := range idx[:min(len(idx), serverPurgeUnit)] {
				uk, urk = append(uk, keys[i]), append(urk, rkeys[i])
			}
			idx = idx[len(uk):]
			if err := run(n.c, uk, urk); err != nil {
				return nil, err
			}
		}
	}
	return retry, nil
}

// rewriteUnit is RewriteMeta for the keys of one unit, whose Redis keys
// are rkeys, through c (the store's client, or a cluster node's).
func (s *Store) rewriteUnit(ctx context.Context, c goredis.UniversalClient, keys, rkeys []string, rewrite func(key string, e *larder.Entry) (*larder.Entry, time.Duration, bool)) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	heads, err := s.readHeads(ctx, c, rkeys)
	if err != nil {
		return nil, fmt.Errorf("redis: RewriteMeta: %w", err)
	}
	var retry []string
	open := make(map[int]*scriptGroup)
	var writes []*scriptGroup
	for i, k := range keys {
		h, ok := parseHead(heads[i])
		if !ok {
			retry = append(retry, k)
			continue
		}
		ne, ttl, write := rewrite(k, h.e)
		if !write {
			continue
		}
		newHead, keep, err := s.encodeHead(ne, ttl, h.bodyLen, len(h.head))
		if err != nil {
			return nil, err
		}
		ms := "0"
		if keep {
			ms = strconv.FormatInt(ttl.Milliseconds(), 10)
		}
		gi := s.group(s.hashTag(rkeys[i]), i)
		g := open[gi]
		if g == nil || len(g.keys) == rewriteGroup {
			g = &scriptGroup{}
			open[gi] = g
			writes = append(writes, g)
		}
		g.idx = append(g.idx, i)
		g.keys = append(g.keys, rkeys[i])
		g.args = append(g.args, h.head, ms, newHead)
	}
	if err := s.evalGroups(ctx, c, writeHeads, writes); err != nil {
		return nil, fmt.Errorf("redis: RewriteMeta: %w", err)
	}
	for _, g := range writes {
		rs, err := g.cmd.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("redis: RewriteMeta: %w", err)
		}
		if len(rs) != len(g.idx) {
			return nil, fmt.Errorf("redis: RewriteMeta: %d results for %d keys", len(rs), len(g.idx))
		}
		for j, r := range rs {
			if r != 1 {
				retry = append(retry, keys[g.idx[j]])
			}
		}
	}
	return retry, nil
}

// readHeads returns the head of the value of each of rkeys (Redis keys):
// its first headRead bytes, or the whole head when longer; "" for nothing.
// One pipeline, and one more for the longer heads.
func (s *Store) readHeads(ctx context.Context, c goredis.UniversalClient, rkeys []string) ([]string, error) {
	heads := make([]string, len(rkeys))
	cmds := make([]*goredis.StringCmd, len(rkeys))
	lens := make([]int, len(rkeys))
	read := func(idx []int) error {
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, i := range idx {
				cmds[i] = p.GetRange(ctx, rkeys[i], 0, int64(lens[i]-1))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, i := range idx {
			heads[i] = cmds[i].Val()
		}
		return nil
	}
	all := make([]int, len(rkeys))
	for i := range all {
		all[i], lens[i] = i, headRead
	}
	if err := read(all); err != nil {
		return nil, err
	}
	var longer []int
	for i, h := range heads {
		if n := headLen(h); n > len(h) && len(h) == headRead {
			longer = append(longer, i)
			lens[i] = n
		}
	}
	if len(longer) == 0 {
		return heads, nil
	}
	return heads, read(longer)
}

// headLen returns the length of the head of a value that starts with b:
// up to the end of its entry's metadata; 0 when b does not tell.
func headLen(b string) int {
	if len(b) < valueHeader || b[0] != valueVersion {
		return 0
	}
	n := int(b[1])<<8 | int(b[2])
	if len(b) < valueHeader+n+larder.EntryHeaderSize {
		return 0
	}
	metaLen, _, err := larder.EntryLayout([]byte(b[valueHeader+n : valueHeader+n+larder.EntryHeaderSize]))
	if err != nil {
		return 0
	}
	return valueHeader + n + metaLen
}

// A head is a value's head, decoded.
type head struct {
	e       *larder.Entry // without its body; nil for nothing
	head    string        // the head: up to the end of the entry's metadata
	bodyLen int64         // -1 for a nil body
}

// parseHead decodes what readHeads read of a value: ok is false for a
// value that is not in this store's format with a metadata prefix.
func parseHead(b string) (h head, ok bool) {
	if b == "" {
		return head{bodyLen: -1}, true
	}
	n := headLen(b)
	if n == 0 || n > len(b) {
		return head{}, false
	}
	k := int(b[1])<<8 | int(b[2])
	nonce, enc := b[valueHeader:valueHeader+k], []byte(b[valueHeader+k:n])
	e, metaLen, bodyLen, err := larder.DecodeEntryMeta(enc)
	if err != nil || metaLen != len(enc) || e.Nonce != nonce {
		return head{}, false
	}
	if binary.BigEndian.Uint64(enc[9:17]) == 0 {
		bodyLen = -1 // a nil body
	}
	return head{e: e, head: b[:n], bodyLen: bodyLen}, true
}

// encodeHead returns the head of e (its Body ignored) stored for ttl with
// a body of bodyLen bytes (-1: a nil body), and whether the value is to be
// kept: not with a ttl under 1 ms or past MaxValueSize, as encodeValue.
// oldLen is the length of the head it replaces: the new head takes as
// many bytes when it can (larder.AppendEntryMetaPadded), so that the
// script writes it over the old one in place, without moving the body
// (the new head of a soft purge, whose lifetime is shorter, is otherwise
// a byte or so shorter, and Redis copied every body).
func (s *Store) encodeHead(e *larder.Entry, ttl time.Duration, bodyLen int64, oldLen int) (head []byte, keep bool, err error) {
	if ttl < time.Millisecond {
		return nil, false, nil
	}
	if len(e.Nonce) > 0xffff {
		return nil, false, fmt.Errorf("redis: a Nonce of %d bytes (at most %d)", len(e.Nonce), 0xffff)
	}
	head = make([]byte, 0, max(oldLen+8, valueHeader+len(e.Nonce)))
	head = append(head, valueVersion)
	head = binary.BigEndian.AppendUint16(head, uint16(len(e.Nonce)))
	head = append(head, e.Nonce...)
	head, err = larder.AppendEntryMetaPadded(head, e, bodyLen, oldLen-len(head))
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	if int64(len(head))+max(bodyLen, 0) > int64(s.maxValue) {
		return nil, false, nil
	}
	return head, true, nil
}

// A scriptGroup is the keys of one script call: indexes in the caller's
// keys, the Redis keys, the arguments, and the call.
type scriptGroup struct {
	idx  []int
	keys []string
	args []any
	cmd  *goredis.Cmd
}

// evalGroups runs script once per group, all in one pipeline. When a
// server does not have the script (NOSCRIPT: a new or restarted node), it
// loads it, on every node of a cluster, and runs again the calls that did
// not run.
func (s *Store) evalGroups(ctx context.Context, c goredis.UniversalClient, script *goredis.Script, groups []*scriptGroup) error {
	if len(groups) == 0 {
		return nil
	}
	run := func(gs []*scriptGroup) error {
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, g := range gs {
				g.cmd = script.EvalSha(ctx, p, g.keys, g.args...)
			}
			return nil
		})
		return err
	}
	err := run(groups)
	if err == nil || !goredis.HasErrorPrefix(err, "NOSCRIPT") {
		return err
	}
	if err := script.Load(ctx, c).Err(); err != nil {
		return err
	}
	var again []*scriptGroup
	for _, g := range groups {
		if goredis.HasErrorPrefix(g.cmd.Err(), "NOSCRIPT") {
			again = append(again, g)
		}
	}
	return run(again)
}
