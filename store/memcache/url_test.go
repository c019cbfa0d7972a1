package memcache_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder/store/memcache"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in      string
		servers []string
		opts    memcache.Options
	}{
		{"memcache://h1:11211,h2:11211", []string{"h1:11211", "h2:11211"}, memcache.Options{}},
		{"memcache://h1,10.0.0.2:1234/", []string{"h1:11211", "10.0.0.2:1234"}, memcache.Options{}},
		{"MEMCACHE://[::1],[fe80::1]:99", []string{"[::1]:11211", "[fe80::1]:99"}, memcache.Options{}},
		{"memcache://h?prefix=www:&timeout=250ms&item_size=8MiB&max_idle=16", []string{"h:11211"},
			memcache.Options{Prefix: "www:", Timeout: 250 * time.Millisecond, MaxValueSize: 8<<20 - memcache.ItemOverhead, MaxIdleConns: 16}},
		{"memcache://h?item_size=2097152", []string{"h:11211"}, memcache.Options{MaxValueSize: 2<<20 - memcache.ItemOverhead}},
	} {
		servers, opts, err := memcache.ParseURL(c.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.in, err)
			continue
		}
		if !slices.Equal(servers, c.servers) || opts != c.opts {
			t.Errorf("ParseURL(%q) = %q, %+v; want %q, %+v", c.in, servers, opts, c.servers, c.opts)
		}
	}
	for _, in := range []string{
		"redis://h", "memcache://", "memcache://?prefix=a", "memcache://h1,,h2", "memcache://h:0", "memcache://h:x",
		"memcache://user:secret@h", "memcache://h/path", "memcache://h#f", "memcache://::1",
		"memcache://h?prefix=a%20b", "memcache://h?timeout=-1s", "memcache://h?timeout=x",
		"memcache://h?item_size=100", "memcache://h?item_size=-1MiB", "memcache://h?item_size=1TiB",
		"memcache://h?max_idle=0", "memcache://h?size=1", "memcache://h?%zz",
	} {
		if _, _, err := memcache.ParseURL(in); err == nil {
			t.Errorf("ParseURL(%q): no error", in)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q): the error repeats the URL: %v", in, err)
		}
	}
}
