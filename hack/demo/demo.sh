#!/usr/bin/env bash
# `make demo`: K8sTA's main job on an embedded default, no cluster needed.
#
#   1. the local stack (hack/stack/up.sh): kube-apiserver, etcd,
#      kube-controller-manager, kube-scheduler, kwok (a node whose pods run
#      without a kubelet), real Argo CD, real Argo Rollouts, the quality
#      endpoint the analyses query, real Crossplane core, on 127.0.0.1;
#   2. K8sTA's packages (hack/stack/install-packages.sh, from `make xpkg`) and
#      a local OCI registry;
#   3. a smart-HTTP git server (`k8sta-demo serve-git`, git http-backend) serving
#      the config repository hack/demo/config-repo: a kustomize base (a canary
#      Rollout and its AnalysisTemplate), overlays dev, int, us, eu, and the
#      Argo CD Applications in argocd/;
#   4. the Applications and hack/demo/platform/track.yaml: the Track
#      dev -> int (two Applications) -> a junction to the sections us and eu;
#   5. image 1.0.0 reaches every station (the Track's first change);
#   6. 1.1.0 is pushed, the registry's webhook sent to the provider, and it
#      passes each station's canary analysis to the end;
#   7. 1.2.0 fails its analysis at int: the Track halts there, us and eu keep
#      1.1.0;
#   8. 1.2.1 passes, overtakes 1.2.0 and reaches every station;
#   9. `crossplane beta trace`, and the stack is left running.
#
#   hack/demo/demo.sh [STATE_DIR]     # default _output/demo
#   hack/stack/down.sh STATE_DIR      # `make demo-down`
#
# A demo already complete and running in STATE_DIR is reported, not redone; a
# partial one is stopped and started afresh. On failure everything started is
# stopped (K8STA_DEMO_KEEP_ON_FAILURE=1 keeps it for a post-mortem); logs stay
# in STATE_DIR/logs.
#
# Knobs: K8STA_DEMO_TIMEOUT (per promotion, Go duration, default 15m),
# K8STA_STACK_TIMEOUT (per stack readiness wait, default here 300 s),
# K8STA_VERSION, K8STA_PROVIDER_BIN, K8STA_FUNCTION_BIN (see install-packages.sh).
set -euo pipefail
source "$(dirname "$0")/../stack/lib.sh"

say() { echo ">> demo: $*" >&2; }
die() { echo "!! demo: $*" >&2; exit 1; }
step_n=0
step() { step_n=$((step_n + 1)); echo >&2; say "step $step_n/9: $*"; }

STATE=$(stack_state_dir "${1:-$stack_root/_output/demo}")
demo=$STATE/demo
promotion_timeout=${K8STA_DEMO_TIMEOUT:-15m}
export K8STA_STACK_TIMEOUT=${K8STA_STACK_TIMEOUT:-300}
ns=team-a
track=guestbook
started_at=$SECONDS

# The demo's state directory is a hack/stack state directory (up.sh refuses
# any other non-empty one); mark it as such before the lock file lands in it.
if [ -n "$(ls -A "$STATE")" ] && [ ! -f "$STATE/.k8sta-stack" ]; then
  die "$STATE is not empty and was not made by make demo or hack/stack/up.sh: refusing to use it"
fi
touch "$STATE/.k8sta-stack"

# fd 9: lib.sh's start() closes it for the processes it starts, so the lock
# dies with this script.
exec 9>"$STATE/.demo.lock"
flock -n 9 || die "another 'make demo' is running on $STATE"

stack_up() { # true when every process recorded in STATE/pids runs and the apiserver answers
  local n any=0
  [ -f "$STATE/env" ] && [ -f "$STATE/pids/order" ] || return 1
  while read -r n; do
    [ -n "$n" ] || continue
    any=1
    pid_alive "$n" || return 1
  done <"$STATE/pids/order"
  [ $any = 1 ] && (source "$STATE/env" && "$KUBE_BIN_DIR/kubectl" get --raw /readyz >/dev/null 2>&1)
}

explore() {
  echo >&2
  say "the stack keeps running. Explore it:"
  echo "  export KUBECONFIG=$STATE/kubeconfig" >&2
  echo "  $CROSSPLANE_CLI beta trace track $track -n $ns" >&2
  echo "  $KUBE_BIN_DIR/kubectl get tracks,tickets,subscriptions -n $ns" >&2
  echo "  PATH=$stack_root/bin:\$PATH $KUBE_BIN_DIR/kubectl k8sta status $track -n $ns   # the plugin make build wrote to bin/" >&2
  echo "  $KUBE_BIN_DIR/kubectl get applications -n argocd" >&2
  echo "  git clone $REPO_URL   # the config repository and its rendered branches env/*" >&2
  local down="make demo-down"
  [ "$STATE" = "$stack_root/_output/demo" ] || down="make demo-down DEMO_DIR=$STATE"
  say "logs: $STATE/logs; stop it with: $down"
}

# --- already running? ----------------------------------------------------------------
if [ -f "$demo/done" ] && stack_up; then
  source "$STATE/env"; source "$demo/env"
  say "a demo is already running in $STATE (completed $(cat "$demo/done")): not starting another"
  "$CROSSPLANE_CLI" beta trace track "$track" -n "$ns" >&2 || true
  explore
  exit 0
fi
if [ -f "$STATE/.k8sta-stack" ] && [ -d "$STATE/pids" ] && [ -n "$(ls -A "$STATE/pids")" ]; then
  say "an unfinished or partly stopped demo (or a stack) runs in $STATE: stopping it and starting afresh"
  "$stack_root/hack/stack/down.sh" "$STATE"
fi
rm -rf "$demo"

on_exit() {
  local rc=$?
  [ $rc -eq 0 ] && return
  echo >&2
  local what="failed (exit $rc)"
  [ $rc -ne 130 ] || what="interrupted"
  if [ "${K8STA_DEMO_KEEP_ON_FAILURE:-}" = 1 ]; then
    say "$what; K8STA_DEMO_KEEP_ON_FAILURE=1: leaving it running; export KUBECONFIG=$STATE/kubeconfig; logs in $STATE/logs; stop it with: hack/stack/down.sh $STATE"
  else
    say "$what: stopping what it started (K8STA_DEMO_KEEP_ON_FAILURE=1 keeps it); logs stay in $STATE/logs"
    "$stack_root/hack/stack/down.sh" "$STATE" || true
  fi
}
trap on_exit EXIT
# Ctrl-C stops what the demo started too: its processes run in their own
# sessions and would outlive it.
trap 'exit 130' INT TERM

# --- the stack ----------------------------------------------------------------------
step "the local stack: kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok (a node without a kubelet), Argo CD, Argo Rollouts, a quality endpoint, Crossplane core (hack/stack/up.sh)"
say "a cold first run builds the tools once into ${K8STA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8sta} (20-25 minutes on 2 idle cores, longer on busy ones; a line per tool); later runs start in a minute or two"
"$stack_root/hack/stack/up.sh" "$STATE"
source "$STATE/env"

step "K8sTA's packages: provider-k8sta, function-k8sta, configuration-k8sta (hack/stack/install-packages.sh)"
K8STA_REQUIRE_PACKAGES=1 \
  K8STA_PROVIDER_ARGS="${K8STA_PROVIDER_ARGS:---min-subscription-interval=1s --poll=30s}" \
  "$stack_root/hack/stack/install-packages.sh" "$STATE"
source "$STATE/packages/env"
kubectl=$KUBE_BIN_DIR/kubectl
k() { "$kubectl" "$@"; }

# --- the git server and the config repository ----------------------------------------
step "the config repository, served over smart HTTP on 127.0.0.1 (git http-backend)"
mkdir -p "$demo/bin" "$demo/git"
say "building the demo helper (hack/demo) into $demo/bin/k8sta-demo"
(cd "$stack_root" && go build -o "$demo/bin/k8sta-demo" ./hack/demo) || die "cannot build hack/demo"
helper=$demo/bin/k8sta-demo
GIT_PORT=$(free_port)
REPO_URL=http://127.0.0.1:$GIT_PORT/guestbook-config.git
IMAGE=$REGISTRY/acme/guestbook
cat >"$demo/env" <<EOF
# Written by hack/demo/demo.sh; source it after STATE_DIR/env and STATE_DIR/packages/env.
export GIT_PORT=$GIT_PORT
export REPO_URL=$REPO_URL
export IMAGE=$IMAGE
EOF

# The templates name the git server and the registry, whose ports are chosen now.
render() { sed -e "s|\${IMAGE}|$IMAGE|g" -e "s|\${REPO_URL}|$REPO_URL|g" -e "s|\${QUALITY_URL}|$QUALITY_URL|g" "$@"; }
g() {
  GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
    GIT_AUTHOR_NAME="K8sTA demo" GIT_AUTHOR_EMAIL=demo@k8sta.invalid \
    GIT_COMMITTER_NAME="K8sTA demo" GIT_COMMITTER_EMAIL=demo@k8sta.invalid git "$@"
}
bare=$demo/git/guestbook-config.git
work=$demo/config-repo
say "creating guestbook-config (main: base/, overlays/{dev,int,us,eu}, argocd/applications.yaml) from hack/demo/config-repo"
g init --quiet --bare --initial-branch=main "$bare"
# The provider pushes the rendered branches env/<station> over HTTP.
g -C "$bare" config http.receivepack true
rm -rf "$work" && mkdir -p "$work"
(cd "$stack_root/hack/demo/config-repo" && find . -type f) | while read -r f; do
  mkdir -p "$work/$(dirname "$f")"
  render "$stack_root/hack/demo/config-repo/$f" >"$work/$f"
done
g -C "$work" init --quiet --initial-branch=main
g -C "$work" add -A
g -C "$work" commit --quiet -m "guestbook: kustomize base, overlays dev, int, us, eu; Argo CD Applications"
g -C "$work" push --quiet "$bare" main

start gitserver "$helper" serve-git -root "$demo/git" -addr "127.0.0.1:$GIT_PORT"
wait_for gitserver 60 "$REPO_URL/info/refs" http_ok "$REPO_URL/info/refs?service=git-upload-pack"
say "serving $REPO_URL (log: $STATE/logs/gitserver.log)"
g ls-remote "$REPO_URL" >&2

# push_image TAG: push IMAGE:TAG to the registry; prints its digest.
push_image() { "$helper" push -image "$IMAGE" -tag "$1"; }

# --- the Track --------------------------------------------------------------------------
step "the Argo CD Applications and the Track (dev -> int -> regions: us, eu)"
push_image 1.0.0 >/dev/null
mkdir -p "$demo/manifests"
render "$stack_root/hack/demo/platform/track.yaml" >"$demo/manifests/track.yaml"
cp "$work/argocd/applications.yaml" "$demo/manifests/applications.yaml"
say "applying $work/argocd/applications.yaml"
k apply -f "$demo/manifests/applications.yaml" >&2
say "applying hack/demo/platform/track.yaml (as $demo/manifests/track.yaml)"
k apply -f "$demo/manifests/track.yaml" >&2

step "the Track's first change: $IMAGE:1.0.0 to every station"
"$helper" watch -kubeconfig "$KUBECONFIG" -namespace "$ns" -track "$track" -tag 1.0.0 -timeout "$promotion_timeout"

# --- changes through their canaries ---------------------------------------------------------
# promote TAG [WATCH FLAGS]: send the registry's webhook for IMAGE:TAG to the
# provider, and watch the Track.
promote() {
  local tag=$1; shift
  "$helper" notify -kubeconfig "$KUBECONFIG" -namespace "$ns" -providerconfig default -webhook "$PROVIDER_WEBHOOK_URL" \
    -image "$IMAGE" -tag "$tag"
  "$helper" watch -kubeconfig "$KUBECONFIG" -namespace "$ns" -track "$track" -tag "$tag" -timeout "$promotion_timeout" "$@"
}
# quality STATION/TAG ANSWER: what the quality endpoint tells the analyses.
quality() { curl -fsS -X PUT --data "$2" "$QUALITY_URL/answers/$1" || die "cannot set the quality endpoint's answer for $1"; }

step "1.1.0 through each station's canary: one pod of three, the analysis, then all pods"
say "each station's Rollout runs 1.1.0 on one pod, its analysis asks the quality endpoint ($QUALITY_URL) for the station's error rate (it passes), then moves every pod to 1.1.0; Argo CD reports the Application Healthy when the Rollout is"
push_image 1.1.0 >/dev/null
promotion_at=$SECONDS
promote 1.1.0
promotion_s=$((SECONDS - promotion_at))

step "1.2.0, whose analysis fails at int: the Track halts there, us and eu keep 1.1.0"
say "the quality endpoint now reports a 50% error rate for 1.2.0 at int: int's canaries abort, their stable pods keep 1.1.0, Argo CD reports int Degraded, and K8sTA halts the Track at int"
digest=$(push_image 1.2.0)
quality "int/$digest" fail
promote 1.2.0 -halt-at int
"$helper" holds -kubeconfig "$KUBECONFIG" -namespace "$ns" -track "$track" -tag 1.1.0 -stations regions.guestbook-us.us,regions.guestbook-eu.eu

step "1.2.1, which passes: it overtakes 1.2.0 at int and flows to the end"
push_image 1.2.1 >/dev/null
overtake_at=$SECONDS
promote 1.2.1
overtake_s=$((SECONDS - overtake_at))

# --- the trace ----------------------------------------------------------------------------
step "crossplane beta trace track $track -n $ns"
trace=$("$CROSSPLANE_CLI" beta trace track "$track" -n "$ns" 2>&1) || { echo "$trace" >&2; die "crossplane beta trace failed"; }
echo "$trace" >&2
tickets=$(grep -c 'Ticket/' <<<"$trace" || true)
not_ready=$(grep 'Ticket/' <<<"$trace" | grep -Ev '[[:space:]]True[[:space:]]+True([[:space:]]|$)' || true)
[ "$tickets" -eq 4 ] || die "the trace lists $tickets Tickets, want 4"
[ -z "$not_ready" ] || die "the trace shows Tickets that are not Synced and Ready:"$'\n'"$not_ready"

step "kubectl k8sta status $track -n $ns: the Track as a transit map (bin/kubectl-k8sta, one binary to copy onto PATH)"
PATH="$stack_root/bin:$PATH" k k8sta status "$track" -n "$ns" >&2 || die "kubectl k8sta status failed"

date -u +%Y-%m-%dT%H:%M:%SZ >"$demo/done"
echo >&2
say "done in $((SECONDS - started_at))s: from the webhook to Ready at dev, int, us and eu, canaries and analyses included: 1.1.0 in ${promotion_s}s, 1.2.1 (overtaking the failed 1.2.0) in ${overtake_s}s"
explore
