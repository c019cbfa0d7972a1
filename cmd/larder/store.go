package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
	memcachestore "github.com/larder-cache/larder/store/memcache"
	"github.com/larder-cache/larder/store/memory"
	redisstore "github.com/larder-cache/larder/store/redis"
)

// storeConfig is a parsed --store URL.
type storeConfig struct {
	scheme   string
	size     int64           // memory: the byte bound
	redis    *redisConfig    // the redis schemes
	memcache *memcacheConfig // memcache://
	disk     *diskConfig     // disk://
	tiered   *tieredConfig   // tiered:memory?...+L2-URL
}

// diskConfig is a parsed disk:// URL (disk.ParseURL).
type diskConfig struct {
	dir  string
	opts disk.Options
}

// memcacheConfig is a parsed memcache:// URL (memcachestore.ParseURL).
type memcacheConfig struct {
	servers []string
	opts    memcachestore.Options
}

const defaultStore = "memory://?size=256MiB"

// parseStore parses a --store URL: memory://, a Redis URL (see
// parseRedisStore) or memcache://host:port,host:port (see
// memcachestore.ParseURL) or disk:///dir?size=SIZE (see disk.ParseURL). Errors never echo the URL, which may hold a password.
func parseStore(s string) (storeConfig, error) {
	if len(s) >= len("tiered:") && strings.EqualFold(s[:len("tiered:")], "tiered:") {
		return parseTieredStore(s)
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok && redisSchemes[strings.ToLower(scheme)] {
		return parseRedisStore(s)
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok && strings.EqualFold(scheme, "disk") {
		dir, opts, err := disk.ParseURL(s)
		if err != nil {
			return storeConfig{}, fmt.Errorf("--store: %w", err)
		}
		return storeConfig{scheme: "disk", disk: &diskConfig{dir, opts}}, nil
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok && strings.EqualFold(scheme, "memcache") {
		servers, opts, err := memcachestore.ParseURL(s)
		if err != nil {
			return storeConfig{}, fmt.Errorf("--store: %w", err)
		}
		return storeConfig{scheme: "memcache", memcache: &memcacheConfig{servers, opts}}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return storeConfig{}, errors.New("--store: not a URL (want memory://?size=SIZE)")
	}
	sc := storeConfig{scheme: strings.ToLower(u.Scheme)}
	switch sc.scheme {
	case "memory":
	default:
		return storeConfig{}, fmt.Errorf("--store: unknown store scheme %q (want memory://?size=SIZE)", sc.scheme)
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return storeConfig{}, errors.New("--store: memory:// takes no host or path, only ?size=SIZE")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return storeConfig{}, fmt.Errorf("--store: bad query: %v", err)
	}
	sc.size = 256 << 20
	for k, vs := range q {
		if k != "size" {
			return storeConfig{}, fmt.Errorf("--store: unknown memory:// parameter %q (only size)", k)
		}
		n, err := parseSize(vs[len(vs)-1])
		if err != nil {
			return storeConfig{}, fmt.Errorf("--store: size: %v", err)
		}
		sc.size = n
	}
	return sc, nil
}

// openStore opens the configured store. stats, when the store can tell its
// size, feeds the larder_stored_* gauges. close releases the store.
func openStore(sc storeConfig, clock func() time.Time) (store larder.Store, stats func() memory.Stats, close func(), err error) {
	switch sc.scheme {
	case "memory":
		m, err := memory.New(memory.Options{MaxBytes: sc.size, Clock: clock})
		if err != nil {
			return nil, nil, nil, err
		}
		return m, m.Stats, m.Close, nil
	}
	if sc.redis != nil {
		s, _, closeClient, err := openRedisStore(sc.redis)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, closeClient, nil // no stats: see openRedisStore
	}
	if sc.tiered != nil {
		return openTieredStore(sc.tiered, clock)
	}
	if sc.disk != nil {
		opts := sc.disk.opts
		opts.Clock = clock // nil means time.Now
		d, err := disk.Open(sc.disk.dir, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		return d, func() memory.Stats { return memory.Stats(d.Stats()) }, func() { _ = d.Close() }, nil
	}
	if sc.memcache != nil {
		s, err := memcachestore.NewFromServers(sc.memcache.servers, sc.memcache.opts)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, s.Close, nil // memcached cannot tell the prefix's size
	}
	return nil, nil, nil, fmt.Errorf("store scheme %q is not supported", sc.scheme)
}

// The Redis store (store/redis):
//
//	redis://[[user]:password@]host[:port][/db][?options]         one server
//	rediss://...                                                  the same over TLS
//	redis+cluster://[[user]:password@]host:port,host:port,...[?options]
//	redis+sentinel://[[user]:password@]host[:port],...[/master[/db]][?options]
//
// (and rediss+cluster://, rediss+sentinel:// over TLS). A cluster URL names
// one or more of its nodes; a Sentinel URL names the sentinels (port 26379
// by default), and its path the master's name (default "mymaster") and the
// database. The user and password are the data nodes' (an ACL user, or
// none for requirepass); the sentinels' own are the sentinel_username and
// sentinel_password options. The options are go-redis's (dial_timeout=3s,
// pool_size=20, ...: see redis.ParseURL), but those that read from
// replicas, which lag behind the writes that invalidation relies on, plus
// the store's own: prefix=KEY-PREFIX (default "larder:") and
// max_value_size=SIZE (default 9MiB: larger entries are not stored; raise
// it along with --max-object-size). The client always has
// ContextTimeoutEnabled, so the cache's store timeout bounds every call.

// noRetries: a standalone or Sentinel client makes no retries unless the
// URL asks for them (max_retries=N). go-redis retries a failed command
// three times by default, with backoff, which with a store that is down
// only holds each request up to the store timeout before it goes to the
// origin anyway; a cache fails open at once instead. (A cluster client
// keeps its retries, which follow the slots to their new masters after a
// failover.)

// redisSchemes are the --store schemes of the Redis store.
var redisSchemes = map[string]bool{
	"redis": true, "rediss": true,
	"redis+cluster": true, "rediss+cluster": true,
	"redis+sentinel": true, "rediss+sentinel": true,
}

// redisConfig is a parsed Redis --store URL: the options of one kind of
// client, and the store's.
type redisConfig struct {
	simple   *goredis.Options
	cluster  *goredis.ClusterOptions
	failover *goredis.FailoverOptions
	store    redisstore.Options
}

// parseRedisStore parses a Redis --store URL (see above) with go-redis's
// parsers, after taking out the hosts go-redis's URLs cannot hold (a list)
// and the store's own options. Errors never echo the password.
func parseRedisStore(s string) (sc storeConfig, err error) {
	scheme, rest, _ := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	base, kind, _ := strings.Cut(scheme, "+") // redis or rediss; "", cluster or sentinel
	sc.scheme = scheme

	// The authority may be a list of hosts, which net/url does not parse:
	// keep the first host, and the others apart.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostlist := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostlist = authority[:i+1], authority[i+1:]
	}
	hosts := strings.Split(hostlist, ",")
	var password string
	defer func() { // whatever failed, the error does not show the password
		if err != nil {
			err = redactError(err, password, userinfo)
		}
	}()
	for _, h := range hosts {
		if h == "" && len(hosts) > 1 {
			return storeConfig{}, fmt.Errorf("--store: %s:// with an empty host in its list", scheme)
		}
	}
	if len(hosts) > 1 && kind == "" {
		return storeConfig{}, fmt.Errorf("--store: %s:// takes one host (for a cluster: %s+cluster://h1:p1,h2:p2)", scheme, base)
	}
	u, err := url.Parse(base + "://" + userinfo + hosts[0] + tail)
	if err != nil {
		return storeConfig{}, fmt.Errorf("--store: not a valid %s:// URL", scheme)
	}
	if u.Fragment != "" {
		return storeConfig{}, fmt.Errorf("--store: %s:// takes no #fragment", scheme)
	}
	password, _ = u.User.Password()
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return storeConfig{}, fmt.Errorf("--store: bad query: %v", err)
	}

	// The store's own options, which go-redis would refuse.
	rc := &redisConfig{}
	if vs, ok := q["prefix"]; ok {
		rc.store.Prefix = vs[len(vs)-1]
		if rc.store.Prefix == "" || strings.ContainsAny(rc.store.Prefix, "{}") {
			return storeConfig{}, errors.New(`--store: prefix must not be empty, nor contain "{" or "}"`)
		}
		q.Del("prefix")
	}
	if vs, ok := q["max_value_size"]; ok {
		n, err := parseSize(vs[len(vs)-1])
		if err != nil {
			return storeConfig{}, fmt.Errorf("--store: max_value_size: %v", err)
		}
		if n > redisstore.MaxMaxValueSize {
			return storeConfig{}, fmt.Errorf("--store: max_value_size: more than %s", formatSize(redisstore.MaxMaxValueSize))
		}
		rc.store.MaxValueSize = int(n)
		q.Del("max_value_size")
	}
	var sentinelUser, sentinelPassword string
	if kind == "sentinel" {
		sentinelUser, sentinelPassword = q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
	} else if q.Has("sentinel_username") || q.Has("sentinel_password") {
		return storeConfig{}, fmt.Errorf("--store: sentinel_username and sentinel_password are options of %s+sentinel://", base)
	}
	for _, k := range []string{"addr", "master_name", "username", "password", "db"} {
		if q.Has(k) {
			return storeConfig{}, fmt.Errorf("--store: %s:// takes no %s option: it is in the URL", scheme, k)
		}
	}
	// Reads from replicas lag behind the master's writes, which the cache's
	// invalidation relies on (see store/redis).
	for _, k := range []string{"read_only", "route_by_latency", "route_randomly", "replica_only", "use_disconnected_replicas"} {
		if q.Has(k) {
			return storeConfig{}, fmt.Errorf("--store: option %s is not supported: the store reads from masters only", k)
		}
	}

	switch kind {
	case "":
		u.RawQuery = q.Encode()
		if rc.simple, err = goredis.ParseURL(u.String()); err != nil {
			return storeConfig{}, fmt.Errorf("--store: %v", err)
		}
		rc.simple.ContextTimeoutEnabled = true
		if !q.Has("max_retries") {
			rc.simple.MaxRetries = -1 // see noRetries
		}
	case "cluster":
		if u.Path != "" && u.Path != "/" {
			return storeConfig{}, fmt.Errorf("--store: %s:// takes no path (a cluster has database 0 only)", scheme)
		}
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		u.RawQuery = q.Encode()
		if rc.cluster, err = goredis.ParseClusterURL(u.String()); err != nil {
			return storeConfig{}, fmt.Errorf("--store: %v", err)
		}
		rc.cluster.ContextTimeoutEnabled = true
	case "sentinel":
		for i, h := range hosts {
			if _, _, err := net.SplitHostPort(h); err != nil { // no port: Sentinel's
				hosts[i] = net.JoinHostPort(strings.Trim(h, "[]"), "26379")
			}
		}
		u.Host = hosts[0]
		master, db := "mymaster", ""
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		switch {
		case len(parts) > 2:
			return storeConfig{}, fmt.Errorf("--store: %s:// path is /master or /master/db", scheme)
		case len(parts) == 2:
			db = parts[1]
			fallthrough
		case parts[0] != "":
			master = parts[0]
		}
		// go-redis's failover URL holds the sentinels' credentials in the
		// userinfo and the data nodes' in options: the other way round.
		if u.User != nil {
			q.Set("username", u.User.Username())
			q.Set("password", password)
		}
		u.User = nil
		if sentinelUser != "" || sentinelPassword != "" {
			u.User = url.UserPassword(sentinelUser, sentinelPassword)
		}
		q.Set("master_name", master)
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		u.Path = "/" + db
		u.RawPath = ""
		u.RawQuery = q.Encode()
		if rc.failover, err = goredis.ParseFailoverURL(u.String()); err != nil {
			err = redactError(err, sentinelPassword, "")
			return storeConfig{}, fmt.Errorf("--store: %v", err)
		}
		rc.failover.ContextTimeoutEnabled = true
		if !q.Has("max_retries") {
			rc.failover.MaxRetries = -1 // see noRetries
		}
	default:
		return storeConfig{}, fmt.Errorf("--store: unknown store scheme %q", scheme)
	}
	sc.redis = rc
	return sc, nil
}

// redactError returns err with the password, and the userinfo holding it,
// replaced by "xxxxx", in every spelling they may have in a message.
func redactError(err error, password, userinfo string) error {
	msg := err.Error()
	for _, s := range []string{userinfo, password, url.QueryEscape(password), url.PathEscape(password)} {
		if len(s) > 1 && strings.Contains(msg, s) { // "@" alone, or one character, says nothing
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// redisPingTimeout bounds the check that the Redis store answers, at start.
const redisPingTimeout = 5 * time.Second

// openRedisStore makes the client and the store, and checks that the server
// answers (it returns the client too, for a tiered store's bus): a wrong address, password or database stops the daemon at start,
// rather than making every request a miss. close closes the client. There is
// no stats function for the larder_stored_* gauges: Redis cannot count the
// entries and bytes under a prefix cheaply (DBSIZE and INFO count the whole
// database, other data included).
func openRedisStore(rc *redisConfig) (*redisstore.Store, goredis.UniversalClient, func(), error) {
	var c goredis.UniversalClient
	switch {
	case rc.cluster != nil:
		c = goredis.NewClusterClient(rc.cluster)
	case rc.failover != nil:
		c = goredis.NewFailoverClient(rc.failover)
	default:
		c = goredis.NewClient(rc.simple)
	}
	s, err := redisstore.New(c, rc.store)
	if err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisPingTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, nil, nil, fmt.Errorf("redis: PING: %v", firstLine(err.Error()))
	}
	return s, c, func() { c.Close() }, nil
}

// noRedisLog drops go-redis's own log lines (dial retries, pool events),
// which it would write to stderr apart from the daemon's log: a failing
// store shows in the daemon's log ("larder: store failed") and metrics
// (larder_store_errors_total) instead.
// It is set once, before any client exists: go-redis's logger is global.
type noRedisLog struct{}

func init() { goredis.SetLogger(noRedisLog{}) }

func (noRedisLog) Printf(context.Context, string, ...any) {}
