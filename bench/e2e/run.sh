#!/usr/bin/env bash
# End-to-end benchmark: a Go origin on loopback, and in front of it the larder
# proxy, nginx proxy_cache and Varnish, each measured with wrk in alternation
# (origin ceiling larder larder-default nginx varnish, origin ceiling ...,
# ROUNDS rounds, for each body size), servers pinned to CPU 0 and wrk to
# CPU 1. "ceiling" is a second origin process that also writes the fields a
# larder hit carries (origin -hit-header): what a bare Go handler does with a
# hit's header, the bound for a Go cache. "larder" runs without its access
# log, as nginx and Varnish do here; "larder-default" is larder with its
# default configuration (only --upstream and --listen given): the access log
# on, text lines on stderr, which goes to a file.
# Reports medians and ratios within this run as a markdown table, and checks
# that each cache served hits (the origin's request count stays flat while a
# cache is measured).
#
#   bench/e2e/run.sh                      # ROUNDS=5 DURATION=6s CONNS=64
#   ROUNDS=3 DURATION=10s bench/e2e/run.sh
#   TARGETS="origin larder larder-default" ROUNDS=7 DURATION=4s bench/e2e/run.sh
#
# TARGETS picks the servers measured (default: all six, in that order); the
# columns and checks that need a server left out are left out.
#
# The default spends the ~4 minutes of measurement on more, shorter rounds:
# on a shared machine alternation and medians absorb bursts of outside load
# better than long runs. A full run takes about 5.5 minutes.
#
# Only loopback addresses are used. Everything the script starts is a
# foreground child process, stopped at exit; its files live in a temp dir.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-6s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
ORIGIN_PORT=${ORIGIN_PORT:-18080}
LARDER_PORT=${LARDER_PORT:-18081}
NGINX_PORT=${NGINX_PORT:-18082}
VARNISH_PORT=${VARNISH_PORT:-18083}
CEILING_PORT=${CEILING_PORT:-18084}
DEFAULT_PORT=${DEFAULT_PORT:-18085}
# larder and larder-default are restarted at the start of every round but
# the first (RESTART=0: not), filled and warmed for RESTART_WARMUP per size:
# two processes of one binary and configuration can differ by a few % in
# throughput for their whole life (heap layout, hash seeds), as much as the
# access log's cost, which their comparison measures.
RESTART=${RESTART:-1}
RESTART_WARMUP=${RESTART_WARMUP:-1s}
TARGETS=${TARGETS:-origin ceiling larder larder-default nginx varnish}
HOST=127.0.0.1

read -r -a targets <<<"$TARGETS"
has() { # target: whether it is measured
  local t
  for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  return 1
}
for t in "${targets[@]}"; do
  case $t in
    origin | ceiling | larder | larder-default | nginx | varnish) ;;
    *) echo "unknown target $t in TARGETS (origin ceiling larder larder-default nginx varnish)" >&2; exit 2 ;;
  esac
done
has origin || { echo "TARGETS must include origin (the reference)" >&2; exit 2; }

# --- packages ---------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
! has nginx || [ -x /usr/sbin/nginx ] || need+=(nginx)
! has varnish || [ -x /usr/sbin/varnishd ] || need+=(varnish)
command -v curl >/dev/null || need+=(curl)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- build ------------------------------------------------------------------
tmp=$(mktemp -d /tmp/larder-e2e.XXXXXX)
chmod 755 "$tmp"
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

# --- start the servers ------------------------------------------------------
for port in "$ORIGIN_PORT" "$LARDER_PORT" "$NGINX_PORT" "$VARNISH_PORT" "$CEILING_PORT" "$DEFAULT_PORT"; do
  if curl -s -o /dev/null --max-time 1 "http://$HOST:$port/"; then
    echo "port $port on $HOST is already in use" >&2
    exit 1
  fi
done

# Each server is started with "taskset ... &" directly (no subshell), so
# that $! is the server's own pid: taskset execs it.
taskset -c "$SERVER_CPU" "$tmp/origin" -listen "$HOST:$ORIGIN_PORT" >"$tmp/origin.log" 2>&1 &
pids+=($!); origin_pid=$!
declare -A pid
if has ceiling; then
  taskset -c "$SERVER_CPU" "$tmp/origin" -listen "$HOST:$CEILING_PORT" -hit-header >"$tmp/ceiling.log" 2>&1 &
  pids+=($!); pid[ceiling]=$!
fi

# larder: the access log off, as in the nginx config; Varnish logs only to
# its shared-memory log, which nothing reads here.
# larder-default: the default configuration, the access log on (text lines
# on stderr, buffered). Its stderr is a pipe, as under a service manager or
# a container runtime, read by awk on the client CPU, which counts the
# access log lines (and their bytes) of each process and keeps the daemon's
# other lines.
default_gen=0    # larder-default processes started
default_curls=0  # requests curl sent to larder-default
default_exit=0   # the first non-zero exit status of a larder-default stopped
start_larder() { # target
  case $1 in
    larder)
      taskset -c "$SERVER_CPU" "$tmp/larder" --upstream "http://$HOST:$ORIGIN_PORT" --listen "$HOST:$LARDER_PORT" \
        --access-log=false --log-level warn >>"$tmp/larder.log" 2>&1 &
      ;;
    larder-default)
      default_gen=$((default_gen + 1))
      taskset -c "$SERVER_CPU" "$tmp/larder" --upstream "http://$HOST:$ORIGIN_PORT" --listen "$HOST:$DEFAULT_PORT" \
        2> >(taskset -c "$CLIENT_CPU" awk -v logf="$tmp/larder-default.log" -v countf="$tmp/larder-default.count.$default_gen" '
          / msg=request / { n++; b += length($0) + 1; next }
          { print >> logf; fflush(logf) }
          END { print n + 0, b + 0 > countf }') &
      ;;
  esac
  pids+=($!); pid[$1]=$!
}
stop_larder() { # target: SIGTERM, the graceful shutdown
  local st=0
  kill -TERM "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" || st=$?
  if [ "$1" = larder-default ] && [ "$st" -ne 0 ] && [ "$default_exit" -eq 0 ]; then default_exit=$st; fi
}
has larder && start_larder larder
has larder-default && start_larder larder-default

if has nginx; then
  mkdir -p "$tmp/nginx"
  sed -e "s#@DIR@#$tmp/nginx#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@ORIGIN@#$HOST:$ORIGIN_PORT#g" \
    "$here/nginx.conf.in" >"$tmp/nginx/nginx.conf"
  taskset -c "$SERVER_CPU" /usr/sbin/nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 &
  pids+=($!); pid[nginx]=$!
fi

if has varnish; then
  sed -e "s#@ORIGIN_HOST@#$HOST#g" -e "s#@ORIGIN_PORT@#$ORIGIN_PORT#g" \
    "$here/varnish.vcl.in" >"$tmp/varnish.vcl"
  taskset -c "$SERVER_CPU" /usr/sbin/varnishd -F -a "$HOST:$VARNISH_PORT" -f "$tmp/varnish.vcl" -n "$tmp/varnish" \
    -s malloc,256m -T none >"$tmp/varnish.log" 2>&1 &
  pids+=($!); pid[varnish]=$!
fi
pid[origin]=$origin_pid

wait_up() { # name port pid
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://$HOST:$2/__count"; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "$1 did not start; its log:" >&2
  cat "$tmp/$1.log" "$tmp/$1/error.log" 2>/dev/null >&2 || true
  exit 1
}
declare -A port=([origin]=$ORIGIN_PORT [ceiling]=$CEILING_PORT [larder]=$LARDER_PORT [larder-default]=$DEFAULT_PORT
  [nginx]=$NGINX_PORT [varnish]=$VARNISH_PORT)
for t in "${targets[@]}"; do wait_up "$t" "${port[$t]}" "${pid[$t]}"; done
default_curls=1
caches=()
for t in "${targets[@]}"; do
  case $t in origin | ceiling) ;; *) caches+=("$t") ;; esac
done
paths=(1k 64k)

count() { curl -s "http://$HOST:$ORIGIN_PORT/__count"; }

# CPU ticks used by a server: the process and its descendants (nginx's
# worker, Varnish's cache process).
descendants() {
  local c
  echo "$1"
  for c in $(ps -o pid= --ppid "$1"); do descendants "$c"; done
}
ticks() {
  local p t=0 f
  for p in $(descendants "$1"); do
    if read -r -a f <"/proc/$p/stat" 2>/dev/null; then
      # Fields 14 and 15 (utime, stime); the command name has no spaces here.
      t=$((t + f[13] + f[14]))
    fi
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

# --- check that each cache serves hits --------------------------------------
for path in "${paths[@]}"; do
  for t in "${caches[@]}"; do
    curl -s -o /dev/null "http://$HOST:${port[$t]}/$path"
  done
done
default_curls=$((default_curls + 2 * ${#paths[@]})) # the hit check above, the header dump below
hdrs="$tmp/headers.txt"
: >"$hdrs"
for path in "${paths[@]}"; do
  for t in "${targets[@]}"; do
    {
      echo "### $t /$path"
      curl -s -D - -o "$tmp/body" "http://$HOST:${port[$t]}/$path" | tr -d '\r' |
        grep -iE '^(HTTP/|age|cache-status|x-cache-status|x-varnish|via|etag|content-length)'
      echo "body bytes: $(wc -c <"$tmp/body"), first/last: $(head -c1 "$tmp/body")$(tail -c1 "$tmp/body")"
    } >>"$hdrs"
  done
done

# --- warm-up ----------------------------------------------------------------
echo "warm-up ($WARMUP per target and size)" >&2
for path in "${paths[@]}"; do
  for t in "${targets[@]}"; do
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$HOST:${port[$t]}/$path" >"$tmp/warm-$path-$t.txt"
  done
done

# --- measure ----------------------------------------------------------------
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
raw="$tmp/raw.tsv" # round path target rps p50ms p99ms MBps origin_delta errors server_cpu% wrk_cpu%
: >"$raw"
to_ms() { # wrk latency (e.g. 812.00us, 1.23ms, 2.00s) in ms
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}
to_mb() { # wrk transfer (e.g. 12.34MB, 800.00KB, 1.2GB) in MB
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "KB") n /= 1024; else if (u == "GB") n *= 1024; else if (u == "B") n /= 1048576
    printf "%.1f", n }'
}
secs=${DURATION%s}
total=$((ROUNDS * ${#paths[@]} * ${#targets[@]}))
k=0
for r in $(seq 1 "$ROUNDS"); do
  if [ "$r" -gt 1 ] && [ "$RESTART" = 1 ]; then
    for t in larder larder-default; do
      has "$t" || continue
      stop_larder "$t"
      start_larder "$t"
      wait_up "$t" "${port[$t]}" "${pid[$t]}"
      for path in "${paths[@]}"; do
        curl -s -o /dev/null "http://$HOST:${port[$t]}/$path"
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$RESTART_WARMUP" "http://$HOST:${port[$t]}/$path" \
          >"$tmp/warm-$path-$t-r$r.txt"
      done
      if [ "$t" = larder-default ]; then default_curls=$((default_curls + 1 + ${#paths[@]})); fi
    done
  fi
  for path in "${paths[@]}"; do
    for t in "${targets[@]}"; do
      k=$((k + 1))
      echo "[$k/$total] round $r /$path $t" >&2
      c0=$(count)
      s0=$(ticks "${pid[$t]}")
      out="$tmp/wrk-$r-$path-$t.txt"
      TIMEFORMAT='%U %S'
      { time taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency \
          "http://$HOST:${port[$t]}/$path" >"$out"; } 2>"$tmp/time.txt"
      s1=$(ticks "${pid[$t]}")
      c1=$(count)
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
      p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
      p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
      mb=$(to_mb "$(awk '/^Transfer\/sec:/ {print $2}' "$out")")
      errs=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
      scpu=$(awk -v a="$s0" -v b="$s1" -v hz="$hz" -v d="$secs" 'BEGIN {printf "%.1f", 100 * (b - a) / hz / d}')
      wcpu=$(awk -v d="$secs" '{printf "%.0f", 100 * ($1 + $2) / d}' "$tmp/time.txt")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$r" "$path" "$t" "$rps" "$p50" "$p99" "$mb" "$((c1 - c0))" "$errs" "$scpu" "$wcpu" >>"$raw"
    done
  done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- access log of the default configuration --------------------------------
# Every request larder-default answered must have its line: wrk counts the
# requests it completed, and up to CONNS more per run were in flight when it
# stopped (answered, and logged, but not counted). larder-default is stopped
# with SIGTERM, its graceful shutdown writing the lines still buffered.
if has larder-default; then
  stop_larder larder-default
  for _ in $(seq 1 100); do
    [ "$(ls "$tmp"/larder-default.count.* 2>/dev/null | wc -l)" -ge "$default_gen" ] && break
    sleep 0.1
  done
  sleep 0.2
  read -r log_lines log_bytes < <(cat "$tmp"/larder-default.count.* | awk '{n += $1; b += $2} END {print n + 0, b + 0}')
  wrk_done=$(cat "$tmp"/warm-*-larder-default*.txt "$tmp"/wrk-*-larder-default.txt |
    awk '/ requests in / {n += $1} END {print n + 0}')
  runs=$(ls "$tmp"/warm-*-larder-default*.txt "$tmp"/wrk-*-larder-default.txt | wc -l)
  curls=$default_curls
  dropped=$({ grep 'lines dropped' "$tmp/larder-default.log" || true; } | sed -n 's/.* dropped=\([0-9]*\).*/\1/p' | awk '{n += $1} END {print n + 0}')
fi

# --- report -----------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v p="$1" -v t="$2" -v c="$3" '$2 == p && $3 == t {print $c}' "$raw"; }
cell() { awk -F'\t' -v r="$1" -v p="$2" -v t="$3" '$1 == r && $2 == p && $3 == t {print $4}' "$raw"; }
# Requests per second of server CPU time, by round: what a request costs the
# server, whatever share of CPU $SERVER_CPU other work left it.
eff() { awk -F'\t' -v p="$1" -v t="$2" '$2 == p && $3 == t && $10 > 0 {printf "%.0f\n", $4 * 100 / $10}' "$raw"; }
effcell() { awk -F'\t' -v r="$1" -v p="$2" -v t="$3" '$1 == r && $2 == p && $3 == t && $10 > 0 {printf "%.0f", $4 * 100 / $10}' "$raw"; }
cpucell() { awk -F'\t' -v r="$1" -v p="$2" -v t="$3" '$1 == r && $2 == p && $3 == t {print $10}' "$raw"; }
# The rounds of a body size in which both larders had at least 95 % of the
# server CPU: the others measured what other work left them as much as them.
clean_rounds() {
  awk -F'\t' -v p="$1" '$2 == p && ($3 == "larder" || $3 == "larder-default") && $10 < 95 {bad[$1] = 1}
    $2 == p {all[$1] = 1} END {for (r in all) if (!(r in bad)) print r}' "$raw" | sort -n
}
sum() { awk '{s += $1} END {print s + 0}'; }
range() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f–%.0f", lo / 1000, hi / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
ratio4() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", a / b}'; } # for the checks: not rounded up to a threshold
name_of() {
  case $1 in
    origin) echo "origin (Go, direct)" ;;
    ceiling) echo "ceiling (Go origin writing a hit's 8 fields)" ;;
    larder) echo "larder --access-log=false" ;;
    larder-default) echo "larder, default configuration (access log on)" ;;
    nginx) echo "nginx proxy_cache" ;;
    *) echo "$1" ;;
  esac
}

results="$repo/bench/results"
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report="$results/e2e-$stamp.md"
{
  restarted=""
  [ "$RESTART" = 1 ] && { has larder || has larder-default; } && restarted=", larder processes restarted every round"
  echo "## End to end ($ROUNDS rounds of ${DURATION} per target and size, wrk -t1 -c$CONNS, servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU$restarted)"
  echo
  echo "| body | server | req/s (median) | × Varnish | × origin direct | k req/s min–max | p50 ms | p99 ms | MB/s | server CPU % | wrk CPU % | origin requests during its runs | errors | req per server CPU-second (median) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for path in "${paths[@]}"; do
    v=""
    has varnish && v=$(col "$path" varnish 4 | median)
    o=$(col "$path" origin 4 | median)
    for t in "${targets[@]}"; do
      rps=$(col "$path" "$t" 4 | median)
      xv="—"
      [ -n "$v" ] && xv=$(ratio "$rps" "$v")
      printf '| %s | %s | %.0f | %s | %.2f | %s | %.2f | %.2f | %.0f | %s | %s | %s | %s | %s |\n' \
        "$path" "$(name_of "$t")" "$rps" "$xv" "$(ratio "$rps" "$o")" \
        "$(col "$path" "$t" 4 | range)" \
        "$(col "$path" "$t" 5 | median)" "$(col "$path" "$t" 6 | median)" \
        "$(col "$path" "$t" 7 | median)" "$(col "$path" "$t" 10 | median)" \
        "$(col "$path" "$t" 11 | median)" "$(col "$path" "$t" 8 | sum)" "$(col "$path" "$t" 9 | sum)" \
        "$(eff "$path" "$t" | median)"
    done
  done
  echo
  echo "Load average (1, 5, 15 min) before measuring: $load_before; after: $load_after. Server CPU % below 100 while wrk is not saturated means the server shared CPU $SERVER_CPU with other work."
  echo
  echo "Requests per second by round (each round measures the targets one after the other, in this order), and for larder, requests per second of server CPU time:"
  echo
  head="| body | round |"
  rule="|---|---:|"
  for t in "${targets[@]}"; do head="$head $t |"; rule="$rule---:|"; done
  if has larder && has larder-default; then
    head="$head larder-default / larder | per CPU-s: larder | larder-default | larder-default / larder | server CPU %: larder | larder-default |"
    rule="$rule---:|---:|---:|---:|---:|---:|"
  fi
  echo "$head"
  echo "$rule"
  for path in "${paths[@]}"; do
    for r in $(seq 1 "$ROUNDS"); do
      row="| $path | $r |"
      for t in "${targets[@]}"; do row="$row $(cell "$r" "$path" "$t" | awk '{printf "%.0f", $1}') |"; done
      if has larder && has larder-default; then
        row="$row $(ratio "$(cell "$r" "$path" larder-default)" "$(cell "$r" "$path" larder)") |"
        el=$(effcell "$r" "$path" larder); ed=$(effcell "$r" "$path" larder-default)
        row="$row $el | $ed | $(ratio "$ed" "$el") | $(cpucell "$r" "$path" larder) | $(cpucell "$r" "$path" larder-default) |"
      fi
      echo "$row"
    done
  done
  echo
  hits=yes
  for path in "${paths[@]}"; do
    for t in "${caches[@]}"; do
      d=$(col "$path" "$t" 8 | sum)
      if [ "$d" -gt $((2 * ROUNDS)) ]; then
        hits=no
        echo "**$t /$path reached the origin $d times while measured: not serving hits.**"
      fi
    done
  done
  [ "$hits" = yes ] && echo "Every cache served hits: the origin's count stayed flat (at most $((2 * ROUNDS)) requests) while each cache was measured."
  echo
  if has larder-default; then
    lo=$((wrk_done + curls)); hi=$((wrk_done + curls + CONNS * runs))
    ok="**no**"
    [ "$log_lines" -ge "$lo" ] && [ "$log_lines" -le "$hi" ] && ok=yes
    printf 'Access log of larder-default (read from its stderr, a pipe; %s processes, each stopped with SIGTERM, exit status %s): %s request lines (%s MB) for %s requests wrk completed and %s curl sent (up to %s more in flight when wrk stopped, %s runs × %s connections): all logged: %s. Lines dropped (its log): %s.\n' \
      "$default_gen" "$default_exit" "$log_lines" "$(awk -v b="$log_bytes" 'BEGIN {printf "%.0f", b / 1048576}')" "$wrk_done" "$curls" "$((CONNS * runs))" "$runs" "$CONNS" "$ok" "$dropped"
    echo
  fi
  echo "| target (ratio of medians, this run) | measured | met |"
  echo "|---|---:|---|"
  check() { # label value threshold
    printf '| %s | %.3f × | %s |\n' "$1" "$2" "$(awk -v a="$2" -v b="$3" 'BEGIN {print (a >= b) ? "yes" : "**no**"}')"
  }
  o1=$(col 1k origin 4 | median)
  if has larder; then
    l1=$(col 1k larder 4 | median); l64=$(col 64k larder 4 | median)
    if has varnish; then
      v1=$(col 1k varnish 4 | median); v64=$(col 64k varnish 4 | median)
      check "larder 1 KiB hits ≥ 1.2 × Varnish req/s" "$(ratio4 "$l1" "$v1")" 1.2
    fi
    check "larder 1 KiB hits ≥ 0.9 × Go origin direct req/s" "$(ratio4 "$l1" "$o1")" 0.9
    has varnish && check "larder 64 KiB hits ≥ 1.0 × Varnish req/s" "$(ratio4 "$l64" "$v64")" 1.0
    if has larder-default; then
      d1=$(col 1k larder-default 4 | median); d64=$(col 64k larder-default 4 | median)
      check "larder default configuration (access log on) ≥ 0.95 × --access-log=false, 1 KiB" "$(ratio4 "$d1" "$l1")" 0.95
      check "larder default configuration (access log on) ≥ 0.95 × --access-log=false, 64 KiB" "$(ratio4 "$d64" "$l64")" 0.95
      # Paired by round: the two are measured one after the other, so their
      # ratio in a round does not see the load changing from round to round.
      for path in "${paths[@]}"; do
        check "the same, $path, median of the rounds' ratios" \
          "$(for r in $(seq 1 "$ROUNDS"); do ratio4 "$(cell "$r" "$path" larder-default)" "$(cell "$r" "$path" larder)"; echo; done | median)" 0.95
      done
      for path in "${paths[@]}"; do
        check "the same per server CPU-second, $path" \
          "$(ratio4 "$(eff "$path" larder-default | median)" "$(eff "$path" larder | median)")" 0.95
      done
      for path in "${paths[@]}"; do
        rs=$(clean_rounds "$path" | tr '\n' ' ')
        [ -n "$rs" ] || continue
        md=$(for r in $rs; do cell "$r" "$path" larder-default; done | median)
        ml=$(for r in $rs; do cell "$r" "$path" larder; done | median)
        check "the same req/s, $path, over the $(echo $rs | wc -w) rounds both larders had ≥ 95 % of the server CPU" "$(ratio4 "$md" "$ml")" 0.95
      done
    fi
  fi
  if has ceiling && has larder; then
    c1=$(col 1k ceiling 4 | median)
    echo
    printf 'Ceiling at 1 KiB: a bare Go handler writing the 8 fields of a larder hit reaches %.2f × the origin; larder reaches %.2f × that ceiling.\n' \
      "$(ratio "$c1" "$o1")" "$(ratio "$l1" "$c1")"
  fi
  echo
  versions=""
  has nginx && versions="$(nginx -v 2>&1 | sed 's/^nginx version: //'), "
  has varnish && versions="$versions$(varnishd -V 2>&1 | head -1 | sed 's/^varnishd (\(.*\))$/\1/'), "
  versions="$versions$(wrk --version 2>&1 | head -1 | awk '{print $1, $2}'), $(go version | awk '{print $3}')"
  echo "Versions: $versions, $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')."
  echo
  echo "<details><summary>Response headers of one request to each server after warm-up</summary>"
  echo
  echo '```'
  cat "$hdrs"
  echo '```'
  echo "</details>"
} | tee "$report"
cp "$raw" "$results/e2e-$stamp.tsv"
echo "report: $report" >&2
