#!/usr/bin/env bash
# Starts the servers the store tests need, on loopback ports of their own,
# and exports where they are. scripts/test.sh sources it; every server it
# starts is stopped when that shell exits. Run it alone to keep them up:
#
#   . scripts/services.sh      # then: go test ./store/...
#
# It installs redis-server and memcached from Debian's packages when they
# are missing (as root; otherwise it says what to install). The servers keep
# their data in a temporary directory, and nothing persists.
#
# Exported for the tests (store/redis, store/memcache):
#   LARDER_TEST_REDIS           host:port of a standalone Redis
#   LARDER_TEST_REDIS_CLUSTER   host:port,... of a 3-master Redis Cluster
#   LARDER_TEST_MEMCACHE        host:port,host:port of two memcached
#   LARDER_REQUIRE_SERVICES=1   a store test fails, instead of skipping,
#                               when its server is not set

_larder_need() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  command -v memcached >/dev/null 2>&1 || missing+=(memcached)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing ${missing[*]} (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      { echo "services: apt-get install ${missing[*]} failed" >&2; return 1; }
    # The packages start system-wide servers on the default ports; the
    # tests use their own, so stop those where a service manager runs them.
    command -v systemctl >/dev/null 2>&1 && systemctl stop redis-server memcached >/dev/null 2>&1
    return 0
  fi
  echo "services: the store tests need ${missing[*]}: apt-get install ${missing[*]} (as root)" >&2
  return 1
}

_larder_wait_port() { # host port
  local i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "services: nothing listens on $1:$2" >&2
  return 1
}

_larder_services() {
  _larder_need || return 1
  LARDER_SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/larder-services.XXXXXX")
  local d=$LARDER_SERVICES_DIR pids=() port
  # Ports away from the defaults, so a system Redis or memcached is no bother.
  local redis=16390 cluster=(17101 17102 17103) mc=(16211 16212)

  redis-server --bind 127.0.0.1 --port "$redis" --save '' --appendonly no \
    --dir "$d" --daemonize no --logfile "$d/redis.log" &
  pids+=($!)
  for port in "${cluster[@]}"; do
    mkdir -p "$d/c$port"
    redis-server --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
      --cluster-config-file "$d/c$port/nodes.conf" --save '' --appendonly no \
      --dir "$d/c$port" --daemonize no --logfile "$d/c$port/redis.log" &
    pids+=($!)
  done
  for port in "${mc[@]}"; do
    memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U 0 -m 64 &
    pids+=($!)
  done
  LARDER_SERVICES_PIDS="${pids[*]}"
  trap '_larder_stop_services' EXIT

  _larder_wait_port 127.0.0.1 "$redis" || return 1
  for port in "${cluster[@]}" "${mc[@]}"; do _larder_wait_port 127.0.0.1 "$port" || return 1; done
  local nodes=()
  for port in "${cluster[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$d/cluster-create.log" 2>&1 ||
    { echo "services: redis-cli --cluster create failed (see $d/cluster-create.log)" >&2; return 1; }
  for i in $(seq 1 100); do
    redis-cli -p "${cluster[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done

  export LARDER_TEST_REDIS="127.0.0.1:$redis"
  export LARDER_TEST_REDIS_CLUSTER
  LARDER_TEST_REDIS_CLUSTER=$(IFS=,; echo "${nodes[*]}")
  export LARDER_TEST_MEMCACHE="127.0.0.1:${mc[0]},127.0.0.1:${mc[1]}"
  export LARDER_REQUIRE_SERVICES=1
  echo "services: redis $LARDER_TEST_REDIS, cluster $LARDER_TEST_REDIS_CLUSTER, memcached $LARDER_TEST_MEMCACHE"
}

_larder_stop_services() {
  [ -n "${LARDER_SERVICES_PIDS:-}" ] && kill $LARDER_SERVICES_PIDS 2>/dev/null
  wait $LARDER_SERVICES_PIDS 2>/dev/null
  [ -n "${LARDER_SERVICES_DIR:-}" ] && rm -rf "$LARDER_SERVICES_DIR"
  LARDER_SERVICES_PIDS=
}

_larder_services || { echo "services: could not start the test servers" >&2; exit 1; }
