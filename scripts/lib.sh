# Sourced by scripts/test.sh, scripts/bench-check.sh and .ci/run (not run on
# its own). Bash only.
#
#   step NAME CMD [ARG...]   runs CMD, prints "==> NAME" before it and
#                            "<== NAME: ok|FAILED (exit N) in S.Ss" after it,
#                            records a failure in $failed and returns 0, so a
#                            failing step does not hide the steps after it
#                            (and does not trip `set -e` in the caller).
#   finish                   prints the durations of all steps, then exits 1
#                            if any failed, 0 otherwise.
#
# Steps run in the current shell (a function or a command works), so a step
# may not `exit`: it returns its status.

failed=()
summary=()

step() {
  local name=$1 rc=0 t0 t1 dur status
  shift
  echo "==> $name"
  t0=$EPOCHREALTIME
  "$@" || rc=$?
  t1=$EPOCHREALTIME
  # EPOCHREALTIME is "seconds.microseconds"; tenths of a second are enough.
  dur=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1fs", b - a }')
  if [ "$rc" -eq 0 ]; then
    status=ok
  else
    status="FAILED (exit $rc)"
    failed+=("$name")
  fi
  echo "<== $name: $status in $dur"
  summary+=("$(printf '%-28s %-18s %s' "$name" "$status" "$dur")")
  return 0
}

finish() {
  local line
  echo "--- durations"
  for line in "${summary[@]}"; do echo "    $line"; done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "--- failed: ${failed[*]}"
    exit 1
  fi
  exit 0
}

# gofmt_check DIR [PRUNE...]: lists the .go files under DIR that gofmt would
# change and fails if there are any. Finds files on disk (new, untracked files
# included), skipping .git, testdata and the PRUNE directories (paths as find
# prints them, e.g. ./bench).
gofmt_check() {
  local dir=$1 p unformatted
  shift
  local prune=(-name .git -o -name testdata -o -name vendor)
  for p in "$@"; do prune+=(-o -path "$p"); done
  # gofmt exits non-zero on a file it cannot parse (its error is on stderr).
  unformatted=$(find "$dir" \( "${prune[@]}" \) -prune -o -name '*.go' -type f -print0 |
    xargs -0 -r gofmt -l) || return 1
  if [ -n "$unformatted" ]; then
    echo "gofmt needed on:"
    echo "$unformatted"
    return 1
  fi
}
