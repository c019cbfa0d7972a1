#!/usr/bin/env bash
# Checks the benchmark module bench/ (its own go.mod, see BENCHMARKS.md):
# gofmt, go vet, and its tests compiled and run, benchmarks included in the
# build but none run (-bench XXX matches none). It downloads the peers the
# benchmarks compare against (Souin pulls in Caddy), which takes most of the
# time on a fresh machine; that is why it is not part of scripts/test.sh.
# .ci/run runs it after scripts/test.sh. Benchmarks themselves: bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ ! -f bench/go.mod ]; then
  echo "bench-check: no bench/go.mod, nothing to check"
  exit 0
fi

step "bench: gofmt" gofmt_check ./bench
step "bench: go vet" go -C bench vet ./...
step "bench: go test" go -C bench test -count=1 -run . -bench XXX ./...
finish
