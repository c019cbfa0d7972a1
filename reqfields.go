package larder

import "net/http"

// reqFields are the request header fields that serving from the cache reads,
// gathered in one pass over the request header: a hit looks at up to nine
// fields that a request seldom carries.
type reqFields struct {
	cacheControl, pragma  []string
	ifNoneMatch, rangeV   []string
	ifRange               []string
	upgrade               bool
	ifMatch, ifUnmodified bool
	// conditional: If-Match, If-None-Match, If-Modified-Since or
	// If-Unmodified-Since is present, even empty (RFC 9110 §13.1.1-§13.1.4).
	conditional bool
}

// smallHeader is the largest header that gatherFields ranges over. A Go map
// of up to eight entries is searched key by key, so a lookup of an absent
// field compares it with every entry, and one pass over the header is
// cheaper than nine lookups. A larger map hashes, and lookups win.
const smallHeader = 8

// gatheredNames are the fields gatherFields looks for, in canonical form.
var gatheredNames = [...]string{
	"Cache-Control", "Pragma", "If-None-Match", "Range", "If-Range",
	"Upgrade", "If-Match", "If-Unmodified-Since", "If-Modified-Since",
}

// gatherFields returns the fields of h that serving from the cache reads. The
// names are canonical, as net/http's server leaves them.
func gatherFields(h http.Header) reqFields {
	var f reqFields
	if len(h) > smallHeader {
		for _, k := range gatheredNames {
			if v, ok := h[k]; ok {
				f.set(k, v)
			}
		}
		return f
	}
	// Stopping at the last field saves the iterator's last step, a scan
	// of the rest of the map's group.
	n := len(h)
	for k, v := range h {
		f.set(k, v)
		if n--; n == 0 {
			break
		}
	}
	return f
}

// set records the field k of the request, if it is one of gatheredNames.
func (f *reqFields) set(k string, v []string) {
	switch k {
	case "Cache-Control":
		f.cacheControl = v
	case "Pragma":
		f.pragma = v
	case "If-None-Match":
		f.ifNoneMatch = v
		f.conditional = true
	case "Range":
		f.rangeV = v
	case "If-Range":
		f.ifRange = v
	case "Upgrade":
		f.upgrade = true
	case "If-Match":
		f.ifMatch = true
		f.conditional = true
	case "If-Unmodified-Since":
		f.ifUnmodified = true
		f.conditional = true
	case "If-Modified-Since":
		f.conditional = true
	}
}
