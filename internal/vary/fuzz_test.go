package vary

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func FuzzNames(f *testing.F) {
	f.Add("Accept-Encoding, Accept-Language", "Origin")
	f.Add("*, Foo", "")
	f.Add(", ,\t", "foo bar")
	f.Add("FOO,foo", "Foo")
	f.Fuzz(func(t *testing.T, l1, l2 string) {
		h := http.Header{"Vary": {l1, l2}}
		names, star := Names(h)
		if !slices.IsSorted(names) {
			t.Fatalf("not sorted: %q", names)
		}
		for i, n := range names {
			if n == "" || n != strings.ToLower(n) || !isToken(n) {
				t.Fatalf("bad name %q", n)
			}
			if i > 0 && names[i-1] == n {
				t.Fatalf("duplicate %q", n)
			}
		}
		// Splitting lines differently does not change the result (RFC 9110 §5.3).
		joined, jstar := Names(http.Header{"Vary": {l1 + "," + l2}})
		if !slices.Equal(names, joined) || star != jstar {
			t.Fatalf("lines %q -> %q,%v; joined -> %q,%v", []string{l1, l2}, names, star, joined, jstar)
		}
		// Merge keeps every nominated name, once.
		merged := Merge(h, names)
		mnames, _ := Names(http.Header{"Vary": {merged}})
		for _, n := range names {
			if _, ok := slices.BinarySearch(mnames, n); !ok {
				t.Fatalf("Merge(%q) = %q lost %q", []string{l1, l2}, merged, n)
			}
		}
		// Key is deterministic and distinguishes absent from present.
		req := http.Header{}
		for _, n := range names {
			req.Add(n, l1)
		}
		if k := Key(names, req); k != Key(names, req.Clone()) {
			t.Fatal("Key not deterministic")
		}
		if len(names) > 0 && Key(names, req) == Key(names, nil) {
			t.Fatalf("present and absent give the same key for %q", names)
		}
	})
}

// FuzzKey decodes every key and checks it yields back exactly the names and
// the normalised values, so no two different inputs share a key.
func FuzzKey(f *testing.F) {
	f.Add("1, 2", " 1 ,2", "a", true)
	f.Add(`"x, y"`, "", "b-c", false)
	f.Add("3:foo-", "=0:", "foo", true)
	f.Fuzz(func(t *testing.T, v1, v2, name string, second bool) {
		names := []string{"a", name}
		req := http.Header{"A": {v1}}
		if second {
			req[http.CanonicalHeaderKey(name)] = []string{v2}
		}
		k := Key(names, req)
		for _, n := range names {
			var ok bool
			var gotName string
			gotName, k, ok = takeLen(k)
			if !ok || gotName != n || k == "" {
				t.Fatalf("bad name in key for %q", names)
			}
			flag := k[0]
			k = k[1:]
			lines, present := lookup(req, n)
			switch flag {
			case '-':
				if present {
					t.Fatalf("%q present but marked absent", n)
				}
			case '=':
				var val string
				val, k, ok = takeLen(k)
				var b strings.Builder
				normalize(&b, lines)
				if !ok || !present || val != b.String() {
					t.Fatalf("value for %q = %q; want %q", n, val, b.String())
				}
			default:
				t.Fatalf("bad flag %q", flag)
			}
		}
		if k != "" {
			t.Fatalf("trailing %q", k)
		}
	})
}

// takeLen reads `<decimal length> ":" <bytes>` from s.
func takeLen(s string) (string, string, bool) {
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 10 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i >= len(s) || s[i] != ':' || len(s)-i-1 < n {
		return "", s, false
	}
	return s[i+1 : i+1+n], s[i+1+n:], true
}
