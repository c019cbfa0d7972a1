package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestKeyFlagsConfig: the --key-* flags, their environment variables, and
// their errors.
func TestKeyFlagsConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*config) bool
	}{
		{"defaults", nil, nil, func(c *config) bool {
			return c.keyDropQuery == nil && !c.keySortQuery && c.keyCookies == nil && c.keyHeaders == nil
		}},
		{"flags", []string{"--key-drop-query", "utm_*, fbclid", "--key-drop-query", "gclid", "--key-sort-query",
			"--key-cookie", "lang", "--key-cookie", "cur", "--key-header", "x-tenant,X-Device", "--key-header", "X-TENANT"}, nil,
			func(c *config) bool {
				return slices.Equal(c.keyDropQuery, []string{"utm_*", "fbclid", "gclid"}) && c.keySortQuery &&
					slices.Equal(c.keyCookies, []string{"lang", "cur"}) &&
					slices.Equal(c.keyHeaders, []string{"X-Tenant", "X-Device"})
			}},
		{"env", nil, map[string]string{"LARDER_KEY_DROP_QUERY": "utm_*,fbclid", "LARDER_KEY_SORT_QUERY": "true",
			"LARDER_KEY_COOKIE": "lang", "LARDER_KEY_HEADER": "X-Tenant"},
			func(c *config) bool {
				return slices.Equal(c.keyDropQuery, []string{"utm_*", "fbclid"}) && c.keySortQuery &&
					slices.Equal(c.keyCookies, []string{"lang"}) && slices.Equal(c.keyHeaders, []string{"X-Tenant"})
			}},
		{"the flags replace the env", []string{"--key-drop-query", "gclid", "--key-sort-query=false", "--key-cookie", "cur", "--key-header", "X-Device"},
			map[string]string{"LARDER_KEY_DROP_QUERY": "utm_*", "LARDER_KEY_SORT_QUERY": "true",
				"LARDER_KEY_COOKIE": "lang", "LARDER_KEY_HEADER": "X-Tenant"},
			func(c *config) bool {
				return slices.Equal(c.keyDropQuery, []string{"gclid"}) && !c.keySortQuery &&
					slices.Equal(c.keyCookies, []string{"cur"}) && slices.Equal(c.keyHeaders, []string{"X-Device"})
			}},
		{"drop everything", []string{"--key-drop-query", "*"}, nil, func(c *config) bool {
			return slices.Equal(c.keyDropQuery, []string{"*"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--upstream", "http://o"}, tt.args...)
			c, err := parseConfig(args, func(k string) string { return tt.env[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}

	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"star inside", []string{"--key-drop-query", "utm_*_id"}, nil, `--key-drop-query "utm_*_id"`},
		{"bad cookie", []string{"--key-cookie", "a=b"}, nil, `--key-cookie "a=b"`},
		{"bad header", []string{"--key-header", "X Tenant"}, nil, `--key-header "X Tenant"`},
		{"host header", []string{"--key-header", "host"}, nil, `--key-header "host"`},
		{"bad header from env", nil, map[string]string{"LARDER_KEY_HEADER": "a:b"}, `--key-header "a:b"`},
		{"bad bool from env", nil, map[string]string{"LARDER_KEY_SORT_QUERY": "sometimes"}, "LARDER_KEY_SORT_QUERY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			args := append([]string{"--upstream", "http://127.0.0.1:9"}, tt.args...)
			code := run(context.Background(), args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != exitConfig || !strings.Contains(stderr.String(), tt.want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestKeyFlagsHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"--help"}, noEnv, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := stdout.String()
	for _, f := range []string{"key-drop-query NAME", "key-sort-query", "key-cookie NAME", "key-header NAME"} {
		name, _, _ := strings.Cut(f, " ")
		if !regexp.MustCompile(`(?m)^  --`+f+`$`).MatchString(out) || !strings.Contains(out, envName(name)+"\n") {
			t.Errorf("help does not document --%s and %s", f, envName(name))
		}
	}
	for _, s := range []string{"utm_*,fbclid,gclid", "never sees what the key ignores", "as if it had Vary on it"} {
		if !strings.Contains(out, s) {
			t.Errorf("help does not mention %q", s)
		}
	}
}

// TestKeyFlags runs the daemon with the --key-* flags: the upstream gets
// the query the key is made of; the cookie and field values select copies;
// an unsafe request and a purge of any spelling drop them all.
func TestKeyFlags(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		lang := "-"
		if c, err := r.Cookie("lang"); err == nil {
			lang = c.Value
		}
		io.WriteString(w, r.RequestURI+" lang="+lang+" tenant="+r.Header.Get("X-Tenant"))
	})
	d := startDaemon(t, []string{"--upstream", o.URL, "--admin", "127.0.0.1:0",
		"--key-drop-query", "utm_*,fbclid", "--key-drop-query", "gclid", "--key-sort-query",
		"--key-cookie", "lang", "--key-header", "X-Tenant"}, nil)

	get := func(path string, kv ...string) string {
		t.Helper()
		return d.do(http.MethodGet, path, hdr(kv...), "").body
	}
	if got, want := get("/a?utm_source=evil&b=1&a=2&fbclid=x"), "/a?a=2&b=1 lang=- tenant="; got != want {
		t.Fatalf("first response %q, want %q", got, want)
	}
	if got := o.Last().URI; got != "/a?a=2&b=1" {
		t.Fatalf("upstream got %q", got)
	}
	calls := o.Calls()
	for _, p := range []string{"/a?a=2&b=1", "/a?b=1&a=2&gclid=1", "/a?utm_medium=m&a=2&b=1"} {
		if got := get(p); got != "/a?a=2&b=1 lang=- tenant=" {
			t.Errorf("%s: %q", p, got)
		}
	}
	if o.Calls() != calls {
		t.Fatalf("%d upstream calls for hits", o.Calls()-calls)
	}

	variants := [][]string{
		{"Cookie", "lang=en"},
		{"Cookie", "lang=fr"},
		{"X-Tenant", "acme"},
		{"Cookie", "lang=en", "X-Tenant", "acme"},
	}
	fill := func(round string) int {
		t.Helper()
		before := o.Calls()
		for _, kv := range variants {
			for range 2 {
				got := get("/a?b=1&a=2", kv...)
				if !strings.Contains(got, "lang="+cookieOf(kv)) || !strings.HasSuffix(got, "tenant="+headerOf(kv, "X-Tenant")) {
					t.Fatalf("%s %q: got %q", round, kv, got)
				}
			}
		}
		return o.Calls() - before
	}
	if n := fill("first"); n != len(variants) {
		t.Fatalf("%d upstream calls for %d variants, each asked twice", n, len(variants))
	}

	// An unsafe request with a dropped parameter and another order
	// invalidates them all.
	d.do(http.MethodPost, "/a?b=1&utm_campaign=c&a=2", nil, "x")
	if got := o.Last().URI; got != "/a?a=2&b=1" {
		t.Fatalf("upstream got POST %q", got)
	}
	if n := fill("after POST"); n != len(variants) {
		t.Fatalf("%d upstream calls after the POST, want %d", n, len(variants))
	}

	// So does a purge of any spelling.
	if r := d.doAdmin("PURGE", "/a?fbclid=1&b=1&a=2", hdr("Host", "site.test")); r.StatusCode != http.StatusOK {
		t.Fatalf("PURGE: %d %q", r.StatusCode, r.body)
	}
	if n := fill("after PURGE"); n != len(variants) {
		t.Fatalf("%d upstream calls after the PURGE, want %d", n, len(variants))
	}
}

func cookieOf(kv []string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "Cookie" {
			return strings.TrimPrefix(kv[i+1], "lang=")
		}
	}
	return "-"
}

func headerOf(kv []string, name string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == name {
			return kv[i+1]
		}
	}
	return ""
}
