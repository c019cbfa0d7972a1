package redis

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "larder:"

// DefaultMaxValueSize is the bound used when Options.MaxValueSize is zero:
// larder.DefaultMaxObjectSize, the cache's default largest body, plus 1 MiB
// for the header fields and the metadata (see the package doc, "Size").
const DefaultMaxValueSize = larder.DefaultMaxObjectSize + 1<<20

// MaxMaxValueSize is the largest Options.MaxValueSize allowed: 64 MiB. A
// value travels whole in one command, which holds Redis's one thread and a
// connection meanwhile (about half a second at 1 Gbit/s for 64 MiB); bodies
// larger than that belong in a store that streams them (larder.BodyStreamer).
const MaxMaxValueSize = 64 << 20

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every Redis key the store uses (see the package doc,
	// "Key layout"). Empty means DefaultPrefix, "larder:". It must not
	// contain "{" or "}", which would change the keys' hash tag. Stores
	// (and caches) that share a Redis database but not their entries need
	// prefixes of their own, none a prefix of another.
	Prefix string
	// MaxValueSize bounds the size in bytes of a stored value: the encoded
	// entry (body, header fields, metadata) plus 3 bytes and its Nonce.
	// An entry that would be larger is not stored (Set deletes the key).
	// Zero means DefaultMaxValueSize (9 MiB); it may be at most
	// MaxMaxValueSize (64 MiB). Negative is an error.
	MaxValueSize int
	// MaxBatch is the most concurrent Gets sent to Redis in one pipeline
	// (see batch.go: reads in batches). Zero means DefaultMaxBatch (64);
	// 1 or a negative value sends each Get on its own.
	MaxBatch int
}

// Store is a larder.Store on Redis, also a larder.ConditionalStore and a
// larder.MultiGetter. It is safe for concurrent use. It does not own its
// client: close the client when done with the store.
type Store struct {
	c        goredis.UniversalClient
	prefix   string
	maxValue int
	batch    *batcher // nil: each Get on its own
}

// A purge's writes go to one server a few keys a round trip (a script
// call): a Redis server runs a call to its end while every hit waits
// behind it. 64 keys held the hits arriving meanwhile for up to 0.3 ms;
// fewer keep the hits' p99 where it is without a purge, for a purge that
// takes longer (BENCHMARKS.md, purge by tag, 2026-12-01). Through a
// cluster client, a purge writes to one node at a time (setMultiCluster).
const (
	// setMultiUnit bounds SetMulti's round trips (a hard purge's
	// tombstones): with 8 keys the hits' p99 during a purge of 100,000
	// was a median 1.18× its baseline on one server, with 4 1.02×, and
	// the purge takes 1.9–2.3 s instead of 1.4–1.5.
	setMultiUnit = 4
	// rewriteMetaUnit bounds RewriteMeta's (a soft purge's two round
	// trips, the heads read and written): with 16 keys the hits' p99
	// during a soft purge of 100,000 was a median 1.63× its baseline, with
	// 8 1.07–1.26×, and the purge takes 3.2–3.5 s instead of 2.4; with 4
	// it would take about 5 s.
	rewriteMetaUnit = 8
)

var (
	_ larder.Store            = (*Store)(nil)
	_ larder.ConditionalStore = (*Store)(nil)
	_ larder.MultiGetter      = (*Store)(nil)
)

// New returns a Store keeping its entries in Redis through client, which
// may be a *goredis.Client (standalone or, from NewFailoverClient, a
// Sentinel-managed master), a *goredis.ClusterClient or any other
// UniversalClient. Make the client with ContextTimeoutEnabled, so that the
// cache's store deadline bounds each call (see the package doc). New does
// not contact the server. It returns an error for a nil client or invalid
// opts.
func New(client goredis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redis: nil client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, errors.New(`redis: Options.Prefix must not contain "{" or "}"`)
	}
	maxValue := opts.MaxValueSize
	switch {
	case maxValue < 0:
		return nil, errors.New("redis: negative Options.MaxValueSize")
	case maxValue == 0:
		maxValue = DefaultMaxValueSize
	case maxValue > MaxMaxValueSize:
		return nil, fmt.Errorf("redis: Options.MaxValueSize %d is larger than %d", maxValue, MaxMaxValueSize)
	}
	s := &Store{c: client, prefix: prefix, maxValue: maxValue}
	maxBatch := opts.MaxBatch
	if maxBatch == 0 {
		maxBatch = DefaultMaxBatch
	}
	if maxBatch > 1 {
		s.batch = newBatcher(client, maxBatch)
	}
	return s, nil
}

// Key returns the Redis key under which the store keeps the larder key k
// (see the package doc, "Key layout").
func (s *Store) Key(k string) string {
	return s.prefix + "{" + Tag(k) + "}" + k
}

// keyLen is len(s.Key(k)).
func (s *Store) keyLen(k string) int { return len(s.prefix) + tagLen + 2 + len(k) }

// redisKeys returns the Redis keys of keys (Key) in one allocation: each
// is a view of it, never written again (a hook of the client may keep a
// command's arguments).
func (s *Store) redisKeys(keys []string) []string {
	n := 0
	for _, k := range keys {
		n += s.keyLen(k)
	}
	buf := make([]byte, 0, n)
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		at := len(buf)
		buf = s.appendKey(buf, k)
		rkeys[i] = unsafe.String(&buf[at], len(buf)-at)
	}
	return rkeys
}

// hashTag returns the hash tag in rk, a key from Key or redisKeys.
func (s *Store) hashTag(rk string) string {
	return rk[len(s.prefix)+1 : len(s.prefix)+1+tagLen]
}

// appendKey appends s.Key(k) to b, allocating nothing when b has room.
func (s *Store) appendKey(b []byte, k string) []byte {
	primary, _, _ := strings.Cut(k, "\x00")
	b = append(b, s.prefix...)
	b = append(b, '{')
	at := len(b)
	b = append(b, primary...) // hashed in place, then overwritten
	sum := sha256.Sum256(b[at:])
	b = hex.AppendEncode(b[:at], sum[:tagLen/2])
	b = append(b, '}')
	return append(b, k...)
}

// tagLen is the length of a hash tag: 8 bytes of SHA-256 in hex.
const tagLen = 16

// Tag returns the hash tag of the larder key k: the first 8 bytes of the
// SHA-256 of its primary part (all before its first NUL), in lowercase hex.
// All the keys of one URL, its primary key and its variants, have the same.
func Tag(k string) string {
	primary, _, _ := strings.Cut(k, "\x00")
	sum := sha256.Sum256([]byte(primary))
	return hex.EncodeToString(sum[:tagLen/2])
}

// Get returns the entry stored under key, or larder.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (*larder.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		v   string
		err error
	)
	if s.batch != nil {
		v, err = s.batch.get(ctx, s.Key(key))
	} else {
		v, err = s.c.Get(ctx, s.Key(key)).Result()
	}
	if errors.Is(err, goredis.Nil) {
		return nil, larder.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis: GET: %w", err)
	}
	e, err := decodeValue(v)
	if err != nil {
		s.dropCorrupt(ctx, s.Key(key), v)
		return nil, err
	}
	return e, nil
}

// dropCorruptScript deletes KEYS[1] if it still holds ARGV[1].
var dropCorruptScript = goredis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// dropCorrupt deletes rk, a Redis key whose value v does not decode (a
// version this store does not know, a truncated or altered value), if it
// still holds v, so that it costs one failed read, not one per request
// until it expires. A failure is ignored: the read reports the value's
// error anyway, which the cache takes for a miss.
func (s *Store) dropCorrupt(ctx context.Context, rk, v string) {
	_ = dropCorruptScript.Run(ctx, s.c, []string{rk}, v).Err()
}

// Set stores e under key for ttl, replacing any previous entry. When ttl is
// under 1 ms (Redis's resolution), or the value would be larger than
// MaxValueSize, it deletes the key instead and returns nil.
func (s *Store) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("redis: Set of a nil entry")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	v, ok, err := s.encodeValue(e, ttl)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.c.Del(ctx, s.Key(key)).Err(); err != nil {
			return fmt.Errorf("redis: DEL: %w", err)
		}
		return nil
	}
	if err := s.c.Set(ctx, s.Key(key), v, ttl.Truncate(time.Millisecond)).Err(); err != nil {
		return fmt.Errorf("redis: SET: %w", err)
	}
	return nil
}

// Delete removes the entry under key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.c.Del(ctx, s.Key(key)).Err(); err != nil {
		return fmt.Errorf("redis: DEL: %w", err)
	}
	return nil
}

// The value format (see the package doc, "Value format").
const (
	valueVersion = 1
	valueHeader  = 3 // version byte, nonce length
)

// encodeValue returns the value that stores e for ttl, or ok false when it
// is not to be stored: a ttl under 1 ms, or a value larger than the bound.
// It builds the value in one allocation, copying the body once.
func (s *Store) encodeValue(e *larder.Entry, ttl time.Duration) (v []byte, ok bool, err error) {
	if ttl < time.Millisecond {
		return nil, false, nil
	}
	if len(e.Nonce) > math.MaxUint16 {
		return nil, false, fmt.Errorf("redis: a Nonce of %d bytes (at most %d)", len(e.Nonce), math.MaxUint16)
	}
	if len(e.Body) > s.maxValue {
		return nil, false, nil
	}
	bodyLen := int64(len(e.Body))
	if e.Body == nil {
		bodyLen = -1
	}
	meta, err := larder.EncodeEntryMeta(e, bodyLen)
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	n := valueHeader + len(e.Nonce) + len(meta) + len(e.Body)
	if n > s.maxValue {
		return nil, false, nil
	}
	v = make([]byte, 0, n)
	v = append(v, valueVersion)
	v = binary.BigEndian.AppendUint16(v, uint16(len(e.Nonce)))
	v = append(v, e.Nonce...)
	v = append(v, meta...)
	v = append(v, e.Body...)
	return v, true, nil
}

// decodeValue decodes a value stored by encodeValue.
func decodeValue(v string) (*larder.Entry, error) {
	if len(v) < valueHeader || v[0] != valueVersion {
		return nil, fmt.Errorf("redis: %w: not a value of this store (version byte, or too short)", larder.ErrEntryFormat)
	}
	n := int(v[1])<<8 | int(v[2])
	if len(v) < valueHeader+n {
		return nil, fmt.Errorf("redis: %w: value truncated in its nonce", larder.ErrEntryFormat)
	}
	nonce, enc := v[valueHeader:valueHeader+n], v[valueHeader+n:]
	// The entry's body and strings are views of v (larder.DecodeEntry), a
	// reply go-redis allocated for this read alone, which no one modifies:
	// a read copies no body (a copy of the whole value was every hit's
	// largest allocation, and 64 KiB for a body of 64 KiB).
	e, err := larder.DecodeEntry(unsafe.Slice(unsafe.StringData(enc), len(enc)))
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if e.Nonce != nonce {
		return nil, fmt.Errorf("redis: %w: the value's nonce is not its entry's", larder.ErrEntryFormat)
	}
	return e, nil
}
