package larder

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Cache-Status field values (RFC 9211 §2). Each response gets one member,
// appended after any member an upstream cache added.

// hitStatus returns the Cache-Status field value of a hit. The values are
// shared by every hit of the caches with the same name (hitStatuses): an
// entry keeps none of its own.
func (x *exchange) hitStatus(e *Entry, age time.Duration) string {
	ttl := ttlSeconds(e.Lifetime, age)
	t := hitStatusesOf(x.c.cfg.name)
	if t == nil {
		return formatHit(x.c.cfg.name, ttl)
	}
	slot := &t.slots[uint64(ttl)%uint64(len(t.slots))]
	if h := slot.Load(); h != nil && h.ttl == ttl {
		return h.field
	}
	h := &hitMember{ttl: ttl, field: formatHit(t.name, ttl)}
	slot.Store(h)
	return h.field
}

func formatHit(name string, ttl int64) string {
	b := make([]byte, 0, 48)
	b = append(b, name...)
	b = append(b, "; hit; ttl="...)
	b = strconv.AppendInt(b, ttl, 10)
	return string(b)
}

// hitStatuses holds, for one cache name, the Cache-Status values of hits,
// one slot per ttl modulo its size: hits with the same ttl share one value,
// whichever entry they hit, and a slot holds the latest ttl that used it.
type hitStatuses struct {
	name  string
	slots [1024]atomic.Pointer[hitMember]
}

type hitMember struct {
	ttl   int64
	field string
}

// maxHitStatuses bounds the names with a table; hits of caches with other
// names format their value each time.
const maxHitStatuses = 16

var hitTables struct {
	last   atomic.Pointer[hitStatuses] // the table most recently looked up
	byName sync.Map                    // name → *hitStatuses
	n      atomic.Int32
}

// hitStatusesOf returns the table of a cache name, or nil when there are
// already maxHitStatuses tables.
func hitStatusesOf(name string) *hitStatuses {
	if t := hitTables.last.Load(); t != nil && t.name == name {
		return t
	}
	v, ok := hitTables.byName.Load(name)
	if !ok {
		if hitTables.n.Load() >= maxHitStatuses {
			return nil
		}
		var loaded bool
		if v, loaded = hitTables.byName.LoadOrStore(name, &hitStatuses{name: name}); !loaded {
			hitTables.n.Add(1)
		}
	}
	t := v.(*hitStatuses)
	hitTables.last.Store(t)
	return t
}

// forwardStatus is the member of a response the handler produced.
func (x *exchange) forwardStatus(cw *capture, sent int) string {
	b := make([]byte, 0, 80)
	b = append(b, x.c.cfg.name...)
	b = append(b, "; fwd="...)
	b = append(b, fwdParam(x.ev.Outcome)...)
	if cw.status != sent {
		b = append(b, "; fwd-status="...)
		b = strconv.AppendInt(b, int64(cw.status), 10)
	}
	if cw.fate.keeps() {
		b = append(b, "; stored; ttl="...)
		b = strconv.AppendInt(b, ttlSeconds(cw.plan.lifetime, cw.plan.initialAge), 10)
	}
	if x.ev.StoreErr != nil {
		b = append(b, "; detail=store-error"...)
	}
	return string(b)
}

// revalidatedStatus is the member of a stored response served after a 304.
func (x *exchange) revalidatedStatus(e *Entry, age time.Duration, stored bool) string {
	b := make([]byte, 0, 80)
	b = append(b, x.c.cfg.name...)
	b = append(b, "; fwd="...)
	b = append(b, fwdParam(x.ev.Outcome)...)
	b = append(b, "; fwd-status=304"...)
	if stored {
		b = append(b, "; stored"...)
	}
	b = append(b, "; ttl="...)
	b = strconv.AppendInt(b, ttlSeconds(e.Lifetime, age), 10)
	if x.ev.StoreErr != nil {
		b = append(b, "; detail=store-error"...)
	}
	return string(b)
}

// ttlSeconds is the remaining freshness in whole seconds, consistent with
// the Age field (which truncates the age): lifetime seconds minus Age.
func ttlSeconds(lifetime, age time.Duration) int64 {
	return int64(lifetime/time.Second) - int64(age/time.Second)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fwdParam(o Outcome) string {
	switch o {
	case OutcomeMiss:
		return "uri-miss"
	case OutcomeVaryMiss:
		return "vary-miss"
	case OutcomeStale, OutcomeRevalidated:
		return "stale"
	case OutcomeRequest:
		return "request"
	case OutcomeMethod:
		return "method"
	default:
		return "bypass"
	}
}

// ageValues holds the Age field values for small ages, so a hit does not
// format one. It is built once and only read.
var ageValues = func() []string {
	t := make([]string, 1024)
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func ageField(age time.Duration) string {
	s := int64(age / time.Second)
	if s < 0 {
		s = 0
	}
	if s < int64(len(ageValues)) {
		return ageValues[s]
	}
	return strconv.FormatInt(s, 10)
}
