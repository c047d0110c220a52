#!/usr/bin/env bash
# End-to-end check of the Slurm sweep scripts on a real single-node Slurm (local-cluster.sh):
#   1. a small sweep as an array of 3 shards + dependent merge == the same sweep in one process (cmp)
#   2. a resubmitted subset (--array 2 of N=3, after deleting shard 2) runs shard 2/3; merge == again
#   3. a task id outside 1..N refuses to run (exit 64), and submit-sweep.sh refuses such an --array
#   4. requeue: USR1 to a running task (as Slurm sends before the time limit) requeues it; the
#      second start resumes from the rows the first one wrote; merge == again
#   5. USR1 to a start that finished no row does not requeue (a run longer than the limit would loop)
# Installs nothing. Without sbatch: SKIPPED (exit 0), unless CI=true (then it fails).
# Environment: SPACER_SIM (default .build/debug/spacer-sim), CI_SLURM_WAIT (seconds per job wait,
# default 300), SPACER_SLURM_PORT (default 6837 here), KEEP=1 keeps the work folder.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"   # jobs and the reference run share this working directory (rows carry its git commit)
t_start=$SECONDS

if ! command -v sbatch >/dev/null 2>&1 || ! command -v slurmctld >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: slurm-wlm not installed (CI=true: apt-get install -y --no-install-recommends slurm-wlm munge)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "SKIPPED: slurm-wlm not installed"
  exit 0
fi

SIM="${SPACER_SIM:-$repo/.build/debug/spacer-sim}"
case "$SIM" in /*) ;; */*) SIM="$repo/$SIM" ;; *) SIM="$(command -v "$SIM" || echo "$SIM")" ;; esac
if [ ! -x "$SIM" ]; then
  echo "FAIL: no spacer-sim binary at $SIM (swift build, or set SPACER_SIM)"
  echo "0 passed, 1 failed"
  exit 1
fi
export SPACER_SIM="$SIM"
WAIT="${CI_SLURM_WAIT:-300}"
WORK="$(mktemp -d /tmp/spacer-slurm-ci.XXXXXX)"
export SPACER_SLURM_STATE="$WORK/cluster"
export SPACER_SLURM_PORT="${SPACER_SLURM_PORT:-6837}"
GRID=(--presets small --versions 2..4 --seeds 1..2 --strategies default,spacer-delta --no-timings)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
elapsed() { echo "$((SECONDS - t_start))s"; }

cleanup() {
  "$here/local-cluster.sh" stop || true
  if [ "$failed" -gt 0 ] || [ "${KEEP:-}" = 1 ]; then
    echo "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# states ID: "<job id> <state>" per job (array: one line per task) while Slurm remembers the job
states() {
  scontrol show job -o "$1" 2>/dev/null | sed -n 's/^JobId=\([0-9]*\) .*JobState=\([A-Z_]*\).*/\1 \2/p'
}
# field ID NAME: the first NAME=value of job ID
field() { scontrol show job -o "$1" 2>/dev/null | grep -o "$2=[^ ]*" | head -n1 | cut -d= -f2-; }
terminal() {
  case "$1" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) return 0 ;; esac
  return 1
}
# wait_jobs ID...: until every job (and array task) of the IDs has ended; progress every 10 s
wait_jobs() {
  local t0=$SECONDS last=-10 s all
  while :; do
    all="$(for j in "$@"; do states "$j"; done)"
    local busy=0
    while read -r _ s; do [ -z "$s" ] || terminal "$s" || busy=1; done <<<"$all"
    [ -n "$all" ] && [ $busy = 0 ] && return 0
    if [ $((SECONDS - t0)) -ge "$WAIT" ]; then
      echo "  gave up after ${WAIT}s waiting for jobs $*: $(echo "$all" | awk '{print $2}' | sort | uniq -c | xargs)"
      return 1
    fi
    if [ $((SECONDS - last)) -ge 10 ]; then
      last=$SECONDS
      echo "  waiting for jobs $* ($((SECONDS - t0))s): $(echo "$all" | awk '{print $2}' | sort | uniq -c | xargs)"
    fi
    sleep 1
  done
}
all_completed() {
  local all
  all="$(for j in "$@"; do states "$j"; done)"
  [ -n "$all" ] && ! echo "$all" | awk '{print $2}' | grep -qv '^COMPLETED$'
}
show_logs() { for f in "$@"; do echo "---- $f"; tail -n 30 "$f"; done; }

echo "== local cluster (state $SPACER_SLURM_STATE, port $SPACER_SLURM_PORT)"
t0=$SECONDS
if envline="$("$here/local-cluster.sh" start)" && eval "$envline" && [ -n "${SLURM_CONF:-}" ]; then
  pass "local cluster up, node idle ($((SECONDS - t0))s)"
else
  fail "local cluster did not start"
  echo "$passed passed, $failed failed"
  exit 1
fi

echo "== one-process reference: spacer-sim sweep ${GRID[*]}"
mkdir -p "$WORK/one"
t0=$SECONDS
if "$SIM" sweep "${GRID[@]}" --out "$WORK/one/sweep.csv" 2>"$WORK/one/sweep.log"; then
  pass "one-process sweep ($(($(wc -l <"$WORK/one/sweep.csv") - 1)) rows, $((SECONDS - t0))s)"
else
  fail "one-process sweep"; cat "$WORK/one/sweep.log"
fi

# ---------------------------------------------------------------------------------------------
echo "== 1. array of 3 shards + merge ($(elapsed))"
A="$WORK/array"
t0=$SECONDS
read -r aid mid < <("$here/submit-sweep.sh" --parsable 3 "$A" -- "${GRID[@]}") || true
echo "  array job ${aid:-?}, merge job ${mid:-?}"
if [ -n "${mid:-}" ] && wait_jobs "$aid" "$mid" && all_completed "$aid" "$mid"; then
  pass "array ($(states "$aid" | wc -l) tasks) and merge completed ($((SECONDS - t0))s)"
else
  fail "array or merge did not complete"; show_logs "$A"/logs/*
fi
ok=1
for i in 1 2 3; do [ -s "$A/shard-$i.csv" ] && [ -s "$A/shard-$i.csv.json" ] || ok=0; done
[ $ok = 1 ] && pass "shard-1..3.csv and their .json sidecars written" || fail "shard files or sidecars missing: $(ls "$A")"
if cmp "$A/sweep.csv" "$WORK/one/sweep.csv"; then
  pass "merged CSV byte-identical to the one-process CSV"
else
  fail "merged CSV differs from the one-process CSV"
fi

# ---------------------------------------------------------------------------------------------
echo "== 2. resubmitted subset: --array 2 of N=3 after deleting shard 2 ($(elapsed))"
rm -f "$A/shard-2.csv" "$A/shard-2.csv.json" "$A/sweep.csv" "$A/sweep.csv.json"
t0=$SECONDS
read -r aid2 mid2 < <("$here/submit-sweep.sh" --parsable --array 2 3 "$A" -- "${GRID[@]}") || true
echo "  array job ${aid2:-?}, merge job ${mid2:-?}"
if [ -n "${mid2:-}" ] && wait_jobs "$aid2" "$mid2" && all_completed "$aid2" "$mid2"; then
  pass "subset task and merge completed ($((SECONDS - t0))s)"
else
  fail "subset task or merge did not complete"; show_logs "$A"/logs/*"$aid2"*
fi
log2="$(ls "$A"/logs/spacer-sweep-"$aid2"_2.log 2>/dev/null)"
if [ -n "$log2" ] && grep -q "shard 2/3 " "$log2" && grep -q -- "--shard 2/3 --out $A/shard-2.csv" "$log2"; then
  pass "resubmitted task ran shard 2/3 (not 1/1)"
else
  fail "resubmitted task did not run shard 2/3"; show_logs "$A"/logs/*"$aid2"*
fi
if cmp "$A/sweep.csv" "$WORK/one/sweep.csv"; then
  pass "merge after the resubmitted subset byte-identical to the one-process CSV"
else
  fail "merge after the resubmitted subset differs"
fi

# ---------------------------------------------------------------------------------------------
echo "== 3. task id outside 1..N ($(elapsed))"
R="$WORK/refuse"
mkdir -p "$R/logs"
if "$here/submit-sweep.sh" --array 4 3 "$R" -- "${GRID[@]}" >/dev/null 2>"$R/submit.err"; then
  fail "submit-sweep.sh accepted --array 4 with N=3"
else
  pass "submit-sweep.sh refuses --array 4 with N=3: $(head -n1 "$R/submit.err")"
fi
rid="$(sbatch --parsable --array=4 --output="$R/logs/%x-%A_%a.log" "$here/sweep-array.sbatch" 3 "$R" -- "${GRID[@]}")"
rid="${rid%%;*}"
wait_jobs "$rid" || true
if [ "$(states "$rid" | awk '{print $2}')" = FAILED ] && [ "$(field "$rid" ExitCode)" = "64:0" ] \
   && grep -q "refusing: array task id 4 is outside 1..3" "$R"/logs/*.log && [ ! -e "$R/shard-4.csv" ]; then
  pass "array task 4 of N=3 refused to run (FAILED, exit 64, no output)"
else
  fail "array task 4 of N=3 was not refused: $(states "$rid") exit $(field "$rid" ExitCode)"; show_logs "$R"/logs/*
fi

# ---------------------------------------------------------------------------------------------
echo "== 4. requeue on USR1 and resume ($(elapsed))"
Q="$WORK/requeue"
mkdir -p "$Q/logs"
cp "$A/shard-2.csv" "$A/shard-2.csv.json" "$A/shard-3.csv" "$A/shard-3.csv.json" "$Q/"
# A stand-in for a long sweep: the first start does 2 runs for real, then hangs (as a long run
# would) until Slurm's USR1; later starts are the real binary.
cat >"$WORK/slow-sim" <<EOF
#!/bin/bash
[ "\$1" = sweep ] || exec "$SIM" "\$@"
case " \$* " in *" --dry-run "*) exec "$SIM" "\$@" ;; esac
if [ ! -e "$Q/first-start-done" ]; then
  touch "$Q/first-start-done"
  "$SIM" "\$@" --max-runs 2 || exit \$?
  touch "$Q/hanging"
  exec sleep 600
fi
exec "$SIM" "\$@"
EOF
chmod +x "$WORK/slow-sim"
t0=$SECONDS
read -r qid qmid < <(SPACER_SIM="$WORK/slow-sim" "$here/submit-sweep.sh" --parsable --array 1 3 "$Q" -- "${GRID[@]}") || true
echo "  array job ${qid:-?}, merge job ${qmid:-?}"
for _ in $(seq "$WAIT"); do
  [ -e "$Q/hanging" ] && break
  terminal "$(states "$qid" | awk '{print $2}')" && break
  sleep 1
done
if [ -e "$Q/hanging" ] && [ "$(wc -l <"$Q/shard-1.csv")" = 3 ]; then
  pass "first start wrote 2 rows and hangs ($((SECONDS - t0))s)"
else
  fail "first start did not reach the hanging point"; show_logs "$Q"/logs/*
fi
rm -f "$Q/hanging"
scancel --signal=USR1 --batch "${qid}_1" || fail "scancel --signal=USR1 --batch ${qid}_1"
if [ -n "${qmid:-}" ] && wait_jobs "$qid" "$qmid" && all_completed "$qid" "$qmid"; then
  pass "requeued task and merge completed ($((SECONDS - t0))s)"
else
  fail "requeued task or merge did not complete"; show_logs "$Q"/logs/*
fi
qlog="$(ls "$Q"/logs/spacer-sweep-"$qid"_1.log 2>/dev/null)"
restarts="$(field "${qid}_1" Restarts)"
if [ "${restarts:-0}" -ge 1 ] && grep -q "USR1: time limit near; requeueing" "$qlog" \
   && grep -q "start 2 on" "$qlog" && grep -q "2 current in $Q/shard-1.csv" "$qlog"; then
  pass "USR1 requeued the task (Restarts=$restarts) and the second start resumed after 2 rows"
else
  fail "requeue/resume not seen (Restarts=${restarts:-?})"; show_logs "$qlog"
fi
if cmp "$Q/sweep.csv" "$WORK/one/sweep.csv"; then
  pass "merge after requeue byte-identical to the one-process CSV"
else
  fail "merge after requeue differs"
fi

# ---------------------------------------------------------------------------------------------
echo "== 5. USR1 to a start that finished no row: no requeue (it would loop) ($(elapsed))"
Z="$WORK/noprogress"
mkdir -p "$Z/logs"
cat >"$WORK/hang-sim" <<EOF
#!/bin/bash
[ "\$1" = sweep ] || exec "$SIM" "\$@"
case " \$* " in *" --dry-run "*) exec "$SIM" "\$@" ;; esac
touch "$Z/hanging"
exec sleep 600
EOF
chmod +x "$WORK/hang-sim"
read -r zid _ < <(SPACER_SIM="$WORK/hang-sim" "$here/submit-sweep.sh" --parsable --no-merge --array 1 3 "$Z" -- "${GRID[@]}") || true
for _ in $(seq "$WAIT"); do
  [ -e "$Z/hanging" ] && break
  terminal "$(states "$zid" | awk '{print $2}')" && break
  sleep 1
done
scancel --signal=USR1 --batch "${zid}_1" || true
zlog="$Z/logs/spacer-sweep-${zid}_1.log"
for _ in $(seq 20); do grep -q "USR1" "$zlog" 2>/dev/null && break; sleep 0.5; done
sleep 2
if grep -q "no new row since this start; not requeueing" "$zlog" \
   && [ "$(states "${zid}_1" | awk '{print $2}')" = RUNNING ] && [ "$(field "${zid}_1" Restarts)" = 0 ]; then
  pass "no requeue after a start without progress (task still RUNNING, Restarts=0)"
else
  fail "a start without progress was requeued or stopped: $(states "${zid}_1") Restarts=$(field "${zid}_1" Restarts)"
  show_logs "$zlog"
fi
scancel "$zid" || true
wait_jobs "$zid" >/dev/null || true

echo "== done in $(elapsed) (excluding the build)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
