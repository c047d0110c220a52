#!/usr/bin/env bash
# Issue 12's loss attribution, regenerated in one command: `spacer-sim explain` for every registered
# strategy (compare's default list) on the three real workloads, then fig-explain (one stacked bar per
# strategy: the lower bound, then frames above it by cause). Writes
# notebooks-out/explain-{default,lua,zlib}.csv (+ sidecars) and notebooks-out/fig-explain.{svg,png}.
# Strategies: $STRATEGIES, by default every registered strategy (compare's default list) plus the
# trampoline variants of per-occurrence, bin-packing and strip-packing. Extra arguments go to every
# explain run (e.g. --page-size 16384 or --dedup loader).
# Needs: swift, python3 with matplotlib (pip install matplotlib).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product spacer-sim >&2
SIM=.build/release/spacer-sim
S="${STRATEGIES:-$("$SIM" strategies | awk '$1 != "order-file" && $1 != "external" { printf "%s%s", sep, $1; sep = "," }'),per-occurrence[trampolines=true],bin-packing[trampolines=true],strip-packing[trampolines=true]}"
for wl in default lua zlib; do
  "$SIM" explain --workload "datasets/real/$wl-workload.csv" --strategies "$S" "$@" -o "notebooks-out/explain-$wl.csv"
  echo "wrote notebooks-out/explain-$wl.csv" >&2
done
python3 notebooks/figures.py --explain notebooks-out/explain-{default,lua,zlib}.csv
