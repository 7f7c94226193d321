#!/usr/bin/env bash
# Builds (once, cached, flock-guarded) everything the local end-to-end stack runs
# besides K8sTA itself, and prints shell assignments naming them:
#
#   KUBE_BIN_DIR        kube-apiserver, kube-controller-manager, kubectl, etcd (hack/kube-binaries.sh)
#   ARGOCD_BIN          the Argo CD v3.2.11 multi-call binary (hack/tools/argocd)
#   ARGOCD_MODULE_DIR   the argo-cd module in the module cache (manifests/crds, manifests/base)
#   CROSSPLANE_CORE_BIN Crossplane core v2.4.0 (hack/tools/crossplane-core)
#   CROSSPLANE_MODULE_DIR the crossplane module in the module cache (cluster/crds)
#   CROSSPLANE_CLI      the crossplane CLI v2.2.1 (hack/crossplane-cli.sh; xpkg install, trace)
#   CRANE_BIN           crane v0.21.9 (local OCI registry, pushes)
#   KWOK_BIN            kwok v0.8.0 (the fake node: pods Running and Ready without a kubelet)
#   KWOK_STAGES         the kwok module's own node and pod stages, in one --config file
#   ROLLOUTS_BIN        the Argo Rollouts v1.10.1 controller (hack/tools/argo-rollouts)
#   ROLLOUTS_MODULE_DIR the argo-rollouts module in the module cache (manifests/crds)
#   REDIS_SERVER        redis-server (Debian apt; installed when missing)
#
#   eval "$(hack/stack/tools.sh)"
#
# Progress goes to stderr; only the assignments go to stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${K8STA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8sta}
mkdir -p "$cache"

argocd_version=v3.2.11
crossplane_version=v2.4.0
crane_version=v0.21.9
kwok_version=v0.8.0
rollouts_version=v1.10.1

say() { echo ">> tools: $*" >&2; }

# Builds run with GOWORK off and never touch the main module's go.mod.
export GOWORK=off
export CGO_ENABLED=0

# --- kube-apiserver, kube-controller-manager, kubectl, etcd -----------------------
say "kube binaries (hack/kube-binaries.sh)"
kube_dir=$("$root/hack/kube-binaries.sh")

# --- argocd ----------------------------------------------------------------------
argocd_dir=$cache/argocd-$argocd_version
mkdir -p "$argocd_dir"
(
  exec 9>"$argocd_dir/.lock"
  flock 9
  ldflags="-s -w -X github.com/argoproj/argo-cd/v3/common.version=${argocd_version#v} -X github.com/argoproj/argo-cd/v3/common.gitTag=$argocd_version"
  if [ ! -x "$argocd_dir/argocd" ] || [ "$(cat "$argocd_dir/.ldflags" 2>/dev/null)" != "$ldflags" ]; then
    say "building argocd $argocd_version (once: about 4 minutes on 2 idle cores, 30 on busy ones; 2.6 GB of RAM) into $argocd_dir"
    cd "$root/hack/tools/argocd"
    go build -trimpath -ldflags "$ldflags" -o "$argocd_dir/argocd.tmp" github.com/argoproj/argo-cd/v3/cmd
    mv "$argocd_dir/argocd.tmp" "$argocd_dir/argocd"
    echo "$ldflags" >"$argocd_dir/.ldflags"
  fi
  # The binary picks its role from argv[0].
  for role in argocd-application-controller argocd-repo-server; do
    [ -L "$argocd_dir/$role" ] || ln -sfn argocd "$argocd_dir/$role"
  done
)
argocd_module=$(cd "$root/hack/tools/argocd" && go list -m -f "{{.Dir}}" github.com/argoproj/argo-cd/v3 2>/dev/null || true)
if [ -z "$argocd_module" ] || [ ! -d "$argocd_module/manifests/crds" ]; then
  (cd "$root/hack/tools/argocd" && go mod download github.com/argoproj/argo-cd/v3)
  argocd_module=$(cd "$root/hack/tools/argocd" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
fi

# --- crossplane core ---------------------------------------------------------------
xp_dir=$cache/crossplane-core-$crossplane_version
mkdir -p "$xp_dir"
(
  exec 9>"$xp_dir/.lock"
  flock 9
  # The version matters: Crossplane checks packages' spec.crossplane.version
  # constraints against it ("invalid semantic version" when empty).
  ldflags="-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$crossplane_version"
  if [ ! -x "$xp_dir/crossplane" ] || [ "$(cat "$xp_dir/.ldflags" 2>/dev/null)" != "$ldflags" ]; then
    say "building crossplane core $crossplane_version (once: about 3 minutes on 2 idle cores) into $xp_dir"
    cd "$root/hack/tools/crossplane-core"
    go build -trimpath -ldflags "$ldflags" -o "$xp_dir/crossplane.tmp" github.com/crossplane/crossplane/v2/cmd/crossplane
    mv "$xp_dir/crossplane.tmp" "$xp_dir/crossplane"
    echo "$ldflags" >"$xp_dir/.ldflags"
  fi
)
xp_module=$(cd "$root/hack/tools/crossplane-core" && go list -m -f "{{.Dir}}" github.com/crossplane/crossplane/v2 2>/dev/null || true)
if [ -z "$xp_module" ] || [ ! -d "$xp_module/cluster/crds" ]; then
  (cd "$root/hack/tools/crossplane-core" && go mod download github.com/crossplane/crossplane/v2)
  xp_module=$(cd "$root/hack/tools/crossplane-core" && go list -m -f '{{.Dir}}' github.com/crossplane/crossplane/v2)
fi

# --- crossplane CLI (xpkg install, beta trace) --------------------------------------
say "crossplane CLI (hack/crossplane-cli.sh)"
xp_cli=$("$root/hack/crossplane-cli.sh")

# --- crane ---------------------------------------------------------------------------
crane_dir=$cache/crane-$crane_version
mkdir -p "$crane_dir"
(
  exec 9>"$crane_dir/.lock"
  flock 9
  if [ ! -x "$crane_dir/crane" ]; then
    say "building crane $crane_version (about 1 minute, once) into $crane_dir"
    # go-containerregistry has no replace directives, so `go install X@v` works and
    # leaves every go.mod alone.
    GOBIN="$crane_dir" go install -trimpath -ldflags "-s -w" \
      "github.com/google/go-containerregistry/cmd/crane@$crane_version"
  fi
)

# --- kwok and its stages ---------------------------------------------------------------
kwok_dir=$cache/kwok-$kwok_version
mkdir -p "$kwok_dir"
(
  exec 9>"$kwok_dir/.lock"
  flock 9
  cd "$root/hack/tools/kwok"
  if [ ! -x "$kwok_dir/kwok" ]; then
    say "building kwok $kwok_version (once: about 1.5 minutes on 2 cores, measured cold) into $kwok_dir"
    go build -trimpath -ldflags "-s -w" -o "$kwok_dir/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok
    mv "$kwok_dir/kwok.tmp" "$kwok_dir/kwok"
  fi
  if [ ! -s "$kwok_dir/stages.yaml" ]; then
    # The bare binary has no stages: the module's own, for a node that
    # initializes and keeps its lease, and pods that start, become Ready,
    # complete and go.
    module=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok 2>/dev/null || true)
    [ -n "$module" ] && [ -d "$module/kustomize/stage" ] || { go mod download sigs.k8s.io/kwok; module=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok); }
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf -- '---\n'
      cat "$module/kustomize/stage/$f"
    done >"$kwok_dir/stages.yaml.tmp"
    mv "$kwok_dir/stages.yaml.tmp" "$kwok_dir/stages.yaml"
  fi
)

# --- Argo Rollouts -----------------------------------------------------------------------
rollouts_dir=$cache/argo-rollouts-$rollouts_version
mkdir -p "$rollouts_dir"
(
  exec 9>"$rollouts_dir/.lock"
  flock 9
  v=${rollouts_version#v}
  ldflags="-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=$v -X github.com/argoproj/argo-rollouts/utils/version.gitTag=$rollouts_version"
  if [ ! -x "$rollouts_dir/rollouts-controller" ] || [ "$(cat "$rollouts_dir/.ldflags" 2>/dev/null)" != "$ldflags" ]; then
    say "building the Argo Rollouts controller $rollouts_version (once: about 2 minutes on 2 cores measured cold, 1.5 GB of RAM) into $rollouts_dir"
    cd "$root/hack/tools/argo-rollouts"
    go build -trimpath -ldflags "$ldflags" -o "$rollouts_dir/rollouts-controller.tmp" github.com/argoproj/argo-rollouts/cmd/rollouts-controller
    mv "$rollouts_dir/rollouts-controller.tmp" "$rollouts_dir/rollouts-controller"
    echo "$ldflags" >"$rollouts_dir/.ldflags"
  fi
)
rollouts_module=$(cd "$root/hack/tools/argo-rollouts" && go list -m -f "{{.Dir}}" github.com/argoproj/argo-rollouts 2>/dev/null || true)
if [ -z "$rollouts_module" ] || [ ! -d "$rollouts_module/manifests/crds" ]; then
  (cd "$root/hack/tools/argo-rollouts" && go mod download github.com/argoproj/argo-rollouts)
  rollouts_module=$(cd "$root/hack/tools/argo-rollouts" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-rollouts)
fi

# --- redis-server and openssl (Debian packages) ------------------------------------------
redis=$(command -v redis-server || true)
if [ -z "$redis" ] || ! command -v openssl >/dev/null; then
  (
    exec 9>"$cache/.apt.lock"
    flock 9
    if ! command -v redis-server >/dev/null || ! command -v openssl >/dev/null; then
      sudo=""
      [ "$(id -u)" -eq 0 ] || sudo=sudo
      say "installing redis-server and openssl with apt-get (once)"
      $sudo apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server openssl >&2
      # Debian starts a system-wide redis on 6379 from the package's service; the
      # stack runs its own on a free port and never needs that one.
    fi
  )
  redis=$(command -v redis-server)
fi

cat <<EOF
KUBE_BIN_DIR=$kube_dir
ARGOCD_BIN=$argocd_dir/argocd
ARGOCD_MODULE_DIR=$argocd_module
CROSSPLANE_CORE_BIN=$xp_dir/crossplane
CROSSPLANE_MODULE_DIR=$xp_module
CROSSPLANE_CLI=$xp_cli
CRANE_BIN=$crane_dir/crane
KWOK_BIN=$kwok_dir/kwok
KWOK_STAGES=$kwok_dir/stages.yaml
ROLLOUTS_BIN=$rollouts_dir/rollouts-controller
ROLLOUTS_MODULE_DIR=$rollouts_module
REDIS_SERVER=$redis
EOF
