#!/usr/bin/env bash
# Measures the memory of the current tree's larder daemon under two attacks
# (long cache keys; overlapping Range requests) with bench/cmd/attackrss: it
# builds cmd/larder into a temporary directory and runs the program against
# it, from bench/ (a module of its own). Arguments go to attackrss, e.g.
#
#   scripts/attack-rss.sh
#   scripts/attack-rss.sh -larder-args "--max-key-size 1MiB"
#   scripts/attack-rss.sh -attack a -n 200
#
# Loopback only, bounded in count and time (attackrss -timeout, 120s). Linux
# only (/proc). See the doc comment of bench/cmd/attackrss/main.go.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/larder" ./cmd/larder
cd bench
go run ./cmd/attackrss -larder "$tmp/larder" "$@"
