package memcache

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the port of a server named without one in a memcache:// URL.
const DefaultPort = "11211"

// ParseURL parses a store URL of the memcache scheme, as larder's --store
// flag takes it:
//
//	memcache://HOST[:PORT][,HOST[:PORT]...][?PARAMS]
//
// for example memcache://10.0.0.1:11211,10.0.0.2:11211?prefix=www:. The
// servers, in the order given (which every process sharing the cache must
// keep; see the package doc), have port 11211 when they name none; an IPv6
// address is in brackets. The parameters are
//
//	prefix=P        Options.Prefix (default "larder:")
//	timeout=D       Options.Timeout, a Go duration (default 500ms)
//	item_size=N     the servers' item size limit (memcached's -I), in
//	                bytes or with a unit B, KiB, MiB: Options.MaxValueSize
//	                is N minus ItemOverhead (default 1MiB)
//	max_idle=N      Options.MaxIdleConns (default 64)
//
// It returns the servers and options for NewFromServers. Its errors do not
// repeat the URL.
func ParseURL(s string) (servers []string, opts Options, err error) {
	rest, ok := cutPrefixFold(s, "memcache://")
	if !ok {
		return nil, Options{}, errors.New("memcache: not a memcache:// URL")
	}
	hosts, query, _ := strings.Cut(rest, "?")
	if i := strings.IndexAny(hosts, "/#@"); i >= 0 {
		if hosts[i] != '/' || hosts[i:] != "/" {
			return nil, Options{}, errors.New("memcache: a memcache:// URL has servers and parameters only (no user, path or fragment)")
		}
		hosts = hosts[:i]
	}
	if hosts == "" {
		return nil, Options{}, errors.New("memcache: no server in the URL")
	}
	for h := range strings.SplitSeq(hosts, ",") {
		addr, err := serverAddr(h)
		if err != nil {
			return nil, Options{}, err
		}
		servers = append(servers, addr)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, Options{}, fmt.Errorf("memcache: bad query: %v", err)
	}
	for name, vs := range q {
		v := vs[len(vs)-1]
		switch name {
		case "prefix":
			if err := checkPrefix(v); err != nil {
				return nil, Options{}, err
			}
			opts.Prefix = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, Options{}, fmt.Errorf("memcache: timeout %q: want a positive duration such as 250ms", v)
			}
			opts.Timeout = d
		case "item_size":
			n, err := parseItemSize(v)
			if err != nil {
				return nil, Options{}, err
			}
			opts.MaxValueSize = n - ItemOverhead
		case "max_idle":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, Options{}, fmt.Errorf("memcache: max_idle %q: want a positive integer", v)
			}
			opts.MaxIdleConns = n
		default:
			return nil, Options{}, fmt.Errorf("memcache: unknown parameter %q (prefix, timeout, item_size, max_idle)", name)
		}
	}
	return servers, opts, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// serverAddr checks one HOST[:PORT] of a URL and gives it a port.
func serverAddr(h string) (string, error) {
	if h == "" {
		return "", errors.New("memcache: empty server name in the URL")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: a name, an IPv4 address or a bracketed IPv6 one.
		host, port = h, DefaultPort
		bad := strings.ContainsAny(host, "[]:")
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			host = h[1 : len(h)-1]
			bad = strings.ContainsAny(host, "[]") || !strings.Contains(host, ":")
		}
		if bad {
			return "", fmt.Errorf("memcache: server %q: want HOST or HOST:PORT (IPv6 in brackets)", h)
		}
	}
	if host == "" {
		return "", fmt.Errorf("memcache: server %q has no host", h)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("memcache: server %q: bad port", h)
	}
	return net.JoinHostPort(host, port), nil
}

// parseItemSize parses memcached's item size limit: a size in bytes, with
// an optional binary unit (B, KiB, MiB, GiB), larger than ItemOverhead.
func parseItemSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(strings.ToLower(t), u.suffix) {
			mult, t = u.mult, strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || t[0] == '+' || n <= 0 || n > (1<<31)/mult || n*mult <= ItemOverhead {
		return 0, fmt.Errorf("memcache: item_size %q: want a size above %d bytes, such as 1048576 or 8MiB", s, ItemOverhead)
	}
	return n * mult, nil
}
