#!/usr/bin/env bash
# In-process and store-level benchmarks of the bench module, in alternation:
# the test binary is built once and run ROUNDS times over all benchmarks (A B
# C, A B C, ..., in a new random order each round: -test.shuffle), and the
# tables report the medians of the rounds. Ratios are
# taken within the run only: the machine is shared and noisy.
#
#   bench/run.sh                    # ROUNDS=5 BENCHTIME=300ms
#   ROUNDS=3 BENCHTIME=1s bench/run.sh
#
# Output: results/<stamp>/ (raw go test output) and the markdown tables on
# stdout.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-5}
BENCHTIME=${BENCHTIME:-300ms}
STORE_ROUNDS=${STORE_ROUNDS:-3}
out=results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

go test -c -o "$out/bench.test" .
go build -o "$out/benchtable" ./cmd/benchtable

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$ROUNDS"); do
  echo "in-process round $i/$ROUNDS" >&2
  "$out/bench.test" -test.run '^$' -test.bench '^Benchmark(Bare|Larder|Gregjones|Souin)_' \
    -test.benchmem -test.benchtime "$BENCHTIME" -test.shuffle on >"$out/inprocess-$i.txt"
done
for i in $(seq 1 "$STORE_ROUNDS"); do
  echo "store round $i/$STORE_ROUNDS" >&2
  "$out/bench.test" -test.run '^$' -test.bench '^BenchmarkStoreZipfHitRatio$' -test.cpu 1 \
    >"$out/store-zipf-$i.txt"
  "$out/bench.test" -test.run '^$' -test.bench '^BenchmarkStoreParallelGet$' -test.cpu 1,2 \
    -test.benchmem -test.benchtime 1s >"$out/store-par-$i.txt"
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "## In-process ($ROUNDS rounds, -benchtime $BENCHTIME)"
  echo
  echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after."
  echo
  "$out/benchtable" -mode inprocess "$out"/inprocess-*.txt
  echo
  echo "## Store ($STORE_ROUNDS rounds)"
  echo
  "$out/benchtable" -mode store "$out"/store-*.txt
} | tee "$out/tables.md"
rm -f "$out/bench.test" "$out/benchtable"
echo "raw results in bench/$out" >&2
