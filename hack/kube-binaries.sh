#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and etcd from the Go
# module proxy through the wrapper module in hack/tools/kube, once, into a cache
# directory, and prints that directory. Safe to run twice at once (flock).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
k8s_version=v1.35.4
etcd_version=v3.6.5
cache=${K8STA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8sta}
dir=$cache/kube-$k8s_version-etcd-$etcd_version
mkdir -p "$dir"

exec 9>"$dir/.lock"
flock 9

bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd)
missing=()
for b in "${bins[@]}"; do [ -x "$dir/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo ">> building ${missing[*]} ($k8s_version, etcd $etcd_version) into $dir; about 9 minutes on a cold cache" >&2
  minor=${k8s_version#v1.}; minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  cd "$root/hack/tools/kube"
  for b in "${missing[@]}"; do
    case $b in
      etcd) pkg=go.etcd.io/etcd/server/v3 ;;
      *) pkg=k8s.io/kubernetes/cmd/$b ;;
    esac
    echo ">>   go build $pkg" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/$b.tmp" "$pkg"
    mv "$dir/$b.tmp" "$dir/$b"
  done
fi
echo "$dir"
