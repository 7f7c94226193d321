#!/usr/bin/env bash
# `make bench-fleet`: a fleet of Tracks on one config monorepo, measured on the
# local stack (not part of `make test`; its figures go in the README).
#
#   1. the local stack (hack/stack/up.sh) and K8sTA's packages
#      (hack/stack/install-packages.sh, from `make xpkg`), with its registry;
#   2. the demo's smart-HTTP git server (`k8sta-demo serve-git`), recorded in
#      STATE_DIR/pids like any other piece, logging one line per request;
#   3. `bench-fleet` (hack/bench-fleet): the monorepo, N Tracks of three
#      stations (dev -> staging -> prod), their first promotion, then the
#      scenarios A (new image), B (shared base commit), C (one app's
#      overlays), each with a table of figures, and the goals PASS or MISS;
#   4. the stack is stopped (K8STA_BENCH_KEEP=1 leaves it running; stop it
#      with `make bench-fleet-down`).
#
#   hack/bench-fleet/bench-fleet.sh STATE_DIR [bench-fleet flags: -n 100 -webhook subscription -scenarios ABC ...]
#
# Knobs: K8STA_STACK_TIMEOUT (per stack readiness wait, default here 300 s),
# K8STA_PROVIDER_ARGS (default the demo's), K8STA_CROSSPLANE_ARGS (see up.sh),
# K8STA_VERSION, K8STA_PROVIDER_BIN, K8STA_FUNCTION_BIN (see install-packages.sh).
# Figures of each run stay in STATE_DIR/results (the T(N) <= 2 x T(N/2) goal
# reads the run at N/2 from there); logs in STATE_DIR/logs.
set -euo pipefail
source "$(dirname "$0")/../stack/lib.sh"

say() { echo ">> bench-fleet: $*" >&2; }
die() { echo "!! bench-fleet: $*" >&2; exit 1; }

STATE=$(stack_state_dir "${1:-$stack_root/_output/bench-fleet}")
shift || true
export K8STA_STACK_TIMEOUT=${K8STA_STACK_TIMEOUT:-300}
bench=$STATE/bench

if [ -n "$(ls -A "$STATE")" ] && [ ! -f "$STATE/.k8sta-stack" ]; then
  die "$STATE is not empty and was not made by make bench-fleet or hack/stack/up.sh: refusing to use it"
fi
touch "$STATE/.k8sta-stack"
# fd 9: lib.sh's start() closes it for the processes it starts, so the lock
# dies with this script.
exec 9>"$STATE/.bench.lock"
flock -n 9 || die "another 'make bench-fleet' is running on $STATE"

if [ -d "$STATE/pids" ] && [ -n "$(ls -A "$STATE/pids")" ]; then
  say "a stack runs in $STATE: stopping it and starting afresh"
  "$stack_root/hack/stack/down.sh" "$STATE"
fi
rm -rf "$bench"

on_exit() {
  local rc=$?
  echo >&2
  if [ "${K8STA_BENCH_KEEP:-}" = 1 ]; then
    say "exit $rc; K8STA_BENCH_KEEP=1: leaving the stack running; export KUBECONFIG=$STATE/kubeconfig; stop it with: hack/stack/down.sh $STATE"
    return
  fi
  say "exit $rc: stopping the stack; logs stay in $STATE/logs"
  "$stack_root/hack/stack/down.sh" "$STATE" || true
}
trap on_exit EXIT
trap 'exit 130' INT TERM

say "the local stack (hack/stack/up.sh $STATE)"
"$stack_root/hack/stack/up.sh" "$STATE"
source "$STATE/env"

say "K8sTA's packages (hack/stack/install-packages.sh)"
K8STA_REQUIRE_PACKAGES=1 \
  K8STA_PROVIDER_ARGS="${K8STA_PROVIDER_ARGS:---min-subscription-interval=1s --poll=30s}" \
  "$stack_root/hack/stack/install-packages.sh" "$STATE"
source "$STATE/packages/env"

mkdir -p "$bench/bin" "$bench/git"
say "building the demo helper (hack/demo) and bench-fleet (hack/bench-fleet) into $bench/bin"
(cd "$stack_root" && go build -o "$bench/bin/k8sta-demo" ./hack/demo && go build -o "$bench/bin/bench-fleet" ./hack/bench-fleet) ||
  die "cannot build hack/demo or hack/bench-fleet"

GIT_PORT=$(free_port)
start gitserver "$bench/bin/k8sta-demo" serve-git -root "$bench/git" -addr "127.0.0.1:$GIT_PORT"
wait_for gitserver 60 "http://127.0.0.1:$GIT_PORT/" \
  bash -c "curl -sS -m 2 -o /dev/null http://127.0.0.1:$GIT_PORT/"

"$bench/bin/bench-fleet" -state "$STATE" -demo-helper "$bench/bin/k8sta-demo" \
  -git-root "$bench/git" -git-url "http://127.0.0.1:$GIT_PORT" "$@"
