#!/usr/bin/env bash
# sshd.sh start BASE NAME [ADDR] [PORT] [NETNS]  |  sshd.sh stop BASE [NAME]
#
# An sshd with key login, listening on ADDR:PORT (default 127.0.0.1 and a
# free port), optionally inside network namespace NETNS (see netns.sh).
# Several can share one BASE: they share one client key and one client
# config, BASE/ssh/ssh_config, which names the key (-i), a private
# known_hosts (UserKnownHostsFile) and each server's port.  Nothing under
# ~/.ssh is read or written: use `ssh -F BASE/ssh/ssh_config ADDR CMD`.
#
# `start` prints `SSH_CONFIG=...` and `SSH_HOST=ADDR SSH_PORT=PORT`.
# `stop` stops the named sshd (or every one under BASE) and its sessions.
here=$(cd "$(dirname "$0")" && pwd); . "$here/lib.sh"
cmd=${1:-}; base=${2:-}
[ -n "$cmd" ] && [ -n "$base" ] || die "usage: sshd.sh start BASE NAME [ADDR] [PORT] [NETNS] | stop BASE [NAME]"
cdir=$base/ssh
user=$(id -un)

write_client_config() {
  # Host blocks first: ssh takes the first value it finds for each option.
  local a p
  {
    while read -r a p; do
      printf 'Host %s\n  Port %s\n' "$a" "$p"
      if [ "$a" = 127.0.0.1 ]; then printf 'Host localhost\n  HostName 127.0.0.1\n  Port %s\n' "$p"; fi
    done <"$cdir/servers"
    cat <<CFG
Host *
  User $user
  IdentityFile $cdir/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $cdir/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
CFG
  } >"$cdir/ssh_config.tmp"
  mv "$cdir/ssh_config.tmp" "$cdir/ssh_config"
}

start() {
  local name=${1:?NAME}; local addr=${2:-127.0.0.1}; local port=${3:-}; local ns=${4:-}
  local sshd=/usr/sbin/sshd
  [ -x "$sshd" ] || die "sshd not found (apt-get install openssh-server)"
  [ -n "$port" ] || { if [ -n "$ns" ]; then port=22; else port=$(free_port); fi; }
  local d=$base/sshd-$name
  mkdir -p "$cdir" "$d"; chmod 700 "$cdir"
  install -d -m 755 /run/sshd 2>/dev/null || true   # privilege separation dir
  [ -f "$cdir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C shoal-test -f "$cdir/id_ed25519"
  cp "$cdir/id_ed25519.pub" "$cdir/authorized_keys"
  ssh-keygen -q -t ed25519 -N '' -C "shoal-test-$name" -f "$d/host_key"
  cat >"$d/sshd_config" <<CFG
Port $port
ListenAddress $addr
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $cdir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
AcceptEnv SHOAL_*
CFG
  local run=()
  [ -n "$ns" ] && run=(ip netns exec "$ns")
  "${run[@]}" "$sshd" -f "$d/sshd_config" -E "$d/sshd.log" 2>>"$d/sshd.log" || die "sshd failed (see $d/sshd.log)"
  echo "$ns" >"$d/netns"
  # Known hosts from our own host key: no scan over the network needed.
  local key; key=$(cut -d' ' -f1,2 "$d/host_key.pub")
  local hn=$addr; [ "$port" = 22 ] || hn="[$addr]:$port"
  echo "$hn $key" >>"$cdir/known_hosts"
  if [ "$addr" = 127.0.0.1 ]; then
    local lh=localhost; [ "$port" = 22 ] || lh="[localhost]:$port"
    echo "$lh $key" >>"$cdir/known_hosts"
  fi
  echo "$addr $port" >>"$cdir/servers"
  write_client_config
  wait_until 15 ssh -n -F "$cdir/ssh_config" "$addr" true \
    || { tail -n 20 "$d/sshd.log" >&2; die "cannot log in to $addr:$port with the test key"; }
  echo "SSH_CONFIG=$cdir/ssh_config"
  echo "SSH_HOST=$addr SSH_PORT=$port"
}

stop_one() {
  local d=$1 pid
  [ -f "$d/sshd.pid" ] || return 0
  pid=$(cat "$d/sshd.pid")
  # Sessions are children of the listening sshd; stop them with it.
  pkill -TERM -P "$pid" 2>/dev/null || true
  stop_pidfile "$d/sshd.pid" 5
}

case $cmd in
start) shift 2; start "$@";;
stop)
  if [ -n "${3:-}" ]; then stop_one "$base/sshd-$3"
  else for d in "$base"/sshd-*; do [ -d "$d" ] && stop_one "$d"; done; fi
  ;;
*) die "unknown command $cmd (expected start or stop)";;
esac
