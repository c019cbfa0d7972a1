#!/usr/bin/env bash
# The project's test command (README: "Test it"), for the main module only:
# gofmt, go vet, staticcheck and the whole test suite with the race detector
# (fuzz seed corpora included). It needs only Go; the first run downloads the
# module's dependencies and staticcheck from the module proxy, later runs work
# offline. Services the tests need are started by scripts/services.sh.
#
# The benchmark module bench/ (its own go.mod, whose peers pull in Caddy) is
# checked by scripts/bench-check.sh; .ci/run runs both.
#
# Every step runs even when an earlier one failed, so a lint finding does not
# hide a test failure; the script exits 1 at the end if any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ -x scripts/services.sh ]; then
  # shellcheck source=/dev/null
  . scripts/services.sh
fi

# Staticcheck (honnef.co/go/tools) is a tool dependency of a separate module,
# tools/go.mod (a Go 1.24+ `tool` directive), and runs from the root with
# `go tool -modfile=tools/go.mod staticcheck`:
# - pinned and verified: the version is in tools/go.mod and every module it
#   builds from is checked against tools/go.sum, both committed; bump it with
#   `go get -tool -modfile=tools/go.mod honnef.co/go/tools/cmd/staticcheck@vX`;
# - offline after the first run: it builds from the module cache and the
#   binary is kept in the build cache. (`go run ...staticcheck@v0.8.2` would
#   pin the version too, but its dependencies would be checked only against
#   the public checksum database, not a go.sum in this repository.);
# - the main go.mod and go.sum stay free of staticcheck's dependencies.
# Staticcheck itself loads ./... with the main go.mod (it does not inherit
# -modfile). Its checks are set in staticcheck.conf.
staticcheck() {
  go tool -modfile=tools/go.mod staticcheck ./...
}

step gofmt gofmt_check . ./bench ./tools
# vet with -race: it type-checks against the same race-instrumented builds of
# the standard library and dependencies that `go test -race` then takes from
# the build cache, instead of compiling everything a second time without
# -race (on a cold cache that saves about a minute of CPU on 2 cores). It
# vets the files `go test -race` builds (the race build tag set).
step "go vet -race" go vet -race ./...
step staticcheck staticcheck
step "go test -race" go test -race -count=1 ./...
finish
