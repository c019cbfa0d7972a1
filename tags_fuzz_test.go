package larder

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzTakeTags throws arbitrary tag fields at the tag reader: it never
// panics; unless the tags are over the limits, every tag it returns is
// non-empty, visible, within the length limit, without a separator of its
// field, and distinct, and there are at most the limit's count; the fields
// are always removed.
func FuzzTakeTags(f *testing.F) {
	f.Add("a b  c", "x, y z,,", "k1 k2,k3", "r")
	f.Add("", "", "", "")
	f.Add(strings.Repeat("t ", 100), "a\x01b", "ü \t v", " ")
	f.Add("dup dup", "dup", "dup", "dup")
	f.Fuzz(func(t *testing.T, sk, ct, xkey, routeTags string) {
		c := New(nil, WithTagLimits(8, 16))
		x := &exchange{c: c, r: &http.Request{}, rt: &route{tags: func(*http.Request) []string { return strings.Split(routeTags, ";") }}}
		h := http.Header{"Surrogate-Key": {sk}, "Cache-Tag": {ct}, "Xkey": {xkey}}
		tags, ok := x.takeTags(h)
		if len(h) != 0 {
			t.Fatalf("fields left: %v", h)
		}
		if !ok {
			if tags != nil {
				t.Fatalf("over the limits, yet tags %q", tags)
			}
			return
		}
		if len(tags) > 8 {
			t.Fatalf("%d tags", len(tags))
		}
		seen := map[string]bool{}
		for _, tag := range tags {
			if tag == "" || len(tag) > 16 || !visible(tag) || seen[tag] || tag != strings.TrimSpace(tag) {
				t.Fatalf("bad tag %q in %q", tag, tags)
			}
			seen[tag] = true
		}
	})
}

// FuzzPrefixTags: the tag prefixDir gives for a prefix is among the prefix
// tags of every key that starts with the prefix, whatever the depth.
func FuzzPrefixTags(f *testing.F) {
	f.Add("example.com/docs/v2/", "example.com/docs/v2/a/b?c=/d", uint8(2))
	f.Add("example.com/docs/v", "example.com/docs/v2/a", uint8(0))
	f.Add("example.com/", "example.com/a", uint8(5))
	f.Add("h/a/b/c/d/", "h/a/b/c/d/e/f", uint8(1))
	f.Fuzz(func(t *testing.T, prefix, key string, depth uint8) {
		if !strings.Contains(prefix, "/") || strings.ContainsAny(prefix, "?") || !strings.HasPrefix(key, prefix) {
			return
		}
		d := int(depth % 8)
		tag, exact := prefixDir(prefix, d)
		if exact && !strings.HasSuffix(prefix, "/") {
			t.Fatalf("exact for %q", prefix)
		}
		tags := prefixTags(nil, "https://"+key, d)
		for _, tg := range tags {
			if tg == tag {
				return
			}
		}
		t.Fatalf("prefixDir(%q, %d) = %q, not among the tags %q of %q", prefix, d, tag, tags, key)
	})
}
