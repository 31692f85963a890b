#!/usr/bin/env bash
# slurm.sh start|stop BASE [NODES]
#
# A private SLURM cluster on this host: its own munged (munge.sh), one
# slurmctld and NODES slurmd daemons (default 1), all configured, logged
# and PID-filed under BASE/slurm.  Ports are picked free at start, so the
# cluster never collides with a system SLURM.  With NODES=1 the node is
# named after `hostname`; with more, node1..nodeN all on 127.0.0.1, each
# slurmd on its own port.  Each node declares CPUS_PER_NODE CPUs (default
# 4: enough for two small jobs side by side; config_overrides lets slurmd
# accept more CPUs than the machine has).
#
# `start` prints `SLURM_CONF=BASE/slurm/slurm.conf`: export it before
# calling sbatch/squeue/scancel.  `stop` cancels every job, waits for the
# queue to drain, then stops slurmd(s), slurmctld and munged by PID.
here=$(cd "$(dirname "$0")" && pwd); . "$here/lib.sh"
cmd=${1:-}; base=${2:-}; nodes=${3:-1}
[ -n "$cmd" ] && [ -n "$base" ] || die "usage: slurm.sh start|stop BASE [NODES]"
dir=$base/slurm
conf=$dir/slurm.conf
cpus=${CPUS_PER_NODE:-4}

start() {
  command -v slurmctld >/dev/null || [ -x /usr/sbin/slurmctld ] || die "slurmctld not found (apt-get install slurm-wlm)"
  mkdir -p "$dir/state" "$dir/log"
  local sock host ctlport nodeport
  sock=$("$here/munge.sh" start "$base")
  host=$(hostname)
  ctlport=$(free_port); nodeport=$(free_port)
  cat >"$conf" <<CONF
ClusterName=shoaltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctlport
SlurmdPort=$nodeport
SlurmUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
SlurmdTimeout=30
KillWait=5
MinJobAge=300
SchedulerParameters=batch_sched_delay=0
CONF
  if [ "$nodes" = 1 ]; then
    mkdir -p "$dir/spool-$host"
    echo "NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=4000 State=UNKNOWN" >>"$conf"
    echo "$host" >"$dir/nodes"
  else
    : >"$dir/nodes"
    for i in $(seq 1 "$nodes"); do
      mkdir -p "$dir/spool-node$i"
      echo "NodeName=node$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$(free_port) CPUs=$cpus RealMemory=4000 State=UNKNOWN" >>"$conf"
      echo "node$i" >>"$dir/nodes"
    done
  fi
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$conf"
  export SLURM_CONF=$conf
  # -D keeps each daemon in the foreground of its own session, so its PID
  # is the one we record; -i: no state file yet on a first start.
  setsid slurmctld -D -i -f "$conf" >"$dir/log/slurmctld.out" 2>&1 </dev/null &
  echo $! >"$dir/ctld.pid"
  while read -r n; do
    if [ "$nodes" = 1 ]; then extra=(); else extra=(-N "$n"); fi
    setsid slurmd -D -f "$conf" "${extra[@]}" >"$dir/log/slurmd-$n.out" 2>&1 </dev/null &
    echo $! >"$dir/d-$n.pid"
  done <"$dir/nodes"
  idle() { [ "$(sinfo -h -o %T | sort -u)" = idle ] && [ "$(sinfo -h -N -o %N | wc -l)" = "$nodes" ]; }
  wait_until 30 idle || { tail -n 20 "$dir"/log/*.log >&2; die "SLURM nodes did not become idle (logs in $dir/log)"; }
  echo "SLURM_CONF=$conf"
}

stop() {
  [ -f "$conf" ] || { "$here/munge.sh" stop "$base"; return 0; }
  export SLURM_CONF=$conf
  if [ -f "$dir/ctld.pid" ] && kill -0 "$(cat "$dir/ctld.pid")" 2>/dev/null; then
    scancel --full --quiet -u "$(id -un)" 2>/dev/null || true
    # scancel signals the batch step's processes; wait until the queue is empty.
    wait_until 20 sh -c '[ -z "$(squeue -h -o %i)" ]' || echo "slurm.sh: jobs still queued at stop" >&2
  fi
  stop_pidfiles 15 "$dir"/d-*.pid "$dir/ctld.pid"
  "$here/munge.sh" stop "$base"
}

case $cmd in
start) start;;
stop) stop;;
*) die "unknown command $cmd (expected start or stop)";;
esac
