#!/usr/bin/env bash
# Builds the crossplane CLI (cmd/crank, v2.2.1, the newest crossplane/v2 that
# still has it) from the Go module proxy through the wrapper module in
# hack/tools/crossplane, once, into a cache directory, and prints the binary's
# path. Safe to run twice at once (flock).
#
#   CROSSPLANE_CLI=$(hack/crossplane-cli.sh) go test ./fn/...
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=v2.2.1
cache=${K8STA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8sta}
dir=$cache/crossplane-$version
mkdir -p "$dir"

exec 9>"$dir/.lock"
flock 9

if [ ! -x "$dir/crossplane" ]; then
  echo ">> building crossplane CLI $version into $dir; about 6 minutes on a cold cache" >&2
  cd "$root/hack/tools/crossplane"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/crossplane/crossplane/v2/internal/version.version=$version" \
    -o "$dir/crossplane.tmp" github.com/crossplane/crossplane/v2/cmd/crank
  mv "$dir/crossplane.tmp" "$dir/crossplane"
fi
echo "$dir/crossplane"
