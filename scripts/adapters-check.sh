#!/usr/bin/env bash
# Checks the framework adapter modules under adapters/ (each its own go.mod,
# so that gin, echo, fiber and chi never enter the main module's go.mod; each
# uses the main module in this checkout through a replace directive): gofmt,
# go vet, staticcheck (pinned in tools/go.mod, checks in staticcheck.conf)
# and go test -race. The first run downloads the frameworks through the Go
# module proxy; later runs work offline. Every step runs even when an earlier
# one failed; the script exits 1 at the end if any did.
#
#   scripts/adapters-check.sh            all of adapters/*/
#   scripts/adapters-check.sh gin echo   those named
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "$#" -gt 0 ]; then
  mods=()
  for name in "$@"; do mods+=("adapters/$name"); done
else
  mods=()
  for m in adapters/*/go.mod; do
    [ -f "$m" ] && mods+=("$(dirname "$m")")
  done
fi
if [ "${#mods[@]}" -eq 0 ]; then
  echo "adapters-check: no adapters/*/go.mod, nothing to check"
  exit 0
fi

for dir in "${mods[@]}"; do
  name=${dir#adapters/}
  step "$name: gofmt" gofmt_check "./$dir"
  step "$name: go vet" go -C "$dir" vet ./...
  step "$name: staticcheck" go -C "$dir" tool -modfile=../../tools/go.mod staticcheck ./...
  step "$name: go test -race" go -C "$dir" test -race -count=1 ./...
done
finish
