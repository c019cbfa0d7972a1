package larder

import (
	"context"
	"errors"
	"io"
	"time"
)

// Optional store capabilities.
//
// A Store may implement any of the interfaces below besides its three
// methods. The cache finds them with a type assertion on the Store it is given
// and uses them where they help; it works with a store that implements none.
// The store/storetest package checks each one that a store implements.
//
// A store that wraps another (for metrics, tracing, a fallback) hides the
// capabilities of the store inside unless it implements them too, forwarding
// to the inner store when that one has them.

// ErrBodyTooLarge is wrapped by the error of BodyStreamer.SetStream when the
// store stops reading a body because the entry would be too large for it.
var ErrBodyTooLarge = errors.New("larder: body too large for the store")

// A BodyStreamer is a Store that takes an entry's body as a stream when
// storing it and gives it as a stream when reading it, so that a store on
// disk can hold bodies far larger than memory, and a request that needs only
// an entry's metadata (a HEAD request, a 304 answer, a freshness check) does
// not read the body at all.
//
// SetStream and Set write the same entries, and GetStream and Get read them:
// an entry stored by either method is returned by both. Get must return the
// whole body in memory, so a store may fail, with an error other than
// ErrNotFound, a Get of an entry whose body is too large to hold there; the
// cache uses GetStream on a store that has it.
//
// The store turns the metadata into bytes, if it needs to, with
// EncodeEntryMeta and reads it back with EntryLayout and DecodeEntryMeta, which
// need only the start of the encoding (see Entry.MarshalBinary).
type BodyStreamer interface {
	// SetStream stores meta under key for ttl (ttl > 0), with the body read
	// from body until io.EOF, replacing any previous entry, as Set does with
	// an entry whose Body is those bytes. meta.Body is ignored; the store does
	// not modify meta, but may keep it (an in-process store may keep a copy
	// of *meta that shares its header and slices). size is the length of the
	// body if the caller knows it (from Content-Length), or -1: with
	// size ≥ 0, a body that ends before size bytes or goes on after them is a
	// failure of the body.
	//
	// SetStream stores all or nothing. If the body reader fails, or the body
	// is not size bytes long, or the context ends before the entry is
	// stored, SetStream returns an error (wrapping the reader's error, or
	// io.ErrUnexpectedEOF for a short body) and stores nothing: no torn or
	// partial entry is ever returned, and the entry stored under key before
	// the call, if any, stays as it was. A store that bounds its size stops
	// reading a body that cannot fit (from size, before reading, when it is
	// known) and returns an error wrapping ErrBodyTooLarge, also leaving the
	// previous entry as it was; it must never read a body without a bound.
	// After an error the caller must not assume that body was read to its end.
	SetStream(ctx context.Context, key string, meta *Entry, body io.Reader, size int64, ttl time.Duration) error

	// GetStream returns the entry stored under key, without its body (meta.Body
	// is nil), the body as a stream, and the body's length in bytes; or
	// ErrNotFound (body is then nil). The caller must close body, and may
	// close it without reading it: a store reads the body only as the caller
	// reads it, so a caller that needs only the metadata costs no more than
	// reading the metadata. The body is that of the entry returned: a later
	// Set, SetStream or Delete of the key, or the entry's expiry, must not
	// change or cut it short while it is read. If the store fails while the
	// body is read, Read returns an error, never an early io.EOF: a body that
	// ends with io.EOF is complete. The body may also implement io.ReaderAt
	// and io.Seeker, which the cache can use for range requests.
	GetStream(ctx context.Context, key string) (meta *Entry, body io.ReadCloser, size int64, err error)
}

// A ConditionalStore replaces an entry only if the entry stored under the key
// is still the one the caller read. The cache uses it for consistent
// invalidation across processes sharing a store: a fill stores its response
// only over the entry it read before fetching (compared by Entry.Nonce, which
// the cache sets afresh on every entry it stores at a primary key), so that a
// fill that started before an invalidation, which leaves a KindTombstone entry
// with a fresh Nonce, cannot store after it.
type ConditionalStore interface {
	// SetIf stores e under key for ttl if the entry now stored under key has
	// Nonce == gen, or if no (unexpired) entry is stored under key and
	// gen == "". It reports whether it stored.
	//
	// The comparison and the write are one atomic step with respect to every
	// other call on the key (Get, Set, SetIf, Delete, and SetStream if the
	// store has it), in this process and in any other that shares the store:
	// of concurrent SetIf calls with the same gen, at most one stores. An
	// expired entry counts as absent. An entry with no Nonce ("") matches gen
	// "", as an absent one does.
	//
	// The size and ttl rules of Set apply: when the comparison holds but the
	// store would not keep e (ttl ≤ 0, or e too large for it), SetIf removes
	// the entry under key, as Set would, and returns false. When the
	// comparison fails, nothing changes and SetIf returns false, nil. An
	// error means the store failed, and it is unknown whether e was stored.
	SetIf(ctx context.Context, key string, e *Entry, ttl time.Duration, gen string) (bool, error)
}

// A MultiGetter reads several keys in one call, so that a networked store can
// read a Vary index and a variant, or all the keys an invalidation touches, in
// one round trip.
type MultiGetter interface {
	// GetMulti returns the entries stored under keys, in the same order: the
	// result has len(keys) elements, with a nil at the index of each key that
	// holds no (unexpired) entry. A key may appear more than once. Each entry
	// is what Get would return for its key (the entries need not be read at
	// one instant). An error means the whole call failed, and is never
	// ErrNotFound; a store that cannot read some keys fails the call.
	GetMulti(ctx context.Context, keys []string) ([]*Entry, error)
}

// A NonBlockingStore knows whether it is an in-process store whose calls never
// wait on I/O or on another process (a map in memory, not a file or a
// network): each call returns after a bounded amount of work of its own.
//
// The cache calls a store for which NonBlocking reports true directly on the
// request's goroutine, without a deadline (no WithStoreTimeout context, no
// timer) and without a goroutine to abandon it, which makes every store call
// cheaper; any other store is called under the store timeout. Such a store
// need not consult its context. BodyStreamer.SetStream still reads the
// caller's body, and blocks as long as that reader does: that wait is the
// caller's, not the store's.
type NonBlockingStore interface {
	// NonBlocking reports whether the store's calls never wait on I/O or on
	// another process. It returns the same answer every time; a store that
	// wraps another may forward the inner store's answer.
	NonBlocking() bool
}

// A DeadlineStore knows whether its calls return by the deadline of their
// context: every call that is still waiting on I/O or on another process
// when the context's deadline passes, or when it is cancelled, returns at
// once (give or take the time to notice) with an error. Such a store need
// not be abandoned on a goroutine of its own: the cache calls it on the
// request's goroutine, under the store timeout (WithStoreTimeout), which
// saves a goroutine, a channel and a switch on every call. A store that
// may block past its context's deadline (a client library that ignores
// contexts, a timeout of its own that is longer) must report false, or not
// implement the interface: the cache then calls it as it calls any other.
type DeadlineStore interface {
	// HonoursDeadline reports whether the store's calls return by their
	// context's deadline. It returns the same answer every time; a store
	// that wraps another may forward the inner store's answer.
	HonoursDeadline() bool
}

// An EntryKeeper knows whether it is an in-process store that keeps the
// entries it is given as Go values: Get (and GetMulti, SetIf's comparison)
// returns the *Entry that Set or SetIf was given, or a shallow copy of it
// (a copy of the struct, *e), or one that CompactEntry.Entry rebuilt from
// Compact of it (as store/memory does), never one rebuilt field by field
// nor one that went through an encoding; and the store does not read an
// entry's header fields from Entry.Header (Entry.Fields has them).
//
// The cache hands such a store the responses it stores in a compact form,
// which takes a fraction of the memory: Entry.Header is nil, and the header
// fields are held in unexported fields that a shallow copy carries along.
// Entry.Fields returns them, and MarshalBinary encodes them. Anyone else
// reading entries from such a store (a store that wraps it, a tool) must
// read header fields with Entry.Fields, not Entry.Header. A store that
// wraps an EntryKeeper (a type that embeds one gets its KeepsEntries too)
// may report true only if it hands the cache's entries on as they are, or
// copies them with MarshalBinary or Fields.
//
// The cache takes a response from such a store that has neither a Header
// nor the compact form (one rebuilt field by field, against the rule
// above) for a store failure, wrapping ErrEntryFormat, and so for a miss,
// rather than serve it without its header fields; a response built by
// hand for such a store must have a non-nil Header.
type EntryKeeper interface {
	// KeepsEntries reports whether the store keeps entries as described
	// above. It returns the same answer every time.
	KeepsEntries() bool
}

// A LocalGetter is a store that is not in-process but keeps some entries in
// process memory as well, such as a tiered store's L1. The cache asks it
// first, directly on the request's goroutine (no deadline, no goroutine, as
// for a NonBlockingStore), and calls Get or GetMulti under the store
// timeout only for what it does not answer. It matters to a store that is
// not a NonBlockingStore: the cache calls the Get of one directly anyway.
type LocalGetter interface {
	// GetLocal returns the entry stored under key and true if the store
	// can tell from process memory alone, without waiting on I/O or on
	// another process; otherwise nil and false, and the cache asks Get. It
	// never returns an entry that Get would not return at that instant
	// (an expired, overwritten or deleted one), but false is always a
	// correct answer: it reports no misses and no failures.
	GetLocal(key string) (*Entry, bool)
}

// A TagStore keeps an index from tags to the primary keys of the entries
// that carry them, for purge by tag (Cache.PurgeTags) and by prefix
// (Cache.PurgePrefix, which the cache turns into tags of its own), and a
// purge record per tag, which makes purges by tag consistent with fills
// under way (see purge.go).
//
// The index holds primary keys (URLs), never variant keys: the cache purges
// a key as it purges a URL (a tombstone at the primary key orphans every
// variant), so a tag on one variant of a URL purges all its variants.
//
// For each tag, AddTags checks the tag's purge record and records the key
// in one atomic step, and PurgeTags writes the purge record before it reads
// the keys, in this process and in any other sharing the store: so a call
// of AddTags either records its key before a PurgeTags of the tag reads the
// keys, which then returns it, or sees its purge record. Calls for several
// tags need not be atomic across the tags.
//
// The index must not grow without bound: a key recorded under a tag may be
// forgotten once the expiry given with it has passed, and a purge record once
// its keep has; a store should forget them soon after.
type TagStore interface {
	// AddTags records that the entry about to be stored at primary key key
	// carries tags, until expires (a later expiry for the same key and tag
	// replaces an earlier one; an earlier one does not shorten it). It
	// first checks each tag's purge record: if any tag was purged at or
	// after since, it reports false and need not record the remaining
	// tags; else true. The cache calls it before it stores the entry, and
	// does not store the entry on false.
	AddTags(ctx context.Context, key string, tags []string, since, expires time.Time) (bool, error)

	// PurgeTags records, for each tag, a purge at now (kept until now+keep;
	// a record is never replaced by an earlier one), then returns the keys
	// recorded under any of the tags whose expiry is after now, each at
	// most once, in any order. It does not forget them: they are forgotten
	// when they expire.
	PurgeTags(ctx context.Context, tags []string, now time.Time, keep time.Duration) ([]string, error)
}

// A MultiSetter stores one entry under many keys in few round trips. The
// cache uses it to write the tombstones of a purge that covers many URLs
// (a purge by tag or prefix), with the same tombstone at every key: a Nonce
// need only differ from what was stored at each key before.
type MultiSetter interface {
	// SetMulti stores e under each of keys for ttl, as Set would at each
	// (not atomically across keys). It returns the first error; it is then
	// unknown which keys were written.
	SetMulti(ctx context.Context, keys []string, e *Entry, ttl time.Duration) error
}

// A PurgeRecorder is a store that cannot list the entries of a tag
// (memcached), and purges by tag otherwise: it keeps, per tag, the time of
// its latest purge and of its latest soft purge, and the cache reads them
// when it serves an entry that carries tags, an entry fetched before a
// purge of one of them counting as purged (a miss) or, for a soft purge,
// stale. That read costs a hit of a tagged entry a second store call. The
// cache uses TagStore instead when a store has both.
type PurgeRecorder interface {
	// RecordPurges records a purge (soft or not) of each tag at now, kept
	// for keep; a record is never moved back by an earlier one.
	RecordPurges(ctx context.Context, tags []string, now time.Time, soft bool, keep time.Duration) error
	// LastPurges returns the latest purge time and the latest soft purge
	// time recorded for any of tags (the zero time for none).
	LastPurges(ctx context.Context, tags []string) (hard, soft time.Time, err error)
}

// A FillLocker takes short locks that every process sharing the store sees,
// so that of the concurrent misses of one URL across a fleet of caches one
// goes to the origin and the others wait for the response it stores
// (WithFleetCoalescing). The lock only saves origin requests: correctness
// never depends on it (each process still stores only over what it read,
// ConditionalStore), and a process that cannot tell whether another holds
// it fetches.
type FillLocker interface {
	// LockFill takes the lock named key for ttl (ttl > 0) if no one holds
	// it, and reports whether the caller now holds it. When it does,
	// release gives the lock back, if the caller still holds it: a lock
	// that expired and was taken by another since is left to its new
	// holder. release may be called from any goroutine, at most once, and
	// bounds its own work (it takes no context; it may give up after ttl,
	// when the lock is gone anyway). When the caller does not hold the
	// lock, release is nil.
	//
	// Taking a free lock is one atomic step with respect to every other
	// LockFill of key, in this process and in any other sharing the store:
	// of concurrent calls, at most one holds the lock. A lock no one
	// releases is free once ttl has passed. Locks are kept apart from the
	// entries: key may be, and usually is, the key of an entry, which the
	// lock does not touch.
	//
	// A store that cannot lock across processes (one that wraps a store
	// without locks) reports that the caller holds the lock, with a
	// release that does nothing: every caller then fetches, as with a
	// store without the capability. An error means the store failed; the
	// cache then fetches.
	LockFill(ctx context.Context, key string, ttl time.Duration) (release func(), held bool, err error)
}

// A MetaRewriter rewrites the heads (EntryHead) of many stored entries in
// few round trips, keeping the rest of each entry (header fields, Vary
// names, tags, body key, body), which it need neither decode nor send. The
// cache uses it for a soft purge of many entries (by tag or by prefix),
// which changes only the lifetime and the Nonce of a response (the
// ResponseTime of a Vary index), or writes a tombstone where nothing or a
// tombstone is.
type MetaRewriter interface {
	// RewriteMeta reads the head of the entry stored under each of keys
	// (distinct), and calls rewrite with it (nil for a key that holds
	// none), one call at a time (h is not to be kept past the call). rewrite
	// returns the head to store in its place for ttl, and whether to store
	// one. The store then writes the entry read with that head, every
	// other field as stored (where none was read, an entry with nothing
	// but the head: no header fields, Vary names, tags or body), if the
	// entry stored under the key is still the one read: the same Nonce,
	// compared and written in one atomic step as SetIf does, and with
	// SetIf's rules (an entry the store would not keep, too large or with
	// a ttl ≤ 0, removes the one read instead).
	//
	// It returns the keys it wrote nothing under although rewrite asked
	// it to: another write replaced what was read, or the entry read
	// cannot be rewritten so (a value in an older format, a corrupt one,
	// a head of another Kind than the entry read), or it removed the
	// entry instead. The caller reads those again by other means. An
	// error means the call failed, and it is unknown which were written.
	RewriteMeta(ctx context.Context, keys []string, rewrite func(key string, h *EntryHead) (nh EntryHead, ttl time.Duration, ok bool)) (retry []string, err error)
}
