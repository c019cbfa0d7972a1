package disk

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/larder-cache/larder/internal/bytesize"
)

// ParseURL parses a store URL of the disk scheme, as larder's --store flag
// takes it:
//
//	disk:///ABSOLUTE/PATH[?PARAMS]
//
// for example disk:///var/cache/larder?size=10GiB. The path is the
// directory (percent-decoded; disk:///C:/cache on Windows). The parameters
// are
//
//	size=N          Options.MaxBytes, in bytes or with a unit, binary (KiB,
//	                MiB, GiB, TiB) or decimal (KB, MB, GB, TB); default 1GiB
//	max_entry=N     Options.MaxEntryBytes (default size/8)
//	inline=N        Options.InlineMax (default 32KiB)
//	sync=BOOL       false sets Options.NoSync (default true: fsync commits)
//	sweep=D         Options.SweepInterval, a Go duration (default 1m; 0
//	                turns the periodic sweep off)
//
// It returns the directory and options for Open. Its errors do not repeat
// the URL.
func ParseURL(s string) (dir string, opts Options, err error) {
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, "disk") {
		return "", Options{}, errors.New("disk: not a disk:// URL (want disk:///PATH?size=SIZE)")
	}
	if u.User != nil || u.Fragment != "" || (u.Host != "" && u.Host != "localhost") || u.Opaque != "" {
		return "", Options{}, errors.New("disk: a disk:// URL has an absolute path and parameters only (disk:///PATH?size=SIZE)")
	}
	dir = u.Path
	if len(dir) >= 3 && dir[0] == '/' && dir[2] == ':' && isLetter(dir[1]) {
		dir = dir[1:] // /C:/cache
	}
	dir = filepath.FromSlash(dir)
	if dir == "" || !filepath.IsAbs(dir) {
		return "", Options{}, errors.New("disk: the URL names no absolute directory (want disk:///PATH)")
	}
	dir = filepath.Clean(dir)
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", Options{}, fmt.Errorf("disk: bad query: %v", err)
	}
	for name, vs := range q {
		v := vs[len(vs)-1]
		switch name {
		case "size", "max_entry", "inline":
			n, err := parseSize(v)
			if err != nil {
				return "", Options{}, fmt.Errorf("disk: %s: %v", name, err)
			}
			switch name {
			case "size":
				opts.MaxBytes = n
			case "max_entry":
				opts.MaxEntryBytes = n
			default:
				if n > maxInlineMax {
					return "", Options{}, fmt.Errorf("disk: inline %q: at most 1MiB", v)
				}
				opts.InlineMax = int(n)
			}
		case "sync":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return "", Options{}, fmt.Errorf("disk: sync %q: want true or false", v)
			}
			opts.NoSync = !b
		case "sweep":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return "", Options{}, fmt.Errorf("disk: sweep %q: want a duration such as 1m, or 0 for none", v)
			}
			if d == 0 {
				d = -1
			}
			opts.SweepInterval = d
		default:
			return "", Options{}, fmt.Errorf("disk: unknown parameter %q (size, max_entry, inline, sync, sweep)", name)
		}
	}
	size := opts.MaxBytes
	if size == 0 {
		size = DefaultMaxBytes
	}
	if opts.MaxEntryBytes > size {
		// Open would refuse it too; said here in the URL's terms.
		return "", Options{}, errors.New("disk: max_entry exceeds size")
	}
	return dir, opts, nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// parseSize parses a positive byte count (internal/bytesize).
func parseSize(s string) (int64, error) { return bytesize.Parse(s) }
