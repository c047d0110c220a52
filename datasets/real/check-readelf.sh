#!/usr/bin/env bash
# Checks the committed real tables against readelf: for every cached object of every version,
# the function sections `readelf -SW` lists (executable, allocated, non-empty) must be exactly
# the table's func rows, with the same sizes and alignments; and every constant row
# (`cst<N>.*`) must be one entry of an object's `.rodata.cstN` pool as `readelf -x`/`-r` show it.
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

# Constant pools (.rodata.cstN): every cst<N>.* row is one N-byte entry of some object's pool, as
# `readelf -x` dumps it (hash = FNV-1a 64 with the relocation fields `readelf -r` lists zeroed);
# library-wide rows are entries without relocations, an object's own rows entries with as many
# relocations; no pool is left as one row.
def fnv(b):
    h = 0xcbf29ce484222325
    for x in b: h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
    return f"{h:016x}"
width = {'R_X86_64_64': 8, 'R_X86_64_PC64': 8, 'R_X86_64_32': 4, 'R_X86_64_32S': 4, 'R_X86_64_PC32': 4, 'R_X86_64_PLT32': 4}
entries = {}   # (object or '', section, hash, relocation count)
for obj in sorted(os.listdir(objdir)):
    if not obj.endswith('.o'): continue
    path = os.path.join(objdir, obj)
    sections = subprocess.run(['readelf', '-SW', path], capture_output=True, text=True, check=True).stdout
    relocs = subprocess.run(['readelf', '-rW', path], capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r'\]\s+(\.rodata\.cst(\d+))\s+PROGBITS', sections):
        sec, n = m.group(1), int(m.group(2))
        dump = subprocess.run(['readelf', '-x', sec, path], capture_output=True, text=True, check=True).stdout
        data = bytearray()
        for line in dump.splitlines():
            t = line.split()
            if len(t) >= 2 and t[0].startswith('0x'):
                for w in t[1:5]:
                    if re.fullmatch(r'[0-9a-f]+', w) and len(w) % 2 == 0: data += bytes.fromhex(w)
        fields = {}
        part = relocs.split(f"Relocation section '.rela{sec}'")
        if len(part) > 1:
            for line in part[1].split('Relocation section')[0].splitlines():
                t = line.split()
                if len(t) >= 3 and t[2] in width: fields[int(t[0], 16)] = width[t[2]]
        for k in range(0, len(data), n):
            piece = bytearray(data[k:k + n])
            inside = [o for o in fields if k <= o < k + n]
            for o in inside: piece[o - k:o - k + fields[o]] = bytes(fields[o])
            entries.setdefault(('' if not inside else obj, sec, fnv(piece), len(inside)), 0)
cst = [r for r in rows if r['kind'] == 'rodata' and r['section'].startswith('.rodata.cst')]
whole = [r['name'] for r in cst if not r['name'].startswith('cst')]
bad = [r['name'] for r in cst if r['name'].startswith('cst') and
       (r['object'], r['section'], r['hash'], len(r['relocs'].split())) not in entries]
if whole or bad:
    print(f"{name}: MISMATCH: constant pools kept whole {whole[:3]}, constants not in readelf's pools {bad[:3]}")
    sys.exit(1)
print(f"{name}: {len(cst)} constants ({sum(1 for r in cst if r['object'])} with relocations): entries of readelf's pools")
PY
done
exit $status
