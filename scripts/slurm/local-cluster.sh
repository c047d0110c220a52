#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine (Debian's slurm-wlm + munge), for testing the
# sweep scripts without a cluster. Everything (munge key and socket, slurm.conf, spool, state, logs,
# pid files) lives in one state folder; nothing under /etc is touched and no systemd is needed.
#
#   scripts/slurm/local-cluster.sh start    # start munged, slurmctld, slurmd; wait for the node idle
#   scripts/slurm/local-cluster.sh status   # daemons and sinfo
#   scripts/slurm/local-cluster.sh stop     # kill the daemons this script started (by pid file)
#   scripts/slurm/local-cluster.sh env      # print `export SLURM_CONF=...` for eval
#
# Clients (sbatch, squeue, sinfo, scontrol) find the cluster through SLURM_CONF; `start` prints it,
# or run: eval "$(scripts/slurm/local-cluster.sh env)".
#
# Environment: SPACER_SLURM_STATE (state folder, default /tmp/spacer-slurm),
# SPACER_SLURM_PORT (slurmctld port, default 6817; slurmd uses the next one).
# Install once: apt-get update && apt-get install -y --no-install-recommends slurm-wlm munge
#
# Settings that work in a container without systemd or cgroup delegation: proctrack/linuxproc,
# task/none, jobacct_gather/none, select/cons_tres, no accounting database; daemons run as root.
set -euo pipefail

STATE="${SPACER_SLURM_STATE:-/tmp/spacer-slurm}"
PORT="${SPACER_SLURM_PORT:-6817}"
CONF="$STATE/etc/slurm.conf"
SOCK="$STATE/munge/munge.socket"
WAIT_SECONDS="${SPACER_SLURM_WAIT:-60}"

log() { echo "local-cluster: $*" >&2; }

need() {
  local missing=()
  for c in munged slurmctld slurmd sinfo scontrol; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "missing ${missing[*]}: apt-get install -y --no-install-recommends slurm-wlm munge"
    exit 69
  fi
}

# pid_alive FILE: the pid in FILE is a running process
pid_alive() {
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

write_config() {
  local host cpus mem_free mem
  host="$(hostname -s)"
  cpus="$(nproc)"
  # RealMemory below what is free now (MiB), so that slurmd does not drain the node for low memory.
  mem_free="$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)"
  mem=$(( mem_free * 3 / 4 ))
  [ "$mem" -ge 256 ] || mem=256
  mkdir -p "$STATE/etc" "$STATE/spool/$host" "$STATE/ctld" "$STATE/log" "$STATE/run"
  cat >"$CONF" <<EOF
# Written by scripts/slurm/local-cluster.sh; rewritten at every start.
ClusterName=spacer-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s);
# 10 s keeps the requeue test short.
AuthInfo=socket=$SOCK,cred_expire=${SPACER_SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool/%n
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
# Short scheduling passes (defaults 60 s and 30 s): a requeued task or a job whose dependency is met
# starts within seconds on this one idle node.
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=5
SlurmdTimeout=60
InactiveLimit=0
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  # Only read when a cgroup plugin is configured (none is); harmless, and it quiets a warning.
  cat >"$STATE/etc/cgroup.conf" <<EOF
CgroupPlugin=autodetect
IgnoreSystemd=yes
EOF
}

start_munge() {
  if pid_alive "$STATE/run/munged.pid"; then return; fi
  mkdir -p "$STATE/munge"
  chmod 0700 "$STATE/munge"
  if [ ! -s "$STATE/munge/munge.key" ]; then
    dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 0600 "$STATE/munge/munge.key"
  munged --force --socket="$SOCK" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
    --seed-file="$STATE/munge/munged.seed"
  for _ in $(seq 50); do [ -S "$SOCK" ] && return; sleep 0.1; done
  log "munged did not create $SOCK; see $STATE/log/munged.log"
  exit 1
}

start() {
  need
  if [ "$(id -u)" != 0 ]; then
    log "needs root (slurmd starts jobs as their users; the daemons run as root here)"
    exit 77
  fi
  mkdir -p "$STATE"
  if pid_alive "$STATE/run/slurmctld.pid" && pid_alive "$STATE/run/slurmd.pid"; then
    log "already running (state $STATE)"
  else
    # A half-started cluster: stop what is left, then start afresh.
    stop_daemons quiet
    write_config
    start_munge
    SLURM_CONF="$CONF" slurmctld -i
    SLURM_CONF="$CONF" slurmd
  fi
  export SLURM_CONF="$CONF"
  local host t0
  host="$(hostname -s)"
  t0=$SECONDS
  while :; do
    local st
    st="$(sinfo -h -n "$host" -o '%T' 2>/dev/null | head -n1 || true)"
    case "$st" in
      idle|mixed|allocated|completing) break ;;
      drain*|down*|fail*)
        # A node left down by an earlier run of the same state folder.
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    if [ $((SECONDS - t0)) -ge "$WAIT_SECONDS" ]; then
      log "node $host not idle after ${WAIT_SECONDS}s (state '${st:-no answer}'); logs in $STATE/log"
      tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  log "node $host $st after $((SECONDS - t0))s; state folder $STATE"
  echo "export SLURM_CONF=$CONF"
}

# stop_daemons [quiet]: TERM each daemon by its pid file, wait, then KILL what is left.
stop_daemons() {
  local name f pid stopped=()
  for name in slurmd slurmctld munged; do
    f="$STATE/run/$name.pid"
    if pid_alive "$f"; then
      pid="$(cat "$f")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      stopped+=("$name($pid)")
    fi
    rm -f "$f"
  done
  [ "${1:-}" = quiet ] || log "stopped ${stopped[*]:-nothing (no daemon running)}"
}

status() {
  local name f rc=0
  for name in munged slurmctld slurmd; do
    f="$STATE/run/$name.pid"
    if pid_alive "$f"; then echo "$name: running (pid $(cat "$f"))"; else echo "$name: not running"; rc=3; fi
  done
  if [ $rc -eq 0 ]; then
    SLURM_CONF="$CONF" sinfo || rc=3
    SLURM_CONF="$CONF" squeue || true
  fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env  (state folder: \$SPACER_SLURM_STATE, default /tmp/spacer-slurm)" >&2; exit 64 ;;
esac
