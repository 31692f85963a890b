#!/usr/bin/env bash
# Install the Debian packages the tests and demo use, when running as root
# and something is missing.  Without root, say what is missing and go on
# (tests then skip locally; under CI=true they fail instead).
set -euo pipefail
need=()
command -v dot >/dev/null || need+=(graphviz)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v slurmctld >/dev/null || need+=(slurm-wlm)
command -v munged >/dev/null || [ -x /usr/sbin/munged ] || need+=(munge)
command -v chromium >/dev/null || need+=(chromium chromium-driver)
command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "not root: cannot install ${need[*]} (tests needing them will skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
