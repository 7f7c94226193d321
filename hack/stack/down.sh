#!/usr/bin/env bash
# Stops everything hack/stack/up.sh and hack/stack/install-packages.sh started in
# STATE_DIR, newest first, by process group (SIGTERM, SIGKILL after 10 s).
# Idempotent: a stopped or missing stack is fine. Leaves logs and state on disk
# (up.sh starts afresh); `down.sh --purge STATE_DIR` removes the directory too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

purge=0
if [ "${1:-}" = --purge ]; then purge=1; shift; fi
[ $# -ge 1 ] && [ -n "$1" ] || die "usage: $(basename "$0") [--purge] STATE_DIR"
if [ ! -d "$1" ]; then
  say "no stack in $1 (no such directory): nothing to stop"
  exit 0
fi
STATE=$(cd "$1" && pwd)
[ -f "$STATE/.k8sta-stack" ] || { say "no stack in $STATE (no .k8sta-stack marker): nothing to stop"; exit 0; }

exec 8>"$STATE/.lock"
flock -w 60 8 || die "another up.sh or down.sh holds $STATE/.lock"

if [ -d "$STATE/pids" ]; then
  # Newest first, per the start order; then anything recorded but not in the order file.
  names=()
  [ -f "$STATE/pids/order" ] && mapfile -t names < <(tac "$STATE/pids/order")
  for f in "$STATE"/pids/*; do
    [ -f "$f" ] || continue
    n=$(basename "$f")
    case $n in order|order.tmp) continue ;; esac
    printf '%s\n' "${names[@]}" | grep -qx "$n" || names+=("$n")
  done
  if [ ${#names[@]} -eq 0 ]; then
    say "no processes recorded in $STATE: nothing to stop"
  fi
  # Everything that talks to the apiserver first, all at once; then the
  # apiserver; then etcd.
  first=()
  for n in "${names[@]}"; do
    case $n in ''|kube-apiserver|etcd) ;; *) first+=("$n") ;; esac
  done
  [ ${#first[@]} -eq 0 ] || stop "${first[@]}"
  stop kube-apiserver
  stop etcd
  rm -f "$STATE/pids/order"
fi
rm -f "$STATE/argocd/askpass.sock" "/tmp/k8sta-askpass-$(echo "$STATE" | sha256sum | cut -c1-12).sock"
if [ -f "$STATE/env" ]; then
  sed -i 's/^export K8STA_STACK_READY=.*/export K8STA_STACK_READY=false/' "$STATE/env"
fi
say "stack in $STATE is down"
if [ $purge = 1 ]; then
  flock -u 8
  say "removing $STATE"
  rm -rf "$STATE"
fi
