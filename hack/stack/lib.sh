# Shared helpers for hack/stack/*.sh. Sourced, never run.
# shellcheck shell=bash

stack_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { echo ">> stack: $*" >&2; }
die() { echo "!! stack: $*" >&2; exit 1; }

# stack_state_dir DIR: absolute path of the state directory (created).
stack_state_dir() {
  [ $# -ge 1 ] && [ -n "$1" ] || die "usage: $(basename "$0") STATE_DIR"
  mkdir -p "$1"
  (cd "$1" && pwd)
}

# Ports handed out by free_port during this run, so two pieces never get one port.
declare -A _taken_ports=()

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on. Ports come
# from 20000-32767, below Linux's default ephemeral range, so outgoing
# connections cannot take them between the check and the bind.
free_port() {
  local listening p i
  listening=$(ss -Htlnu 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -u)
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12768))
    [ -z "${_taken_ports[$p]:-}" ] || continue
    if ! grep -qx "$p" <<<"$listening"; then
      _taken_ports[$p]=1
      echo "$p"
      return 0
    fi
  done
  die "no free port found in 20000-32767"
}

# Process bookkeeping. Each process runs in its own session and process group
# (setsid), so its pid is its process-group id; STATE/pids/NAME holds
# "PID STARTTIME" (starttime from /proc, to never signal a reused pid), and
# STATE/pids/order the start order (down.sh stops in reverse).
proc_starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }

# pid_alive NAME: true when the recorded process still runs (same pid, same start).
pid_alive() {
  local f=$STATE/pids/$1 pid st
  [ -f "$f" ] || return 1
  read -r pid st <"$f" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(proc_starttime "$pid")" = "$st" ]
}

recorded_pid() { awk '{print $1}' "$STATE/pids/$1"; }

# start NAME CMD...: starts CMD in the background in a new session with its
# output in STATE/logs/NAME.log, and records it.
start() {
  local name=$1; shift
  local log=$STATE/logs/$name.log
  mkdir -p "$STATE/pids" "$STATE/logs"
  say "starting $name (log: $log)"
  # fds 8 and 9 hold our flocks: the children must not inherit them.
  setsid "$@" </dev/null >>"$log" 2>&1 8>&- 9>&- &
  local pid=$!
  # setsid execs (we are not a group leader), so $! is the process itself.
  local st=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    st=$(proc_starttime "$pid"); [ -n "$st" ] && break; sleep 0.05
  done
  echo "$pid $st" >"$STATE/pids/$name"
  grep -qx "$name" "$STATE/pids/order" 2>/dev/null || echo "$name" >>"$STATE/pids/order"
}

# stop NAME...: SIGTERM to each process group at once, then SIGKILL to whatever
# is left after a 10 s grace period; forgets the records.
stop() {
  local name pid pids=() left
  for name in "$@"; do
    [ -f "$STATE/pids/$name" ] || continue
    if pid_alive "$name"; then
      pid=$(recorded_pid "$name")
      say "stopping $name (pid $pid)"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  group_alive() { local p; for p in "$@"; do kill -0 -- "-$p" 2>/dev/null && return 0; done; return 1; }
  for _ in $(seq 1 100); do
    group_alive "${pids[@]}" || break
    sleep 0.1
  done
  left=()
  for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && left+=("$pid"); done
  if [ ${#left[@]} -gt 0 ]; then
    say "process groups ${left[*]} did not stop in 10 s: SIGKILL"
    for pid in "${left[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do group_alive "${left[@]}" || break; sleep 0.1; done
  fi
  for name in "$@"; do
    rm -f "$STATE/pids/$name"
    if [ -f "$STATE/pids/order" ]; then
      grep -vx "$name" "$STATE/pids/order" >"$STATE/pids/order.tmp" || true
      mv "$STATE/pids/order.tmp" "$STATE/pids/order"
    fi
  done
}

# log_tail NAME: the last lines of a piece's log, for error messages.
log_tail() {
  local log=$STATE/logs/$1.log
  [ -f "$log" ] || return 0
  echo "---- last 20 lines of $log ----" >&2
  tail -n 20 "$log" >&2
  echo "----" >&2
}

# wait_for NAME TIMEOUT_SECONDS WHAT CMD...: retries CMD until it succeeds; on
# timeout (or when the process NAME died) fails naming the piece and its log.
wait_for() {
  local name=$1 timeout=$2 what=$3; shift 3
  local deadline=$((SECONDS + timeout))
  say "waiting for $name: $what (up to ${timeout}s)"
  while ! "$@" >/dev/null 2>&1; do
    if [ -f "$STATE/pids/$name" ] && ! pid_alive "$name"; then
      log_tail "$name"
      die "$name exited while waiting for: $what (log: $STATE/logs/$name.log)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      log_tail "$name"
      die "$name not ready after ${timeout}s: $what (log: $STATE/logs/$name.log)"
    fi
    sleep 0.2
  done
}

http_ok() { curl -fsS -m 2 -o /dev/null "$@"; }
