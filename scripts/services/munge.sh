#!/usr/bin/env bash
# munge.sh start|stop BASE
#
# A private munged whose socket is BASE/munge/munge.socket, so a test
# cluster never depends on (or disturbs) a system-wide munged.  It uses the
# key the Debian package created (/etc/munge/munge.key) and runs as the
# `munge` user when we are root.  `start` prints the socket path.
here=$(cd "$(dirname "$0")" && pwd); . "$here/lib.sh"
cmd=${1:-}; base=${2:-}
[ -n "$cmd" ] && [ -n "$base" ] || die "usage: munge.sh start|stop BASE"
dir=$base/munge
case $cmd in
start)
  munged=$(command -v munged || echo /usr/sbin/munged)
  [ -x "$munged" ] || die "munged not found (apt-get install munge)"
  key=${MUNGE_KEY:-/etc/munge/munge.key}
  [ -r "$key" ] || die "no munge key at $key (the munge package creates it; or run mungekey)"
  mkdir -p "$dir"; chmod 755 "$dir"
  chmod go+x "$base"   # the munge user must reach its folder
  run=()
  if [ "$(id -u)" = 0 ] && id munge >/dev/null 2>&1; then
    chown munge:munge "$dir"; run=(runuser -u munge --)
  fi
  "${run[@]}" "$munged" --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
      --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" --key-file="$key" \
      --force </dev/null >"$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; die "munged failed to start"; }
  wait_until 10 sh -c "munge -S '$dir/munge.socket' -n | unmunge -S '$dir/munge.socket'" \
    || die "munged does not answer on $dir/munge.socket (see $dir/munged.log)"
  echo "$dir/munge.socket"
  ;;
stop)
  stop_pidfile "$dir/munged.pid" 5
  ;;
*) die "unknown command $cmd (expected start or stop)";;
esac
