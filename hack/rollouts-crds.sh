#!/usr/bin/env bash
# Downloads the Argo Rollouts module (only for its CRDs; K8sTA never imports it)
# from the Go module proxy into the module cache and prints its manifests/crds
# directory. The project's go.mod is never touched: the download runs from a
# throwaway module in a temporary directory. Idempotent and cheap once the
# module is cached.
set -euo pipefail

module=github.com/argoproj/argo-rollouts
version=${ROLLOUTS_VERSION:-v1.10.1}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
printf 'module k8sta.io/rollouts-crds\n\ngo 1.25\n' > go.mod

dir=$(GOFLAGS=-mod=mod GOWORK=off go mod download -json "$module@$version" |
  sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -f "$dir/manifests/crds/rollout-crd.yaml" ]; then
  echo "rollouts-crds: cannot find manifests/crds in $module@$version (dir: '${dir:-none}')" >&2
  exit 1
fi
echo "$dir/manifests/crds"
