#!/usr/bin/env bash
# A one-node Slurm cluster on loopback for tests: munged, slurmctld and slurmd started as plain processes
# (no services, nothing under /etc touched) with every file - key, sockets, config, state, logs - in DIR.
#
#   scripts/slurm-cluster.sh start DIR    starts it; prints the line `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm-cluster.sh stop DIR     stops what `start DIR` started (by the pids it recorded), always
#
# Needs root (slurmd runs the jobs as their submitter) and Debian's slurm-wlm and munge
# (`scripts/setup.sh --test` installs them). The node has this machine's CPUs and is named visage-node.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
ACTION=$1
DIR=$(mkdir -p "$2" && cd "$2" && pwd)
say() { printf 'slurm-cluster: %s\n' "$*" >&2; }

# A free TCP port on loopback (the kernel's choice, released at once: a race with another program is
# possible but harmless here, slurmctld then fails to start and says so).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

stop() {
  # Reverse order: the node daemon, the controller, then munge. Each by the pid file it wrote, TERM then KILL.
  local name pidfile pid
  for name in slurmd slurmctld munged; do
    pidfile="$DIR/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { say "$name ($pid) ignored SIGTERM; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$pidfile"
  done
  # Job steps of a cancelled test may outlive slurmd for a moment: end the ones this cluster started.
  local step
  for step in $(pgrep -f "slurmstepd: \[" 2>/dev/null || true); do
    if tr '\0' '\n' < "/proc/$step/environ" 2>/dev/null | grep -qx "SLURM_CONF=$DIR/slurm.conf"; then kill -KILL "$step" 2>/dev/null || true; fi
  done
  say "stopped (files kept in $DIR)"
}

start() {
  [ "$(id -u)" = 0 ] || { say "error: needs root (slurmd runs jobs as their submitter)"; exit 1; }
  local bin
  for bin in munged slurmctld slurmd sbatch squeue scancel; do
    command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] || { say "error: $bin not found; run scripts/setup.sh --test (Debian: slurm-wlm, munge)"; exit 1; }
  done
  export PATH="$PATH:/usr/sbin"
  mkdir -p "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/log"
  chmod 700 "$DIR/munge"

  # munge: a fresh key for this cluster only.
  dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge.key"
  munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge.key" --pid-file="$DIR/munged.pid" \
         --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
  for _ in $(seq 50); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.1; done
  [ -S "$DIR/munge/munge.socket" ] || { say "error: munged did not start (see $DIR/log/munged.log)"; exit 1; }

  local host cpus ctl_port node_port
  host=$(hostname -s)
  cpus=$(nproc)
  ctl_port=$(free_port)
  node_port=$(free_port)
  cat > "$DIR/slurm.conf" <<EOF
# Written by scripts/slurm-cluster.sh: one node on loopback, everything in $DIR.
ClusterName=visage-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$node_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=10
MinJobAge=600
NodeName=visage-node NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=visage Nodes=visage-node Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$DIR/plugstack.conf"
  export SLURM_CONF="$DIR/slurm.conf"
  slurmctld -i -f "$SLURM_CONF"        # -i: ignore any state from an earlier cluster
  slurmd -N visage-node -f "$SLURM_CONF"
  # Ready when the node is idle (it registers with the controller within a few seconds).
  local state=""
  for _ in $(seq 150); do
    state=$(sinfo -h -n visage-node -o '%T' 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.2
  done
  if [ "$state" != idle ]; then
    say "error: the node did not become idle (state '${state:-none}'); logs in $DIR/log"
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    stop
    exit 1
  fi
  say "one node (visage-node, $cpus CPUs) up on 127.0.0.1:$ctl_port; files in $DIR"
  echo "export SLURM_CONF=$DIR/slurm.conf"
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
