#!/usr/bin/env bash
# notebooks/real-run.sh — issue 13's figures from the real mechanisms, in one command:
#
#   notebooks/real-run.sh [sqlite|zlib] [--profile paper|fast] [--build DIR] [--runtime K] [--instances N]
#                         [--strategies a,b,c] [--out DIR]
#
# 1. scripts/real-build.sh LIB --out DIR (skipped when DIR already holds its output: --build DIR);
# 2. memory over time: `spacer-sim run` under ksm and under loader, the drivers looping, one
#    instance per image (the paper's 8 SQLite instances) unless --instances, for the strategies
#    (default: default,per-occurrence,spacer-delta — per-occurrence being the compact strategy
#    real-build.sh builds), to OUT/run-LIB-{ksm,loader}.csv;
# 3. runtime: `spacer-sim run --runtime K` (default 30) under ksm and loader, to
#    OUT/runtime-LIB-{ksm,loader}.csv;
# 4. python3 notebooks/figures.py --run ... --runtime ...: fig-memory-over-time, fig-runtime-ratios.
#
# Needs root (KSM, /proc/PID/pagemap), gcc and matplotlib. --profile fast (stagger 0.5 s, settle
# until KSM's scans converge) takes about 5 minutes for sqlite on 2 cores; paper (stagger 10 s,
# settle 30 s, KSM pages_to_scan 100, sleep_millisecs 20) about 15. KSM's settings are restored by
# `run` itself. Environment: SPACER_SIM (default: swift build, then .build/debug/spacer-sim).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB=sqlite PROFILE=paper BUILD= RUNTIME=30 INSTANCES=1 STRATEGIES=default,per-occurrence,spacer-delta OUT=$ROOT/notebooks-out
die() { echo "real-run: $*" >&2; exit 1; }
while (($#)); do
    case $1 in
        sqlite|zlib) LIB=$1 ;;
        --profile) PROFILE=$2; shift ;;
        --build) BUILD=$2; shift ;;
        --runtime) RUNTIME=$2; shift ;;
        --instances) INSTANCES=$2; shift ;;
        --strategies) STRATEGIES=$2; shift ;;
        --out) OUT=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
if [[ -z ${SPACER_SIM:-} ]]; then
    (cd "$ROOT" && swift build --product spacer-sim >&2)
    SPACER_SIM=$ROOT/.build/debug/spacer-sim
fi
export SPACER_SIM
mkdir -p "$OUT"
[[ -n $BUILD ]] || BUILD=$(mktemp -d "${TMPDIR:-/tmp}/spacer-real-run-$LIB.XXXXXX")
if [[ ! -f $BUILD/agreement.csv ]]; then
    "$ROOT/scripts/real-build.sh" "$LIB" --strategies "$STRATEGIES" --out "$BUILD"
fi
IFS=, read -r -a STRATS <<<"$STRATEGIES"
DIRS=()
for s in "${STRATS[@]}"; do DIRS+=("$BUILD/$s"); done
for d in ksm loader; do
    "$SPACER_SIM" run --dedup "$d" --profile "$PROFILE" --instances "$INSTANCES" --work-dir "$BUILD/run-$d" \
        -o "$OUT/run-$LIB-$d.csv" "${DIRS[@]}"
    "$SPACER_SIM" run --runtime "$RUNTIME" --dedup "$d" --profile "$PROFILE" --work-dir "$BUILD/runtime-$d" \
        -o "$OUT/runtime-$LIB-$d.csv" "${DIRS[@]}"
done
python3 "$ROOT/notebooks/figures.py" --out "$OUT" --run "$OUT/run-$LIB-ksm.csv" "$OUT/run-$LIB-loader.csv" \
    --runtime "$OUT/runtime-$LIB-ksm.csv" "$OUT/runtime-$LIB-loader.csv"
