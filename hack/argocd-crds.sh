#!/usr/bin/env bash
# Downloads the Argo CD module (only for its CRDs; K8sTA never imports it) from the
# Go module proxy into the module cache and prints its manifests/crds directory.
# The project's go.mod is never touched: the download runs from a throwaway module
# in a temporary directory. Idempotent and cheap once the module is cached.
set -euo pipefail

module=github.com/argoproj/argo-cd/v3
version=${ARGOCD_VERSION:-v3.2.11}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
printf 'module k8sta.io/argocd-crds\n\ngo 1.25\n' > go.mod

dir=$(GOFLAGS=-mod=mod GOWORK=off go mod download -json "$module@$version" |
  sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -f "$dir/manifests/crds/application-crd.yaml" ]; then
  echo "argocd-crds: cannot find manifests/crds in $module@$version (dir: '${dir:-none}')" >&2
  exit 1
fi
echo "$dir/manifests/crds"
