package soak

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// Kind is what a path serves.
type Kind int

// The kinds of page, assigned to paths in turn (path i has Kind(i % NumKinds)).
const (
	// KindPublic: Cache-Control: public, max-age=N, ETag "v<version>".
	KindPublic Kind = iota
	// KindVary: as KindPublic, with Vary: Accept-Language over Langs; the
	// body names the variant and the ETag is "v<version>-<lang>".
	KindVary
	// KindPrivate: Cache-Control: private, the body naming the user of the
	// request's cookie, else its bearer token, else no one (the guest page).
	KindPrivate
	// KindCookie: no caching field at all, the body naming the user of the
	// request's cookie, or no one without a cookie (the guest page).
	KindCookie
	// KindSession: as KindPublic, plus Set-Cookie: sid=<visitor> for a
	// visitor without a cookie, on the 200 and on the 304.
	KindSession
	// KindXUser: Cache-Control: public, max-age=N, private="X-User", with
	// X-User naming the request's user (cookie, else bearer), on the 200
	// and on the 304.
	KindXUser
	// NumKinds is the number of kinds.
	NumKinds
)

var kindNames = [...]string{"public", "vary", "private", "cookie", "session", "x-user"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Shared reports whether the kind's responses are the same for every user
// (apart from Set-Cookie and X-User, which the cache must not replay): these
// have ETags and answer ranges.
func (k Kind) Shared() bool {
	return k == KindPublic || k == KindVary || k == KindSession || k == KindXUser
}

// Langs are the Accept-Language values clients send and KindVary varies on.
var Langs = [...]string{"en", "fr", "de"}

// Header fields the soak uses besides the standard ones.
const (
	// ClientField names the visitor on every request. The origin reads it
	// only to mint the session cookie of a visitor without a cookie, as a
	// real origin would mint a random one.
	ClientField = "X-Soak-Client"
	// UserField is the field of KindXUser pages listed in private="X-User".
	UserField = "X-User"
	// VersionField carries the path's version after an unsafe request.
	VersionField = "X-Version"
)

// PathSpec is one path the origin serves.
type PathSpec struct {
	Index  int
	Path   string
	Kind   Kind
	MaxAge int // seconds, 1 to 3, for the kinds with Cache-Control: max-age
	SWR    int // stale-while-revalidate seconds, 0 for none
	Size   int // body length, the same for every version, variant and user
}

// CacheControl is the Cache-Control field of the path's 200 and 304
// responses, "" for none.
func (p PathSpec) CacheControl() string {
	var cc string
	switch p.Kind {
	case KindPrivate:
		return "private"
	case KindCookie:
		return ""
	case KindXUser:
		cc = fmt.Sprintf(`public, max-age=%d, private="%s"`, p.MaxAge, UserField)
	default:
		cc = fmt.Sprintf("public, max-age=%d", p.MaxAge)
	}
	if p.SWR > 0 {
		cc += fmt.Sprintf(", stale-while-revalidate=%d", p.SWR)
	}
	return cc
}

// ETag is the entity tag of a version and variant of the path, "" for the
// kinds without one.
func (p PathSpec) ETag(version int64, variant string) string {
	switch {
	case !p.Kind.Shared():
		return ""
	case p.Kind == KindVary:
		return fmt.Sprintf(`"v%d-%s"`, version, variant)
	}
	return fmt.Sprintf(`"v%d"`, version)
}

// ParseETag returns the version and variant (NoOne for none) an entity tag
// of the origin names.
func ParseETag(tag string) (version int64, variant string, ok bool) {
	s, found := strings.CutPrefix(tag, `"v`)
	if !found || !strings.HasSuffix(s, `"`) {
		return 0, "", false
	}
	s = s[:len(s)-1]
	variant = NoOne
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, variant = s[:i], s[i+1:]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, variant, err == nil
}

// Specs returns n path specifications, the same for the same n.
func Specs(n int) []PathSpec {
	out := make([]PathSpec, n)
	for i := range out {
		k := Kind(i % int(NumKinds))
		round := i / int(NumKinds)
		p := PathSpec{
			Index:  i,
			Path:   fmt.Sprintf("/p/%03d", i),
			Kind:   k,
			MaxAge: 1 + round%3,
			Size:   192 + (i*7919)%6000,
		}
		if k.Shared() && round%2 == 1 {
			p.SWR = 2
		}
		if i%50 == 49 {
			p.Size = 64 << 10 // a few larger bodies, written in several chunks
		}
		out[i] = p
	}
	return out
}

// Origin is the origin server and the oracle: an http.Handler serving the
// paths of Specs, each at its current version. It is safe for concurrent use.
type Origin struct {
	specs    []PathSpec
	byPath   map[string]int
	versions []atomic.Int64

	// Served counts the requests the origin answered (all methods).
	Served atomic.Int64
}

// NewOrigin returns an origin serving n paths, every one at version 1.
func NewOrigin(n int) *Origin {
	o := &Origin{specs: Specs(n), byPath: make(map[string]int, n), versions: make([]atomic.Int64, n)}
	for i, p := range o.specs {
		o.byPath[p.Path] = i
		o.versions[i].Store(1)
	}
	return o
}

// Specs returns the origin's paths; the caller must not modify them.
func (o *Origin) Specs() []PathSpec { return o.specs }

// Current returns the current version of path i.
func (o *Origin) Current(i int) int64 { return o.versions[i].Load() }

// Bump makes a new version of path i current and returns it.
func (o *Origin) Bump(i int) int64 { return o.versions[i].Add(1) }

// CookieUser returns the uid cookie of a request header, "" for none.
func CookieUser(h http.Header) string {
	for _, line := range h.Values("Cookie") {
		for c := range strings.SplitSeq(line, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(c), "uid="); ok {
				return v
			}
		}
	}
	return ""
}

// BearerUser returns the bearer token of a request header, "" for none.
func BearerUser(h http.Header) string {
	v, _ := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	return v
}

// Identity is the user the origin recognises in a request: its uid cookie,
// else its bearer token, else "" (a guest).
func Identity(h http.Header) string {
	if u := CookieUser(h); u != "" {
		return u
	}
	return BearerUser(h)
}

// PersonalUser is the user a page of kind k names for a request with header
// h (NoOne for none).
func PersonalUser(k Kind, h http.Header) string {
	var u string
	switch k {
	case KindPrivate:
		u = Identity(h)
	case KindCookie:
		u = CookieUser(h)
	}
	if u == "" {
		return NoOne
	}
	return u
}

// VariantOf is the variant of a page of kind k a request with header h
// selects.
func VariantOf(k Kind, h http.Header) string {
	if k != KindVary {
		return NoOne
	}
	al := h.Get("Accept-Language")
	for _, l := range Langs {
		if al == l {
			return l
		}
	}
	return Langs[0]
}

// SessionCookie is the Set-Cookie value the origin sends to a visitor
// without a cookie on a KindSession page, "" for a visitor with one.
func SessionCookie(h http.Header) string {
	if h.Get("Cookie") != "" || h.Get(ClientField) == "" {
		return ""
	}
	return "sid=" + h.Get(ClientField) + "; Path=/; HttpOnly"
}

func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.Served.Add(1)
	i, ok := o.byPath[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete:
		_, _ = io.Copy(io.Discard, r.Body)
		v := o.Bump(i)
		w.Header().Set(VersionField, strconv.FormatInt(v, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, DELETE")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	p := o.specs[i]
	v := o.versions[i].Load()
	variant := VariantOf(p.Kind, r.Header)
	h := w.Header()
	if cc := p.CacheControl(); cc != "" {
		h.Set("Cache-Control", cc)
	}
	if p.Kind == KindVary {
		h.Set("Vary", "Accept-Language")
	}
	etag := p.ETag(v, variant)
	if etag != "" {
		h.Set("Etag", etag)
	}
	switch p.Kind {
	case KindSession:
		if sc := SessionCookie(r.Header); sc != "" {
			h.Set("Set-Cookie", sc)
		}
	case KindXUser:
		if u := Identity(r.Header); u != "" {
			h.Set(UserField, u)
		}
	}
	if etag != "" && r.Header.Get("If-None-Match") != "" && inmMatches(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := MakeBody(p.Path, v, variant, PersonalUser(p.Kind, r.Header), p.Size)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if rv := r.Header.Get("Range"); rv != "" && r.Method == http.MethodGet && p.Kind.Shared() {
		if start, end, ok := parseRange(rv, len(body)); ok {
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)))
			h.Set("Content-Length", strconv.Itoa(end-start+1))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(body[start : end+1])
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		// Two writes, so that a cache sees the body arrive in pieces.
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		_, _ = w.Write(body[half:])
	}
}

// inmMatches reports whether an If-None-Match field lists tag (weak
// comparison; the origin's tags are all strong) or is "*".
func inmMatches(lines []string, tag string) bool {
	for _, line := range lines {
		for t := range strings.SplitSeq(line, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == tag {
				return true
			}
		}
	}
	return false
}

// parseRange parses the one form of Range the soak's clients send,
// "bytes=a-b", against a body of size bytes.
func parseRange(v string, size int) (start, end int, ok bool) {
	s, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(s, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.Atoi(a)
	end, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || start < 0 || start > end || start >= size {
		return 0, 0, false
	}
	return start, min(end, size-1), true
}
