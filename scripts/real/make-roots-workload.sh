#!/usr/bin/env bash
# scripts/real/make-roots-workload.sh — the real workloads with real roots (issue 15 item 4).
#
#   scripts/real/make-roots-workload.sh zlib|sqlite [--cache DIR]
#
# Compiles the library's driver (scripts/real/LIB-driver.c, as scripts/real-build.sh does: gcc -O2
# -fno-pic against the oldest version's header in the cache of datasets/real/build.sh), lists the
# library symbols it references with `spacer-sim roots`, and writes datasets/real/LIB-roots-workload.csv:
# the workload scripts/real-build.sh uses for LIB (zlib: datasets/real/zlib-workload.csv, sqlite:
# scripts/real/sqlite-workload.csv), one row per image, with those symbols in a `roots` column.
# `dce` on it keeps what the driver reaches; every other strategy places as on the plain workload.
#
#   --cache DIR   the cache of datasets/real/build.sh (default ${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim});
#                 the header comes from $CACHE/src/LIB-VERSION (`datasets/real/build.sh fetch --libs LIB`).
#
# Environment: SPACER_SIM (default: `swift build` then .build/debug/spacer-sim), CC (default gcc).
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${CC:-gcc}
CACHE=${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim}
LIB=
die() { echo "make-roots-workload: $*" >&2; exit 1; }
while (($#)); do
    case $1 in
        zlib|sqlite) LIB=$1 ;;
        --cache) CACHE=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
[[ -n $LIB ]] || die "name a library: zlib or sqlite"
case $LIB in
    zlib)   BASE=$ROOT/datasets/real/zlib-workload.csv ;;
    sqlite) BASE=$ROOT/scripts/real/sqlite-workload.csv ;;
esac
OUTFILE=$ROOT/datasets/real/$LIB-roots-workload.csv
[[ $(head -n 1 "$BASE") == image,library,version ]] || die "$BASE: expected the header image,library,version"
mapfile -t VERSIONS < <(tail -n +2 "$BASE" | cut -d, -f3)
SRC=$CACHE/src/$LIB-${VERSIONS[0]}
[[ -d $SRC ]] || die "no sources in $SRC: run datasets/real/build.sh fetch --libs $LIB"
if [[ -z ${SPACER_SIM:-} ]]; then
    (cd "$ROOT" && swift build --product spacer-sim >&2)
    SPACER_SIM=$ROOT/.build/debug/spacer-sim
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spacer-roots-$LIB.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$CC" -O2 -fno-pic -I"$SRC" -c "$ROOT/scripts/real/$LIB-driver.c" -o "$TMP/driver.o"
TABLES=()
for v in $(printf '%s\n' "${VERSIONS[@]}" | sort -u); do TABLES+=("$ROOT/datasets/real/$LIB-$v.csv.gz"); done
ROOTS=$("$SPACER_SIM" roots "$TMP/driver.o" --tables "${TABLES[@]}" --format field)
[[ -n $ROOTS ]] || die "the driver references no symbol of $LIB"
{
    echo "image,library,version,roots"
    tail -n +2 "$BASE" | sed "s/\$/,$ROOTS/"
} >"$TMP/workload.csv"
mv "$TMP/workload.csv" "$OUTFILE"
echo "make-roots-workload: $OUTFILE: $(wc -w <<<"$ROOTS") roots from scripts/real/$LIB-driver.c (compiled against $LIB ${VERSIONS[0]})" >&2
