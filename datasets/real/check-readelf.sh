#!/usr/bin/env bash
# Checks the committed real tables against readelf: for every cached object of every version,
# the function sections `readelf -SW` lists (executable, allocated, non-empty) must be exactly
# the table's func rows, with the same sizes and alignments.
# Usage: datasets/real/check-readelf.sh [--cache DIR]   (needs the objects of build.sh build)
set -euo pipefail
cd "$(dirname "$0")/../.."
cache="${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim}"
[ "${1:-}" = "--cache" ] && cache="$2"
[ -d "$cache/obj" ] || { echo "check-readelf: no objects in $cache/obj; run datasets/real/build.sh fetch build first" >&2; exit 66; }
status=0
for table in datasets/real/*-[0-9]*.csv.gz; do
  base=$(basename "$table" .csv.gz)
  objdir="$cache/obj/$base"
  [ -d "$objdir" ] || { echo "$base: no objects in $objdir" >&2; status=1; continue; }
  python3 - "$table" "$objdir" <<'PY' || status=1
import csv, gzip, os, re, subprocess, sys
table, objdir = sys.argv[1], sys.argv[2]
rows = [r for r in csv.DictReader(l for l in gzip.open(table, 'rt') if not l.startswith('#'))]
got = sorted((r['object'], r['section'], int(r['size']), int(r['align'])) for r in rows if r['kind'] == 'func')
want = []
for obj in sorted(os.listdir(objdir)):
    if not obj.endswith('.o'): continue
    out = subprocess.run(['readelf', '-SW', os.path.join(objdir, obj)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r'\s*\[\s*\d+\]\s+(\S+)\s+PROGBITS\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(\S*)\s+\d+\s+\d+\s+(\d+)', line)
        if m and 'X' in m.group(3) and 'A' in m.group(3) and int(m.group(2), 16) > 0:
            want.append((obj, m.group(1), int(m.group(2), 16), max(1, int(m.group(4)))))
want.sort()
name = os.path.basename(table)
if got == want:
    print(f"{name}: {len(got)} function sections, {sum(g[2] for g in got)} bytes: identical to readelf")
else:
    print(f"{name}: MISMATCH: table {len(got)} rows, readelf {len(want)} sections; first differences:",
          sorted(set(got) ^ set(want))[:5])
    sys.exit(1)
PY
done
exit $status
