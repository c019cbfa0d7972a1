package disk_test

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder/store/disk"
)

func TestParseURL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the paths below are Unix paths")
	}
	for _, c := range []struct {
		url  string
		dir  string
		opts disk.Options
	}{
		{"disk:///var/cache/larder?size=10GiB", "/var/cache/larder", disk.Options{MaxBytes: 10 << 30}},
		{"disk:///var/cache/larder", "/var/cache/larder", disk.Options{}},
		{"DISK://localhost/a/b/", "/a/b", disk.Options{}},
		{"disk:///with%20space?size=1000000&max_entry=100KB&inline=4KiB&sync=false&sweep=30s",
			"/with space", disk.Options{MaxBytes: 1e6, MaxEntryBytes: 1e5, InlineMax: 4 << 10, NoSync: true, SweepInterval: 30 * time.Second}},
		{"disk:///x?sweep=0", "/x", disk.Options{SweepInterval: -1}},
		{"disk:///x?max_entry=1GiB", "/x", disk.Options{MaxEntryBytes: 1 << 30}},
	} {
		dir, opts, err := disk.ParseURL(c.url)
		if err != nil || dir != filepath.FromSlash(c.dir) || opts.Clock != nil || !sameOptions(opts, c.opts) {
			t.Errorf("ParseURL(%q) = %q, %+v, %v; want %q, %+v", c.url, dir, opts, err, c.dir, c.opts)
		}
	}
	for _, u := range []string{
		"memory://?size=1GiB",
		"disk://host/x",
		"disk://user:secret@/x",
		"disk:relative",
		"disk://",
		"disk:///x?size=0",
		"disk:///x?size=-1",
		"disk:///x?size=lots",
		"disk:///x?inline=2MiB",
		"disk:///x?sync=maybe",
		"disk:///x?sweep=-1s",
		"disk:///x?size=1MiB&max_entry=2MiB",
		"disk:///x?color=blue",
		"disk:///x#frag",
	} {
		if _, _, err := disk.ParseURL(u); err == nil {
			t.Errorf("ParseURL(%q): no error", u)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q): the error repeats the URL: %v", u, err)
		}
	}
}

func sameOptions(a, b disk.Options) bool {
	return a.MaxBytes == b.MaxBytes && a.MaxEntryBytes == b.MaxEntryBytes && a.InlineMax == b.InlineMax &&
		a.NoSync == b.NoSync && a.SweepInterval == b.SweepInterval
}
