#!/usr/bin/env bash
# The project's test command (README: "Test it"). It checks formatting, runs
# go vet and the whole test suite with the race detector, fuzz seed corpora
# included. Services the tests need are started by scripts/services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/services.sh ]; then
  # shellcheck source=/dev/null
  . scripts/services.sh
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -race -count=1 ./...
if [ -f bench/go.mod ]; then
  (cd bench && go vet ./... && go test -count=1 -run . -bench XXX ./...)
fi
