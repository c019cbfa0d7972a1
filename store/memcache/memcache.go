// Package memcache is a larder.Store on one or more memcached servers,
// through github.com/bradfitz/gomemcache, so that several larder processes
// share one cache.
//
// Besides larder.Store it is a larder.MultiGetter (GetMulti is one gomemcache
// GetMulti: one "gets" round trip per server, the servers in parallel) and a
// larder.ConditionalStore (SetIf is built on memcached's add and cas
// commands, see below). It is not a larder.NonBlockingStore: every call waits
// on the network, so the cache calls it under its store timeout and writes
// it behind the response.
//
// # Servers
//
// With several servers, each key lives on one of them, chosen by
// gomemcache's ServerList: the CRC-32 of the (hashed) key modulo the number
// of servers. Every process that shares the cache must list the same
// servers in the same order; a server listed twice gets twice the keys.
// That is not consistent hashing in the ketama sense: adding or removing a
// server moves most keys, which then read as misses, as after a flush. While
// processes disagree on the list, an invalidation by one may miss the
// server another reads, and entries left on a server come back if keys move
// back to it: change the list in every process at once, with a new Prefix
// (or a flush of the servers). A server that is down fails the calls on its
// keys (the cache then goes to the origin and reports the store error; an
// invalidation that failed there leaves the entries it could not reach); it
// is not taken out of the list. Server names are resolved once, when the
// store is made.
//
// # Keys
//
// memcached keys are at most 250 bytes of printable ASCII without spaces,
// while larder keys are URLs of up to the cache's maximum key size (8 KiB by
// default) with NUL-separated parts. The store therefore never sends a
// larder key: the memcached key is Options.Prefix followed by the unpadded
// base64url encoding of the key's SHA-256 (43 bytes), for every key, short
// or long. Two larder keys share a memcached key only if their SHA-256
// collide, which is cryptographically negligible. The prefix separates
// caches (or tests) sharing servers; it is at most MaxPrefixLen bytes. The
// larder key itself is not stored anywhere, so the keys cannot be listed
// (see "Purge by tag" below).
//
// # Values
//
// The value of an item is exactly Entry.MarshalBinary's encoding (versioned;
// an item in a format this version cannot read fails Get with an error
// wrapping larder.ErrEntryFormat), with flags 0. memcached refuses items
// larger than its item size limit (-I, 1 MiB by default), the key, the
// value and about 60 bytes of item header counted together. The store
// therefore stores no value larger than Options.MaxValueSize
// (DefaultMaxValueSize, 1 MiB minus ItemOverhead, fits the default limit
// with any key the store makes); a Set of a larger entry removes the item
// under the key and stores nothing, returns nil, and counts it (Skipped),
// as the memory store does for an entry larger than its bound. A value that
// passes MaxValueSize but that the server refuses as too large (MaxValueSize
// set above the server's -I) is skipped and counted the same way. Raise
// MaxValueSize together with memcached's -I to keep larger entries: for
// -I 8m, 8 MiB minus ItemOverhead. The cache's own WithMaxObjectSize bounds
// bodies before they reach the store; setting it below MaxValueSize avoids
// reading bodies only to skip them here.
//
// # Expiry
//
// memcached expiry times are whole seconds, and its clock ticks once a
// second, so an item set with an expiry of n seconds expires between n-1 and
// n seconds later. The store sends each ttl rounded up to whole seconds,
// plus one: an entry is never dropped before its ttl, and is returned for
// at most 2 s after it. The cache tolerates that: it checks freshness from
// the entry's own times; and a tombstone (larder.TombstoneTTL) that lasts a
// little longer only protects longer, where one that expired early would
// open a window. A ttl of 30 days or more is sent as an absolute Unix time,
// as memcached requires, computed with this process's clock; past 2038,
// when that no longer fits memcached's 32-bit times, such entries are kept
// 30 days. memcached may still evict any item before its expiry when it runs
// out of memory (see "What SetIf guarantees").
//
// # Contexts and timeouts
//
// gomemcache has no contexts: it bounds every dial, read and write by the
// client's Timeout (Options.Timeout). The store checks the context before
// each call to memcached, and between the calls of SetIf, and returns its
// error (wrapping context.Canceled or context.DeadlineExceeded) without
// calling when it is done; a call already sent runs until it completes or
// the Timeout passes. The cache does not wait for that: it abandons a store
// call at its own store timeout (larder.WithStoreTimeout, 250 ms by
// default). Keep Options.Timeout near it, so that abandoned calls do not
// pile up against a server that hangs.
//
// # What SetIf guarantees
//
// SetIf(key, e, ttl, gen) reads the item with its CAS id ("gets"), decodes
// the Nonce of the entry in it, and, if it equals gen, writes e with "cas"
// and that CAS id. memcached gives an item a new CAS id at every write (set,
// add, cas), a cas finds no item once it was deleted, expired or evicted,
// and memcached checks the id and writes as one step under its item lock;
// so a cas that succeeds proves that the item was still the one read: the
// comparison and the write are atomic with respect to every other Set, SetIf
// and Delete of the key, from this process or any other that uses the same
// servers. For gen "" on an absent key, SetIf
// uses "add", which memcached runs as one step too: it stores only if no
// unexpired item is there. Of concurrent SetIf calls with the same gen, at
// most one stores. A cas that fails because the item changed after it was
// read makes SetIf read again (at most 8 times; after 8 changes in a row it
// returns false, having stored nothing). When the comparison holds but e is
// not kept (ttl ≤ 0, or too large), SetIf removes the item with a cas that
// expires it at once, so that removal is conditional too, and returns false.
//
// What memcached does not guarantee is that an item stays: an entry, a Vary
// index or a tombstone of the cache's consistent invalidation can be evicted
// early under memory pressure, or lost with a restart of its server or a
// change of the server list. A tombstone that is gone reads as an absent
// key, so a fill that started before the invalidation and found nothing at
// the key may then still be stored (the window the cache has with a store
// that cannot compare at all); a fill that found an entry is never stored
// over anything else.
//
// # Purge by tag
//
// memcached cannot enumerate keys, and this store keeps only hashes of them,
// so a purge by tag cannot find the entries of a tag. The store is a
// larder.PurgeRecorder instead (tags.go): a purge by tag or by prefix
// records its time per tag, in an item of its own, and the cache reads the
// records of a tagged entry's tags when it serves it (one GetMulti: a hit
// of a tagged entry, or of any entry with larder.WithPrefixPurge, costs a
// second round trip), treating an entry fetched before a purge as purged.
// Records are kept 30 days (larder.PurgeRecordTTL), and are as durable as
// memcached is: an evicted record lets the entries it purged be served
// again.
package memcache

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	gm "github.com/bradfitz/gomemcache/memcache"

	"github.com/larder-cache/larder"
)

const (
	// DefaultPrefix is the key prefix used when Options.Prefix is empty.
	DefaultPrefix = "larder:"

	// ItemOverhead is what memcached counts in an item's size besides its
	// value, rounded up: the item header (about 50 bytes), the CAS id, the
	// flags, the value's CRLF and the key, which the store keeps under
	// MaxPrefixLen + 43 = 250 bytes.
	ItemOverhead = 512

	// DefaultMaxValueSize is the largest value stored when
	// Options.MaxValueSize is zero: memcached's default item size limit
	// (-I 1m) minus ItemOverhead.
	DefaultMaxValueSize = 1<<20 - ItemOverhead

	// DefaultTimeout is the client's socket timeout that NewFromServers sets
	// when Options.Timeout is zero (gomemcache's default).
	DefaultTimeout = gm.DefaultTimeout

	// DefaultMaxIdleConns is the number of idle connections kept per server
	// that NewFromServers sets when Options.MaxIdleConns is zero. gomemcache
	// keeps 2 by default, which makes a busy cache open and close a connection
	// for most calls.
	DefaultMaxIdleConns = 64

	// MaxPrefixLen is the longest Options.Prefix: memcached keys are at most
	// 250 bytes, and the hash takes 43.
	MaxPrefixLen = 250 - hashLen
)

// hashLen is the length of a hashed key without its prefix: the unpadded
// base64 of the 32 bytes of a SHA-256.
const hashLen = (sha256.Size*8 + 5) / 6

// maxRelative is the longest expiry memcached takes as relative seconds
// (REALTIME_MAXDELTA, 30 days); longer ones must be absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60

// maxCASAttempts bounds the reads of one SetIf whose cas found the item
// changed since it was read.
const maxCASAttempts = 8

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts every memcached key the store uses: keys are Prefix
	// followed by a hash of the larder key (see the package doc). Caches, or
	// tests, that share servers and must not see each other's entries use
	// different prefixes; caches that share entries use the same. Empty means
	// DefaultPrefix. At most MaxPrefixLen bytes of printable ASCII, no space.
	Prefix string

	// MaxValueSize is the largest encoded entry (Entry.MarshalBinary) the
	// store writes, in bytes; larger ones are skipped (see Set). Zero means
	// DefaultMaxValueSize, which fits memcached's default item size limit;
	// for a server started with a larger -I, use that limit minus
	// ItemOverhead. Negative is an error.
	MaxValueSize int

	// Timeout is the client's socket timeout: the longest a dial, or a read
	// or a write of a call, may take. Zero means: NewFromServers uses
	// DefaultTimeout, New leaves the client's Timeout as it is. Negative is
	// an error.
	Timeout time.Duration

	// MaxIdleConns is the number of idle connections the client keeps per
	// server. Zero means: NewFromServers uses DefaultMaxIdleConns, New leaves
	// the client's setting as it is. Negative is an error.
	MaxIdleConns int
}

// Store is a larder.Store on memcached. It is safe for concurrent use.
type Store struct {
	c        *gm.Client
	prefix   string
	maxValue int
	now      func() time.Time // for expiry times past 30 days

	skipped atomic.Int64
}

var (
	_ larder.Store            = (*Store)(nil)
	_ larder.MultiGetter      = (*Store)(nil)
	_ larder.ConditionalStore = (*Store)(nil)
)

// New returns a Store that uses client. A non-zero Options.Timeout or
// Options.MaxIdleConns is set on the client, which New therefore must get
// before anything else uses it; zero ones leave the client's settings. It
// returns an error for invalid options.
func New(client *gm.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcache: nil client")
	}
	s, err := newStore(client, opts)
	if err != nil {
		return nil, err
	}
	if opts.Timeout > 0 {
		client.Timeout = opts.Timeout
	}
	if opts.MaxIdleConns > 0 {
		client.MaxIdleConns = opts.MaxIdleConns
	}
	return s, nil
}

// NewFromServers returns a Store on the memcached servers at the given
// addresses ("host:port", or a path for a Unix socket), each with equal
// weight, through a gomemcache client of its own with the Timeout and
// MaxIdleConns of opts (or their defaults). Names are resolved now, and
// their failure is an error; nothing is connected until the first call (see
// Ping).
func NewFromServers(servers []string, opts Options) (*Store, error) {
	if len(servers) == 0 {
		return nil, errors.New("memcache: no servers")
	}
	var sl gm.ServerList
	if err := sl.SetServers(servers...); err != nil {
		return nil, fmt.Errorf("memcache: servers: %w", err)
	}
	client := gm.NewFromSelector(&sl)
	client.Timeout = DefaultTimeout
	client.MaxIdleConns = DefaultMaxIdleConns
	return New(client, opts)
}

func newStore(client *gm.Client, opts Options) (*Store, error) {
	if opts.MaxValueSize < 0 {
		return nil, errors.New("memcache: negative MaxValueSize")
	}
	if opts.Timeout < 0 {
		return nil, errors.New("memcache: negative Timeout")
	}
	if opts.MaxIdleConns < 0 {
		return nil, errors.New("memcache: negative MaxIdleConns")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	maxValue := opts.MaxValueSize
	if maxValue == 0 {
		maxValue = DefaultMaxValueSize
	}
	return &Store{c: client, prefix: prefix, maxValue: maxValue, now: time.Now}, nil
}

func checkPrefix(p string) error {
	if len(p) > MaxPrefixLen {
		return fmt.Errorf("memcache: Prefix of %d bytes, more than %d", len(p), MaxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return fmt.Errorf("memcache: Prefix with byte %#x at %d: only printable ASCII without spaces", p[i], i)
		}
	}
	return nil
}

// Client returns the gomemcache client the store uses.
func (s *Store) Client() *gm.Client { return s.c }

// Skipped reports how many entries Set and SetIf did not store because
// they were too large for memcached (see Set).
func (s *Store) Skipped() int64 { return s.skipped.Load() }

// Ping checks that every server answers (memcached's version command), one
// after another; it fails with the first that does not.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcache: %w", err)
	}
	if err := s.c.Ping(); err != nil {
		return fmt.Errorf("memcache: ping: %w", err)
	}
	return nil
}

// Close closes the client's idle connections. The store stays usable (it
// opens connections again as it needs them).
func (s *Store) Close() {
	_ = s.c.Close()
}

// key returns the memcached key for a larder key: the prefix and the
// unpadded base64url SHA-256 of the key.
func (s *Store) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	b := make([]byte, len(s.prefix)+hashLen)
	copy(b, s.prefix)
	base64.RawURLEncoding.Encode(b[len(s.prefix):], sum[:])
	return string(b)
}

// expiration returns memcached's expiration for ttl (> 0) at now: seconds,
// rounded up, plus one for memcached's clock, which ticks once a second (an
// item set just before a tick would lose most of a second); or an absolute
// Unix time past 30 days.
func expiration(ttl time.Duration, now time.Time) int32 {
	secs := int64(ttl/time.Second) + 1
	if ttl%time.Second != 0 {
		secs++
	}
	if secs <= maxRelative {
		return int32(secs)
	}
	abs := now.Unix() + secs
	if abs > math.MaxInt32 {
		// Past 2038, memcached's 32-bit times cannot say it: keep the
		// entry for the longest relative time instead.
		return maxRelative
	}
	return int32(abs)
}

// encode returns e's encoding, and false if it is larger than the store
// takes.
func (s *Store) encode(e *larder.Entry) ([]byte, bool, error) {
	if len(e.Body) > s.maxValue-larder.EntryHeaderSize {
		return nil, false, nil // too large whatever its metadata: skip the encoding
	}
	v, err := e.MarshalBinary()
	if err != nil {
		return nil, false, fmt.Errorf("memcache: %w", err)
	}
	if len(v) > s.maxValue {
		return nil, false, nil
	}
	return v, true, nil
}

// decode decodes the value of an item the client read for this call
// alone: the entry's body and strings are views of v (larder.DecodeEntry),
// which no one modifies afterwards, so a read copies no body.
func decode(v []byte) (*larder.Entry, error) {
	e, err := larder.DecodeEntry(v)
	if err != nil {
		return nil, fmt.Errorf("memcache: %w", err)
	}
	return e, nil
}

// nonce returns the Nonce of the entry encoded in v, reading only its
// metadata.
func nonce(v []byte) (string, error) {
	m, _, _, err := larder.DecodeEntryMeta(v)
	if err == nil {
		return m.Nonce, nil
	}
	if errors.Is(err, larder.ErrEntryNoMetaPrefix) {
		e, err := decode(v)
		if err != nil {
			return "", err
		}
		return e.Nonce, nil
	}
	return "", fmt.Errorf("memcache: %w", err)
}

// tooLarge reports whether err is memcached refusing an item larger than
// its item size limit (SERVER_ERROR object too large for cache).
func tooLarge(err error) bool {
	return err != nil && strings.Contains(err.Error(), "object too large")
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcache: %w", err)
	}
	return nil
}

// Get returns the entry stored under key, or larder.ErrNotFound. It returns
// the context's error, without calling memcached, if the context is done.
func (s *Store) Get(ctx context.Context, key string) (*larder.Entry, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	it, err := s.c.Get(s.key(key))
	if err != nil {
		if errors.Is(err, gm.ErrCacheMiss) {
			return nil, larder.ErrNotFound
		}
		return nil, fmt.Errorf("memcache: get: %w", err)
	}
	e, err := decode(it.Value)
	if err != nil {
		s.dropCorrupt(it)
		return nil, err
	}
	return e, nil
}

// dropCorrupt removes an item whose entry does not decode (a version this
// store does not know, a truncated or altered value), if it is still the
// one read (a cas with an expiry in the past), so that it costs one failed
// read, not one per request until it expires. A failure is ignored: the
// read reports the item's error anyway, which the cache takes for a miss.
func (s *Store) dropCorrupt(it *gm.Item) {
	_ = s.c.CompareAndSwap(&gm.Item{Key: it.Key, CasID: it.CasID, Expiration: -1})
}

// Set stores e under key for ttl, replacing any previous entry.
//
// When ttl is not positive, or e's encoding is larger than
// Options.MaxValueSize or than the server takes, Set deletes the item under
// key and stores nothing, returning nil (or the error of the delete); an
// entry too large is counted (Skipped). A nil e is an error.
func (s *Store) Set(ctx context.Context, key string, e *larder.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("memcache: Set of a nil entry")
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	k := s.key(key)
	if ttl <= 0 {
		return s.del(k)
	}
	v, ok, err := s.encode(e)
	if err != nil {
		return err
	}
	if ok {
		err = s.c.Set(&gm.Item{Key: k, Value: v, Expiration: expiration(ttl, s.now())})
		if err == nil {
			return nil
		}
		if !tooLarge(err) {
			return fmt.Errorf("memcache: set: %w", err)
		}
		// memcached removes the old item itself then, but say so anyway.
	}
	s.skipped.Add(1)
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return s.del(k)
}

// Delete removes the entry under key; deleting a missing key returns nil.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return s.del(s.key(key))
}

func (s *Store) del(k string) error {
	err := s.c.Delete(k)
	if err == nil || errors.Is(err, gm.ErrCacheMiss) {
		return nil
	}
	return fmt.Errorf("memcache: delete: %w", err)
}
