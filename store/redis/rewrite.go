package redis

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

var _ larder.MetaRewriter = (*Store)(nil)

// RewriteMeta (larder.MetaRewriter) in two round trips: the heads of the
// values (the part before the body) are read, on one server by one script
// call a unit that returns each value's head exactly, else with GETRANGE
// in one pipeline; the new heads are written by one script call per group
// of keys (one hash slot of a cluster; any keys on one server), which
// splices each with the body that follows the old head, on the server. A
// value is, after its 3 bytes and Nonce, an entry's encoding (format
// version 2): a fixed header of larder.EntryHeaderSize bytes, which holds
// the length of the metadata and the body's, the metadata, then the body.
// Only the entry's head (larder.EntryHead) is decoded and written anew:
// the rest of the metadata (header fields, Vary names, tags) is copied
// from the head read, byte for byte (larder.AppendEntryHead).

// headRead is how many bytes of each value RewriteMeta reads first: the
// head of most. A longer one is read again, whole. Where heads are read by
// GETRANGE (a cluster, a ring), a call reads, after its first unit, as
// many as the longest head read so far and headSlack more, up to
// headRead: the heads of one tag's entries are much alike, and 512 bytes
// read for a head of 157 were a third of a soft purge's garbage there.
const (
	headRead  = 512
	headSlack = 64
)

// readHeadsScript returns the head of the value of each key of KEYS: its
// first ARGV[1] bytes (headRead), cut to the head, or the whole head when
// it is longer; "" for nothing. The head's length is read as headLen
// reads it: after the value's version byte (1) and the 2-byte length of
// the Nonce, the entry's 4-byte magic, its version byte, then its 4-byte
// metadata length, which does not count the entry's 17-byte header. A
// value in another format is returned as read (parseHead refuses it).
const readHeadsScript = `
local first = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GETRANGE', key, 0, first - 1)
  if #v >= 3 and string.byte(v, 1) == 1 then
    local e = 3 + string.byte(v, 2) * 256 + string.byte(v, 3)
    if #v >= e + 9 then
      local m = 0
      for j = e + 6, e + 9 do
        m = m * 256 + string.byte(v, j)
      end
      local n = e + 17 + m
      if n < #v then
        v = string.sub(v, 1, n)
      elseif n > #v and #v == first then
        v = redis.call('GETRANGE', key, 0, n - 1)
      end
    end
  end
  out[i] = v
end
return out
`

var readHeadsOnce = goredis.NewScript(readHeadsScript)

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

// RewriteMeta rewrites the heads of the entries stored under keys,
// keeping the rest of each, as larder.MetaRewriter says: two round trips
// per 8 keys (rewriteMetaUnit), three when a head is longer than 512
// bytes and is not on one server; no body read or sent, no header field
// decoded. Through a cluster client, the keys go to one node at a time,
// through the node's client, as SetMulti's do (see setMultiCluster; a node
// that refuses a unit fails the call, and the cache then soft-purges each
// of its keys on its own); through any other client (a ring), 8 keys a
// unit too. The rules of Set apply to the new value: larger than
// MaxValueSize, or a ttl under 1 ms, and the value read is deleted (its
// key is returned). A value not in this store's format, or in an entry
// format without a metadata prefix, is left as it is, and its key
// returned.
func (s *Store) RewriteMeta(ctx context.Context, keys []string, rewrite func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	rkeys := s.redisKeys(keys)
	var retry []string
	first := headRead // how much of each value to read first (see headRead)
	run := func(c goredis.UniversalClient, keys, rkeys []string) error {
		r, err := s.rewriteUnit(ctx, c, keys, rkeys, &first, rewrite)
		retry = append(retry, r...)
		return err
	}
	cc, ok := s.c.(*goredis.ClusterClient)
	if !ok {
		for i := 0; i < len(keys); i += rewriteMetaUnit {
			j := min(len(keys), i+rewriteMetaUnit)
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
	uk, urk := make([]string, 0, rewriteMetaUnit), make([]string, 0, rewriteMetaUnit)
	for _, n := range nodes {
		for idx := n.idx; len(idx) > 0; {
			uk, urk = uk[:0], urk[:0]
			for _, i := range idx[:min(len(idx), rewriteMetaUnit)] {
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
// are rkeys, through c (the store's client, or a cluster node's); first
// is readHeads's.
func (s *Store) rewriteUnit(ctx context.Context, c goredis.UniversalClient, keys, rkeys []string, first *int, rewrite func(key string, h *larder.EntryHead) (larder.EntryHead, time.Duration, bool)) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	heads, err := s.readHeads(ctx, c, rkeys, first)
	if err != nil {
		return nil, fmt.Errorf("redis: RewriteMeta: %w", err)
	}
	var (
		retry  []string
		writes []*scriptGroup          // at most one per key
		read   = new(larder.EntryHead) // what rewrite is given, for each key in turn
		_, one = s.c.(*goredis.Client) // one group holds every key
	)
	for i, k := range keys {
		h, ok := parseHead(heads[i])
		if !ok {
			retry = append(retry, k)
			continue
		}
		given := read
		if h.head == "" {
			given = nil
		} else {
			*read = h.h
		}
		nh, ttl, write := rewrite(k, given)
		switch {
		case !write:
			continue
		case h.head != "" && nh.Kind != h.h.Kind:
			retry = append(retry, k)
			continue
		}
		newHead, keep, err := s.encodeHead(h, nh, ttl)
		if err != nil {
			return nil, err
		}
		ms := "0"
		if keep {
			ms = strconv.FormatInt(ttl.Milliseconds(), 10)
		}
		gi := s.group(s.hashTag(rkeys[i]), i)
		g := findGroup(writes, gi)
		if g == nil { // a unit's keys: a script call holds at most rewriteMetaUnit
			n := 1
			if one {
				n = len(keys)
			}
			g = &scriptGroup{gi: gi, idx: make([]int, 0, n), keys: make([]string, 0, n), args: make([]any, 0, 3*n)}
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

// readHeads returns the head of the value of each of rkeys (Redis keys),
// "" for nothing: on one server exactly the head, in one script call
// (readHeadsScript); else its first *first bytes, or the whole head when
// longer, in one pipeline of GETRANGE and one more for the longer heads,
// and then sets *first to what the next unit reads first (see headRead).
func (s *Store) readHeads(ctx context.Context, c goredis.UniversalClient, rkeys []string, first *int) ([]string, error) {
	if _, one := s.c.(*goredis.Client); one {
		g := &scriptGroup{keys: rkeys, args: []any{headRead}}
		if err := s.evalGroups(ctx, c, readHeadsOnce, []*scriptGroup{g}); err != nil {
			return nil, err
		}
		heads, err := g.cmd.StringSlice()
		if err == nil && len(heads) != len(rkeys) {
			err = fmt.Errorf("%d heads for %d keys", len(heads), len(rkeys))
		}
		return heads, err
	}
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
		all[i], lens[i] = i, *first
	}
	if err := read(all); err != nil {
		return nil, err
	}
	var longer []int
	longest := 0
	for i, h := range heads {
		n := headLen(h)
		longest = max(longest, n)
		if n > len(h) && len(h) == lens[i] {
			longer = append(longer, i)
			lens[i] = n
		}
	}
	*first = min(max(longest+headSlack, headSlack), headRead)
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
	metaLen, _, err := larder.EntryLayout(bytesOf(b[valueHeader+n : valueHeader+n+larder.EntryHeaderSize]))
	if err != nil {
		return 0
	}
	return valueHeader + n + metaLen
}

// A head is a value's head, decoded.
type head struct {
	h       larder.EntryHead // the entry's head, when head is not ""
	head    string           // the value's head: up to the end of the entry's metadata; "" for nothing
	enc     []byte           // the entry's part of head (a view of it)
	bodyLen int64            // the body's length
}

// parseHead decodes what readHeads read of a value: ok is false for a
// value that is not in this store's format with a metadata prefix.
func parseHead(b string) (h head, ok bool) {
	if b == "" {
		return head{}, true
	}
	n := headLen(b)
	if n == 0 || n > len(b) {
		return head{}, false
	}
	k := int(b[1])<<8 | int(b[2])
	nonce, enc := b[valueHeader:valueHeader+k], bytesOf(b[valueHeader+k:n])
	eh, metaLen, bodyLen, err := larder.DecodeEntryHead(enc)
	if err != nil || metaLen != len(enc) || eh.Nonce != nonce {
		return head{}, false
	}
	return head{h: eh, head: b[:n], enc: enc, bodyLen: bodyLen}, true
}

// bytesOf returns the bytes of s, not copied: for reading only.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// encodeHead returns the value's head of the entry read (h; nothing when
// h.head is "") with the head nh, stored for ttl, and whether the value is
// to be kept: not with a ttl under 1 ms or past MaxValueSize, as
// encodeValue. The entry's part is larder.AppendEntryHead's: the rest of
// the entry read, byte for byte, behind the new head; it takes as many
// bytes as the head read when it can, so that the script writes it over
// the old one in place, without moving the body (the new head of a soft
// purge, whose lifetime is shorter, is otherwise a byte or so shorter, and
// Redis copied every body).
func (s *Store) encodeHead(h head, nh larder.EntryHead, ttl time.Duration) (b []byte, keep bool, err error) {
	if ttl < time.Millisecond {
		return nil, false, nil
	}
	if len(nh.Nonce) > 0xffff {
		return nil, false, fmt.Errorf("redis: a Nonce of %d bytes (at most %d)", len(nh.Nonce), 0xffff)
	}
	b = make([]byte, 0, max(len(h.head)+8, valueHeader+len(nh.Nonce)+64))
	b = append(b, valueVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(nh.Nonce)))
	b = append(b, nh.Nonce...)
	b, err = larder.AppendEntryHead(b, h.enc, nh, len(h.head)-len(b))
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	if int64(len(b))+h.bodyLen > int64(s.maxValue) {
		return nil, false, nil
	}
	return b, true, nil
}

// A scriptGroup is the keys of one script call: indexes in the caller's
// keys, the Redis keys, the arguments, and the call; gi is its group (see
// Store.group).
type scriptGroup struct {
	gi   int
	idx  []int
	keys []string
	args []any
	cmd  *goredis.Cmd
}

// findGroup returns the group of gs whose gi is gi, or nil.
func findGroup(gs []*scriptGroup, gi int) *scriptGroup {
	for _, g := range gs {
		if g.gi == gi {
			return g
		}
	}
	return nil
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
