# Shared helpers for the service scripts (sourced, not run).
# Every script keeps its state under one base folder given by the caller:
# PID files, configs, logs and keys; nothing under $HOME or /etc is written.
set -euo pipefail

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_until() {
  local limit=$1; shift
  local end=$(( $(date +%s%N) + limit * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# free_port: a TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# alive PID: the process exists and is not a zombie waiting for its reaper
# (a daemonised process is reaped by init, which may take its time).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo Z)
  [ "$st" != Z ] && [ "$st" != X ]
}

# stop_pidfile FILE [GRACE]: TERM the process named in FILE, KILL after GRACE s.
stop_pidfile() {
  local file=$1 grace=${2:-5} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  rm -f "$file"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  local end=$(( $(date +%s) + grace ))
  while alive "$pid"; do
    if [ "$(date +%s)" -ge "$end" ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
}

# stop_pidfiles GRACE FILE...: TERM every process named in the FILEs at once,
# then wait for all of them (KILL whatever is left after GRACE s).
stop_pidfiles() {
  local grace=$1; shift
  local pids=() f pid
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true); rm -f "$f"
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  local end=$(( $(date +%s) + grace ))
  for pid in "${pids[@]}"; do
    while alive "$pid"; do
      if [ "$(date +%s)" -ge "$end" ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  done
}
