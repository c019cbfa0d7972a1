#!/usr/bin/env bash
# End to end, per store: the larder proxy with the memory store, the Redis
# store and the tiered store (L1 memory, L2 Redis) in front of the Go origin
# on loopback, measured with wrk on 1 KiB and 64 KiB hits, in alternating
# rounds; the medians and the ratios to the memory store are printed as a
# markdown table (BENCHMARKS.md, "6. Stores").
#
#   bench/e2e/stores.sh                       # ROUNDS=5 DURATION=4s CONNS=64
#
# The proxies and Redis share CPU 0 (SERVER_CPU), wrk runs on CPU 1: Redis's
# work is part of the server's cost, as on a machine that runs both. Ports
# 33320-33329 on loopback; a redis-server of the script's own (no other
# client's load).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4s}
WARMUP=${WARMUP:-1s}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
HOST=127.0.0.1
ORIGIN_PORT=33320
REDIS_PORT=33321
declare -A port=([memory]=33322 [redis]=33323 [tiered]=33324)
targets=(memory redis tiered)
paths=(1k 64k)

for c in wrk redis-server taskset curl; do
  command -v "$c" >/dev/null || { echo "$c is missing" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/larder-stores.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building origin and larder in $tmp" >&2
(cd "$here/.." && go build -o "$tmp/origin" ./e2e/origin)
(cd "$repo" && go build -o "$tmp/larder" ./cmd/larder)

taskset -c "$SERVER_CPU" "$tmp/origin" -listen "$HOST:$ORIGIN_PORT" >"$tmp/origin.log" 2>&1 &
pids+=($!)
taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind "$HOST" --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
declare -A store=(
  [memory]="memory://?size=256MiB"
  [redis]="redis://$HOST:$REDIS_PORT/0?prefix=e2e:"
  [tiered]="tiered:memory?size=64MiB+redis://$HOST:$REDIS_PORT/0?prefix=e2e-tiered:"
)
for t in "${targets[@]}"; do
  taskset -c "$SERVER_CPU" "$tmp/larder" --upstream "http://$HOST:$ORIGIN_PORT" --listen "$HOST:${port[$t]}" \
    --admin "$HOST:$((port[$t] + 10))" --store "${store[$t]}" --access-log=false --log-level warn >"$tmp/larder-$t.log" 2>&1 &
  pids+=($!)
done
for t in "${targets[@]}"; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://$HOST:${port[$t]}/1k" && break; sleep 0.1; done
done
for path in "${paths[@]}"; do
  for t in "${targets[@]}"; do
    curl -s -o /dev/null "http://$HOST:${port[$t]}/$path"; sleep 0.2
    cs=$(curl -s -D - -o /dev/null "http://$HOST:${port[$t]}/$path" | tr -d '\r' | grep -i '^cache-status:' || true)
    case $cs in *hit*) ;; *) echo "$t /$path is not a hit: $cs" >&2; exit 1 ;; esac
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$HOST:${port[$t]}/$path" >/dev/null
  done
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
raw="$tmp/raw.tsv"
for r in $(seq 1 "$ROUNDS"); do
  for path in "${paths[@]}"; do
    # A rotating order, so that no target always runs first.
    for i in "${!targets[@]}"; do
      t=${targets[$(((i + r) % ${#targets[@]}))]}
      echo "round $r/$ROUNDS /$path $t" >&2
      out="$tmp/wrk-$r-$path-$t.txt"
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://$HOST:${port[$t]}/$path" >"$out"
      rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
      p50=$(awk '$1 == "50%" {print $2}' "$out")
      p99=$(awk '$1 == "99%" {print $2}' "$out")
      errs=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$path" "$t" "$rps" "$p50" "$p99" "$errs" >>"$raw"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -F'\t' -v p="$1" -v t="$2" -v c="$3" '$2 == p && $3 == t {print $c}' "$raw"; }
to_ms() { sed -E 's/([0-9.]+)us/\1 0.001/; s/([0-9.]+)ms/\1 1/; s/([0-9.]+)s$/\1 1000/' | awk '{printf "%.3f\n", $1 * $2}'; }

echo
echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after. $ROUNDS rounds × $DURATION, $CONNS connections."
echo
echo "| path | store | req/s (median) | / memory | p50 ms | p99 ms | errors |"
echo "|---|---|---:|---:|---:|---:|---|"
for path in "${paths[@]}"; do
  m=$(col "$path" memory 4 | median)
  for t in "${targets[@]}"; do
    rps=$(col "$path" "$t" 4 | median)
    p50=$(col "$path" "$t" 5 | to_ms | median)
    p99=$(col "$path" "$t" 6 | to_ms | median)
    errs=$(col "$path" "$t" 7 | sort -u | tr '\n' ' ')
    printf '| %s | %s | %.0f | %.2f | %s | %s | %s |\n' "/$path" "$t" "$rps" "$(awk -v a="$rps" -v b="$m" 'BEGIN {print a / b}')" "$p50" "$p99" "${errs:-none}"
  done
done

echo
echo "The tiered daemon's store metrics at the end:"
curl -s "http://$HOST:$((port[tiered] + 10))/metrics" | grep -E '^larder_tiered_|^larder_store_call_errors_total.* [1-9]' | sed 's/^/    /'
