#!/usr/bin/env bash
# Issue 7's trade-off view, regenerated in one command: frames / lower bound against mapped pages /
# default's mapped pages for every strategy variant, on the three real workloads and on synthetic
# histories of 2..32 versions (paper preset, change rate 0.2, seeds 1..3). Writes notebooks-out/tradeoff-{default,lua,zlib}.csv,
# notebooks-out/sweep-tradeoff.csv and notebooks-out/fig-tradeoff.{svg,png}.
# Needs: swift, python3 with matplotlib (pip install matplotlib). About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product spacer-sim >&2
SIM=.build/release/spacer-sim
S='default,library-aligned,per-occurrence,per-occurrence[trampolines=true],bin-packing,bin-packing[trampolines=true],strip-packing,strip-packing[trampolines=true],spacer-delta,spacer-delta[map-used-only=true],content-defined,version-set'
for wl in default lua zlib; do
  "$SIM" compare --workload "datasets/real/$wl-workload.csv" --strategies "$S" --no-timings \
    -o "notebooks-out/tradeoff-$wl.csv"
  echo "wrote notebooks-out/tradeoff-$wl.csv" >&2
done
# A resumed sweep recomputes rows made by another tool commit or from other inputs (stale).
"$SIM" sweep --presets paper --versions 2,4,8,16,32 --change-rates 0.2 --seeds 1..3 --strategies "$S" --jobs 2 --time-limit 2 --no-timings \
  -o notebooks-out/sweep-tradeoff.csv
python3 notebooks/figures.py
