package larder

import (
	"strconv"
	"time"
)

// Cache-Status field values (RFC 9211 §2). Each response gets one member,
// appended after any member an upstream cache added.

// hitStatus returns the Cache-Status field value of a hit, shared by the
// hits on the same entry within one second (m may be nil).
func (x *exchange) hitStatus(e *Entry, m *entryMeta, age time.Duration) string {
	ttl := ttlSeconds(e.Lifetime, age)
	if m != nil {
		if h := m.hit.Load(); h != nil && h.ttl == ttl {
			return h.field
		}
	}
	b := make([]byte, 0, 48)
	b = append(b, x.c.cfg.name...)
	b = append(b, "; hit; ttl="...)
	b = strconv.AppendInt(b, ttl, 10)
	field := string(b)
	if m != nil {
		m.hit.Store(&hitMember{ttl: ttl, field: field})
	}
	return field
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
