#!/usr/bin/env bash
# netns.sh start BASE N  |  netns.sh stop BASE
#
# N network namespaces acting as separate hosts, joined by a bridge on
# this host: the bridge is 10.200.S.1/24 and host i is 10.200.S.(10+i),
# where S is the first subnet no other run uses (0 normally; several test
# runs on one machine each get their own, chosen under a lock).
# Names carry a random tag so they never clash with anything else; the
# list is kept in BASE/netns/hosts ("NAMESPACE ADDRESS" per line), which
# `start` also prints.  `stop` kills every process still inside those
# namespaces (things we started there), deletes them and the bridge.
here=$(cd "$(dirname "$0")" && pwd); . "$here/lib.sh"
cmd=${1:-}; base=${2:-}; n=${3:-3}
[ -n "$cmd" ] && [ -n "$base" ] || die "usage: netns.sh start BASE N | stop BASE"
dir=$base/netns

start() {
  command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
  [ "$(id -u)" = 0 ] || die "network namespaces need root"
  mkdir -p "$dir"
  local tag; tag=$(printf '%04x' $((RANDOM % 65536)))
  local br=shbr$tag sub=""
  echo "$br" >"$dir/bridge"; : >"$dir/hosts"
  exec 9>/tmp/shoal-netns.lock; flock 9        # two runs must not pick the same subnet
  for s in $(seq 0 63); do
    if ! ip -o -4 addr show | grep -q " 10\.200\.$s\.1/"; then sub=$s; break; fi
  done
  [ -n "$sub" ] || die "no free 10.200.S.0/24 subnet for test namespaces (stop other runs)"
  ip link add "$br" type bridge
  ip addr add "10.200.$sub.1/24" dev "$br"
  ip link set "$br" up
  flock -u 9
  for i in $(seq 1 "$n"); do
    local ns=shoal$tag-$i veth=shn$tag$i addr=10.200.$sub.$((10 + i))
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$br" up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    echo "$ns $addr" >>"$dir/hosts"
  done
  cat "$dir/hosts"
}

stop() {
  [ -f "$dir/hosts" ] || return 0
  while read -r ns addr; do
    local pids; pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
  done <"$dir/hosts"
  sleep 0.2
  while read -r ns addr; do
    local pids; pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done <"$dir/hosts"
  ip link del "$(cat "$dir/bridge")" 2>/dev/null || true
  rm -f "$dir/hosts"
}

case $cmd in
start) start;;
stop) stop;;
*) die "unknown command $cmd (expected start or stop)";;
esac
