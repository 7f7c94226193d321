#!/usr/bin/env bash
# Smoke check of the stack in STATE_DIR (hack/stack/up.sh): a real Argo CD
# Application syncing plain YAML from a local git repository (served by
# git-daemon on 127.0.0.1) reaches Synced/Healthy/Succeeded at the requested
# commit after an operation patch, the way K8sTA's Tickets trigger it; then
# again for a second commit. Cleans up after itself (Application, namespace,
# git-daemon); exit 0 only when both syncs succeed.
#
#   hack/stack/smoke.sh STATE_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ -n "$1" ] || die "usage: $(basename "$0") STATE_DIR"
[ -f "$1/env" ] || die "no stack in $1: run hack/stack/up.sh $1 first"
STATE=$(cd "$1" && pwd)
# shellcheck disable=SC1091
source "$STATE/env"
[ "${K8STA_STACK_READY:-}" = true ] || die "the stack in $STATE is not up: run hack/stack/up.sh $STATE"
timeout=${K8STA_STACK_TIMEOUT:-120}
k() { "$KUBE_BIN_DIR/kubectl" "$@"; }

id=$(date +%s)-$RANDOM
app=k8sta-smoke-$id
ns=k8sta-smoke-$id
work=$STATE/smoke/$id
mkdir -p "$work/repos"

cleanup() {
  local rc=$?
  say "smoke: cleaning up (Application $app, namespace $ns, git-daemon)"
  k -n argocd delete application "$app" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  k delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  stop smoke-git-daemon || true
  [ $rc -eq 0 ] && rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- a config repository with a rendered branch holding plain YAML -----------------------------
say "smoke: creating a git repository with plain YAML on branch env/smoke ($work/repos/smoke.git)"
git init -q --bare -b main "$work/repos/smoke.git"
git init -q -b env/smoke "$work/checkout"
gitc() { git -C "$work/checkout" -c user.name=smoke -c user.email=smoke@k8sta.io "$@"; }
write_manifests() { # MESSAGE
  cat >"$work/checkout/manifests.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: smoke
  namespace: $ns
data:
  message: "$1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
  namespace: $ns
spec:
  replicas: 0
  selector: {matchLabels: {app: smoke}}
  template:
    metadata: {labels: {app: smoke}}
    spec:
      containers: [{name: smoke, image: "registry.invalid/smoke:$1"}]
EOF
  gitc add -A && gitc commit -q -m "smoke: $1"
  gitc push -q "$work/repos/smoke.git" env/smoke
  gitc rev-parse HEAD
}
sha1=$(write_manifests one)

# --- git-daemon on 127.0.0.1 ---------------------------------------------------------------------
git_port=$(free_port)
# git-daemon itself, not `git daemon` (which forks, so the recorded pid would be wrong).
start smoke-git-daemon /usr/lib/git-core/git-daemon --export-all --reuseaddr \
  --base-path="$work/repos" --listen=127.0.0.1 --port="$git_port" "$work/repos"
repo_url=git://127.0.0.1:$git_port/smoke.git
wait_for smoke-git-daemon 30 "git ls-remote $repo_url" git ls-remote "$repo_url"

# --- the Application ------------------------------------------------------------------------------
say "smoke: creating Application argocd/$app ($repo_url env/smoke -> https://kubernetes.default.svc, namespace $ns)"
k apply -f - >/dev/null <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $app
  namespace: argocd
spec:
  project: default
  source: {repoURL: "$repo_url", targetRevision: env/smoke, path: .}
  destination: {server: https://kubernetes.default.svc, namespace: $ns}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
EOF

# sync SHA: the operation patch K8sTA's Ticket sends, then wait for
# Synced + Healthy + Succeeded at SHA. Prints the seconds it took.
sync() {
  local sha=$1 t0 t1 st
  t0=$(date +%s.%N)
  k -n argocd patch application "$app" --type=merge -p "{
    \"metadata\": {\"annotations\": {\"argocd.argoproj.io/refresh\": \"hard\"}},
    \"operation\": {
      \"initiatedBy\": {\"username\": \"k8sta-smoke\", \"automated\": true},
      \"info\": [{\"name\": \"k8sta.io/ticket\", \"value\": \"smoke/$sha\"}],
      \"sync\": {\"revision\": \"$sha\", \"syncOptions\": [\"CreateNamespace=true\"]}
    },
    \"status\": {\"operationState\": null}
  }" >/dev/null
  local deadline=$((SECONDS + timeout))
  while :; do
    st=$(k -n argocd get application "$app" -o json | jq -r '[.status.sync.status, .status.health.status,
      .status.operationState.phase, .status.operationState.syncResult.revision, .status.sync.revision] | map(. // "-") | join(" ")')
    if [ "$st" = "Synced Healthy Succeeded $sha $sha" ]; then break; fi
    if [ $SECONDS -ge $deadline ]; then
      k -n argocd get application "$app" -o yaml >&2 || true
      log_tail argocd-application-controller
      die "smoke: Application $app not Synced/Healthy/Succeeded at $sha after ${timeout}s (last: $st)"
    fi
    sleep 0.1
  done
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}'
}

d1=$(sync "$sha1")
[ "$(k -n "$ns" get configmap smoke -o jsonpath='{.data.message}')" = one ] || die "smoke: ConfigMap $ns/smoke does not hold 'one'"
say "smoke: commit 1 ($sha1) Synced/Healthy/Succeeded ${d1}s after the operation patch"

sha2=$(write_manifests two)
d2=$(sync "$sha2")
[ "$(k -n "$ns" get configmap smoke -o jsonpath='{.data.message}')" = two ] || die "smoke: ConfigMap $ns/smoke does not hold 'two'"
say "smoke: commit 2 ($sha2) Synced/Healthy/Succeeded ${d2}s after the operation patch"
say "smoke: OK"
echo "SMOKE_SYNC1_SECONDS=$d1 SMOKE_SYNC2_SECONDS=$d2"
