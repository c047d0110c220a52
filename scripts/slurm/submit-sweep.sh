#!/usr/bin/env bash
# Submits a spacer-sim sweep as a Slurm array of N shards, then a merge job that runs once every
# task has succeeded.
#
#   scripts/slurm/submit-sweep.sh [options] N OUTDIR -- <spacer-sim sweep arguments>
#
#   N        shard count, fixed here for good: task i runs --shard i/N (also when resubmitted alone)
#   OUTDIR   gets shard-i.csv (+ .json sidecars), logs/, submit.log, and sweep.csv from the merge
#
# Options:
#   --array LIST   tasks to submit (default 1-N); e.g. --array 3,7 resubmits shards 3 and 7 of N,
#                  which resume from their own output; the merge then waits for those tasks only
#   --no-merge     do not submit the merge job
#   --sbatch OPT   extra sbatch option for the array job, repeatable (e.g. --sbatch --time=04:00:00
#                  --sbatch --partition=short); SBATCH_* environment variables work too
#   --parsable     print only "<array job id> <merge job id>" on stdout
#
# Environment: SPACER_SIM, the binary (default spacer-sim on PATH); it is made absolute here and
# exported to the jobs, so it must be at the same path on the compute nodes.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
array=""
merge=1
parsable=0
extra=()
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }
while [ $# -gt 0 ]; do
  case "$1" in
    --array) array="${2:?--array needs a list}"; shift 2 ;;
    --array=*) array="${1#--array=}"; shift ;;
    --no-merge) merge=0; shift ;;
    --sbatch) extra+=("${2:?--sbatch needs an option}"); shift 2 ;;
    --sbatch=*) extra+=("${1#--sbatch=}"); shift ;;
    --parsable) parsable=1; shift ;;
    -h|--help) usage ;;
    --) break ;;
    -*) echo "submit-sweep: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
N="$1"
OUTDIR="$2"
shift 2
if [ "${1:-}" = "--" ]; then shift; fi
case "$N" in ''|*[!0-9]*|0*) echo "submit-sweep: N must be a positive integer, found '$N'" >&2; exit 64 ;; esac
[ -n "$array" ] || array="1-$N"

# Every task id of LIST (a,b-c,d-e:s, optionally %k) must be within 1..N.
list="${array%%\%*}"
IFS=, read -r -a parts <<<"$list"
for p in "${parts[@]}"; do
  if [[ "$p" =~ ^([0-9]+)(-([0-9]+)(:[0-9]+)?)?$ ]]; then
    lo="${BASH_REMATCH[1]}"; hi="${BASH_REMATCH[3]:-$lo}"
    if [ "$lo" -lt 1 ] || [ "$hi" -gt "$N" ] || [ "$lo" -gt "$hi" ]; then
      echo "submit-sweep: --array $array: '$p' is outside 1..$N" >&2; exit 64
    fi
  else
    echo "submit-sweep: --array $array: cannot read '$p' (use a,b-c,d-e:step)" >&2; exit 64
  fi
done

command -v sbatch >/dev/null 2>&1 || { echo "submit-sweep: sbatch not found (is Slurm installed?)" >&2; exit 69; }

SPACER_SIM="${SPACER_SIM:-spacer-sim}"
if [[ "$SPACER_SIM" == */* ]]; then
  SPACER_SIM="$(cd "$(dirname "$SPACER_SIM")" && pwd)/$(basename "$SPACER_SIM")"
elif command -v "$SPACER_SIM" >/dev/null 2>&1; then
  SPACER_SIM="$(command -v "$SPACER_SIM")"
else
  echo "submit-sweep: warning: $SPACER_SIM is not on PATH here; the jobs look it up on their nodes" >&2
fi
export SPACER_SIM

# Folders before submission: --output needs its folder to exist when the task starts.
mkdir -p "$OUTDIR/logs"
OUTDIR="$(cd "$OUTDIR" && pwd)"
# The jobs run in this working directory (Slurm's default): spacer-sim records the git commit of
# its working directory on every row, so submit from the checkout the binary was built from.

array_id="$(sbatch --parsable --array="$array" \
  --output="$OUTDIR/logs/%x-%A_%a.log" \
  "${extra[@]}" "$here/sweep-array.sbatch" "$N" "$OUTDIR" -- "$@")"
array_id="${array_id%%;*}"
merge_id="-"
if [ $merge = 1 ]; then
  merge_id="$(sbatch --parsable --dependency="afterok:$array_id" \
    --output="$OUTDIR/logs/%x-%j.log" \
    "$here/merge-shards.sbatch" "$N" "$OUTDIR")"
  merge_id="${merge_id%%;*}"
fi

{
  printf '%s array=%s tasks=%s of N=%s merge=%s SPACER_SIM=%s sweep args:' \
    "$(date -u +%FT%TZ)" "$array_id" "$array" "$N" "$merge_id" "$SPACER_SIM"
  printf ' %q' "$@"
  echo
} >>"$OUTDIR/submit.log"

if [ $parsable = 1 ]; then
  echo "$array_id $merge_id"
else
  echo "array job $array_id: tasks $array of $N shards -> $OUTDIR/shard-i.csv (logs in $OUTDIR/logs)"
  [ $merge = 1 ] && echo "merge job $merge_id: after array job $array_id succeeds -> $OUTDIR/sweep.csv"
  echo "a task that failed or was cancelled: $0 --array <ids> $N $OUTDIR -- <same sweep arguments>"
fi
