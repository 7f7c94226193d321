#!/usr/bin/env bash
# Runs every Go fuzz target for a bounded number of executions ($FUZZEXECS
# each, default 50000), and fails only when a target finds an input that
# makes it fail.
#
# The budget is a count, never a duration: with -fuzztime=<duration>, Go's
# fuzz coordinator (go1.26) can report its own deadline as a failure,
# "context deadline exceeded" with no failing input, when a worker is
# descheduled at the deadline on a busy machine (golang/go#75804). A count
# takes that deadline out: on a slow machine a target only takes longer.
# Every seed-corpus entry also runs as a unit test under `go test ./...`.
set -euo pipefail
cd "$(dirname "$0")/.."
execs=${FUZZEXECS:-50000}
[[ $execs =~ ^[0-9]+$ ]] || { echo "FUZZEXECS must be a number of executions, not '$execs'" >&2; exit 2; }
found=0
while IFS=: read -r file _ line; do
  target=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
  pkg=./$(dirname "$file")
  echo ">> fuzz $pkg $target for ${execs} executions"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" "$pkg"
  found=$((found + 1))
done < <(git ls-files '*_test.go' | xargs grep -Hn '^func Fuzz' || true)
echo ">> $found fuzz targets ran"
