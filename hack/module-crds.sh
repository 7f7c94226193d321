#!/usr/bin/env bash
# hack/module-crds.sh MODULE@VERSION CRD_FILE: downloads a Go module (only for
# its CRDs; K8sTA never imports it) from the Go module proxy into the module
# cache and prints its manifests/crds directory, which must hold CRD_FILE.
# The project's go.mod is never touched: the download runs from a throwaway
# module in a temporary directory. Idempotent and cheap once the module is
# cached.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $(basename "$0") MODULE@VERSION CRD_FILE" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
printf 'module k8sta.io/module-crds\n\ngo 1.25\n' > go.mod

dir=$(GOFLAGS=-mod=mod GOWORK=off go mod download -json "$1" |
  sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -f "$dir/manifests/crds/$2" ]; then
  echo "module-crds: cannot find manifests/crds/$2 in $1 (dir: '${dir:-none}')" >&2
  exit 1
fi
echo "$dir/manifests/crds"
