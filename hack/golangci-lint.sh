#!/usr/bin/env bash
# Builds golangci-lint, the version the wrapper module in
# hack/tools/golangci-lint requires, from the Go module proxy, once, into a
# cache directory, and prints the binary's path. Safe to run twice at once
# (flock). make lint runs it with the repository's .golangci.yml.
#
#   $(hack/golangci-lint.sh) run ./...
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module=github.com/golangci/golangci-lint/v2
version=$(awk -v m="$module" '$1 == "require" && $2 == m { print $3 }' "$root/hack/tools/golangci-lint/go.mod")
[ -n "$version" ] || { echo "hack/tools/golangci-lint/go.mod requires no $module" >&2; exit 1; }
cache=${K8STA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8sta}
dir=$cache/golangci-lint-$version
mkdir -p "$dir"

exec 9>"$dir/.lock"
flock 9

if [ ! -x "$dir/golangci-lint" ]; then
  echo ">> building golangci-lint $version into $dir; about 3 minutes on a cold cache" >&2
  cd "$root/hack/tools/golangci-lint"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${version#v}" \
    -o "$dir/golangci-lint.tmp" "$module/cmd/golangci-lint"
  mv "$dir/golangci-lint.tmp" "$dir/golangci-lint"
fi
echo "$dir/golangci-lint"
