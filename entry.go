package larder

import (
	"net/http"
	"time"
)

// Kind tells what an Entry holds.
type Kind uint8

const (
	// KindResponse is a stored HTTP response.
	KindResponse Kind = 1
	// KindVary is the index of a URL whose responses vary (RFC 9111 §4.1): it holds
	// the nominated request field names and the nonce under which the variants
	// are stored. Deleting it makes every variant unreachable.
	KindVary Kind = 2
	// KindTombstone is an invalidated URL: the primary key holds it, with a
	// fresh Nonce, for a while after an invalidation or purge, so that a fill
	// that read the key before cannot store after (see ConditionalStore). It
	// has no status, header fields or body, and a lookup treats it as a miss.
	KindTombstone Kind = 3
	// KindBody holds only the body of a response stored apart, under the
	// key that the response's Entry.BodyKey names (written with
	// BodyStreamer.SetStream). A lookup treats it as a miss.
	KindBody Kind = 4
)

// Entry is one stored item: a response (status, header fields, body and the
// times RFC 9111 §4.2.3 needs for its age), a Vary index, or a tombstone.
//
// The cache computes the freshness fields when it stores a response, so a hit
// only reads them. Once handed to Store.Set an Entry is immutable.
type Entry struct {
	// Kind is KindResponse, KindVary or KindTombstone.
	Kind Kind
	// Status is the response status code.
	Status int
	// Header holds the stored header fields: no hop-by-hop fields, no Age.
	// It is nil on a response the cache stored in an EntryKeeper, which
	// holds its fields in a compact form: read them with Fields, which
	// works for every entry.
	Header http.Header
	// Body is the complete response body.
	Body []byte
	// RequestTime is when the request that produced the response was sent
	// (request_time of RFC 9111 §4.2.3).
	RequestTime time.Time
	// ResponseTime is when the response was received (response_time of §4.2.3).
	ResponseTime time.Time
	// InitialAge is corrected_initial_age (RFC 9111 §4.2.3).
	InitialAge time.Duration
	// Lifetime is the freshness lifetime (RFC 9111 §4.2.1).
	Lifetime time.Duration
	// Expires is when the store may drop the entry (ResponseTime plus lifetime
	// plus the stale window). For a Vary index, the latest expiry of its variants.
	Expires time.Time
	// VaryNames lists the request field names a response varies on, lowercased
	// and sorted (RFC 9111 §4.1). On a KindVary entry, the names of its variants.
	VaryNames []string
	// Nonce is the entry's generation: the cache sets a fresh one on every
	// entry it stores at a primary key (a response, a Vary index or a
	// tombstone), so that two entries stored there one after the other never
	// share it, except that a Vary index rewritten for the same variants
	// (to extend its expiry) keeps its own. A ConditionalStore compares it to
	// decide whether the entry under a key is still the one a caller read
	// (ConditionalStore.SetIf).
	//
	// On a KindVary entry it is also the variant generation: variants are
	// stored under keys that include it, so a new index orphans all older
	// variants. An entry stored by hand, or by an older version, may have none
	// (""): SetIf with gen "" matches it as it matches an absent key.
	Nonce string
	// Tags are the surrogate keys the response was tagged with, for purge by tag.
	Tags []string
	// BodyKey, when not empty, is the key of the KindBody entry that holds
	// the response's body, which is then not in Body: the cache stores a
	// body too large to hold in memory apart, streamed into a BodyStreamer
	// store under a key of its own, and the response's entry (a few
	// hundred bytes) names it. Versions that do not know the field fail to
	// decode such an entry, and treat it as a miss.
	BodyKey string

	meta *entryMeta // derived at prepare time; nil on an entry built by hand
}

// Size is the approximate number of bytes the entry occupies, used by stores
// bounded by bytes: what it holds on the heap, as Go's allocator rounds it
// (the Entry, its body, the header map with its value lists and strings,
// Vary names, tags, nonce, and what the cache derived from the response when
// it stored it). Strings count in full even when they are not on the heap
// (a handler's literal values), and the body by its length, which the cache
// keeps within an eighth of its capacity.
func (e *Entry) Size() int {
	if e == nil {
		return 0
	}
	n := len(e.Body) + stringBytes(e.BodyKey)
	m := e.meta
	switch {
	case m != nil && m.flags&metaPacked != 0:
		// One allocation holds the entry, its meta and (usually) the
		// meta's array; a shallow copy of the entry is one more Entry.
		n += m.heapSize()
		if !m.ownsEntry(e) {
			n += heapBytes(sizeofEntry, true)
		}
		if !m.nonceInRoom(e.Nonce) {
			n += stringBytes(e.Nonce)
		}
	case m != nil:
		n += heapBytes(sizeofEntry, true) + m.heapSize() + stringBytes(e.Nonce)
	default:
		n += heapBytes(sizeofEntry, true) + stringBytes(e.Nonce)
	}
	compact := m != nil && m.flags&metaCompact != 0
	switch {
	case e.Header != nil:
		n += headerMapBytes(len(e.Header))
		for k, vs := range e.Header {
			n += stringBytes(k)
			if !compact {
				n += heapBytes(len(vs)*sizeofString, true)
			}
			for _, v := range vs {
				n += stringBytes(v)
			}
		}
	case m != nil && m.flags&metaDetached != 0:
		n += m.stringsBytes()
	}
	n += heapBytes(len(e.VaryNames)*sizeofString, true)
	for _, s := range e.VaryNames {
		n += stringBytes(s)
	}
	n += heapBytes(len(e.Tags)*sizeofString, true)
	for _, s := range e.Tags {
		n += stringBytes(s)
	}
	return n
}
