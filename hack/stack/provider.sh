#!/usr/bin/env bash
# Kills, starts or restarts the provider that hack/stack/install-packages.sh
# started in STATE_DIR, with exactly the command and environment it used
# (install-packages.sh records the command in STATE_DIR/packages/provider.argv,
# NUL-separated, KUBECONFIG included; the environment is the caller's plus
# STATE_DIR/env, sourced as install-packages.sh sources it: call this with the
# environment install-packages.sh had). The pid record STATE_DIR/pids/provider
# stays right, so down.sh still stops the provider.
#
#   hack/stack/provider.sh STATE_DIR kill      # SIGKILL to its process group; waits until it is gone
#   hack/stack/provider.sh STATE_DIR start     # starts it unless it runs; waits for its webhook listener
#   hack/stack/provider.sh STATE_DIR restart   # kill, then start
#   hack/stack/provider.sh STATE_DIR pid       # prints its pid (its process group), exit 1 when it does not run
#
# kill is a crash, not a shutdown: no SIGTERM, no grace period.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: $(basename "$0") STATE_DIR kill|start|restart|pid"
[ -f "$1/env" ] && [ -f "$1/packages/env" ] || die "no stack with packages in $1: run hack/stack/up.sh and install-packages.sh first"
STATE=$(cd "$1" && pwd)
action=$2
# shellcheck disable=SC1091
source "$STATE/env"
webhook_port=$(sed -n 's/^export PROVIDER_WEBHOOK_PORT=//p' "$STATE/packages/env")
argv_file=$STATE/packages/provider.argv
timeout=${K8STA_STACK_TIMEOUT:-180}

exec 8>"$STATE/.lock"
flock -w 60 8 || die "another up.sh, down.sh, install-packages.sh or provider.sh holds $STATE/.lock"

# running: the recorded provider runs. A SIGKILLed process stays a zombie
# until its parent (here PID 1, which reaps now and then) reaps it: it is dead
# once its last thread is (a zombie thread-group leader may outlive the others
# only briefly, and they hold its sockets meanwhile).
zombie() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
running() { pid_alive provider && ! zombie "$(recorded_pid provider)"; }
dead() {
  kill -0 -- "-$1" 2>/dev/null || return 0
  zombie "$1" && [ "$(pgrep -g "$1" | wc -l)" -le 1 ] && [ "$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -le 1 ]
}
# listener: the pid listening on the webhook port, if any.
listener() { ss -Htlnp "sport = :$webhook_port" | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -n1; }

kill_provider() {
  if ! running; then
    say "provider does not run"
    return 0
  fi
  local pid
  pid=$(recorded_pid provider)
  say "killing provider (SIGKILL to process group $pid)"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    if dead "$pid" && [ -z "$(listener)" ]; then return 0; fi
    sleep 0.05
  done
  die "process group $pid still exists, or 127.0.0.1:$webhook_port is still bound, 5 s after SIGKILL"
}

start_provider() {
  if running; then
    say "provider already runs (pid $(recorded_pid provider))"
    return 0
  fi
  [ -s "$argv_file" ] || die "no recorded provider command in $argv_file (install-packages.sh writes it)"
  local argv=() pid
  mapfile -d '' -t argv <"$argv_file"
  start provider "${argv[@]}"
  pid=$(recorded_pid provider)
  ours() { [ "$(listener)" = "$pid" ]; }
  wait_for provider "$timeout" "webhook listener on 127.0.0.1:$webhook_port (pid $pid)" ours
  say "provider runs (pid $pid)"
}

case $action in
  kill) kill_provider ;;
  start) start_provider ;;
  restart) kill_provider; start_provider ;;
  pid) running && recorded_pid provider ;;
  *) die "unknown action $action: kill|start|restart|pid" ;;
esac
