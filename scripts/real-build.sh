#!/usr/bin/env bash
# scripts/real-build.sh — build real images from emitted linker scripts, run them against the
# functional oracle, measure their pages, and print the simulator's prediction beside the
# measurement (issue 5).
#
#   scripts/real-build.sh zlib|sqlite [--strategies a,b,c] [--workload FILE] [--out DIR] [--cache DIR] [--check-code]
#
#   zlib     the four zlib releases of datasets/real/zlib-workload.csv (fast: CI runs this).
#   sqlite   the eight SQLite releases, one image each (scripts/real/sqlite-workload.csv).
#   --strategies  default: default,per-occurrence,spacer-delta.
#   --workload FILE  another workload of the same library, one row per image (image,library,version
#                 first), e.g. datasets/real/zlib-roots-workload.csv with the driver's roots
#                 (scripts/real/make-roots-workload.sh) for `--strategies default,dce`: dce then
#                 places only what the driver reaches, and its images must still link and print
#                 what their normal build prints.
#   --out DIR     where images, scripts and tables go (default: a fresh temporary folder).
#   --cache DIR   the cache of datasets/real/build.sh (default ${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim});
#                 missing objects are built there with `datasets/real/build.sh fetch build --libs LIB`.
#   --check-code  exit 1 unless predicted and measured frames agree on the code zone.
#   --loader      also run every binary (normal links and each strategy's images) through
#                 tools/spacer-loader (issue 13): from KSM-mergeable anonymous memory (--ksm) and
#                 from a page pool built from the strategy's images (--pool); both must print
#                 what the normal build prints, and the pool's pages must equal `spacer-sim
#                 measure`'s read-only frames of the same images (loader.csv).
#
# For every image: a normal static link (driver + the version's objects, ld's default script) is
# the oracle; then, per strategy, `spacer-sim place --emit-ld` writes a script and an object per
# image, gcc links them with the same driver, and the binary must print exactly what the normal
# build prints. The images are static executables for the host (Linux x86-64), not unikernels:
# the library sits in the layout's zones below 0x70000000, the host part (crt, libc, driver) at
# 0x70000000. `spacer-sim measure --range` then counts pages per zone.
#
# Environment: SPACER_SIM (a spacer-sim binary; default: `swift build` then .build/debug/spacer-sim),
# CC (default gcc). Exit status: 0 all binaries pass the oracle (and agree with --check-code), 1 otherwise.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CC=${CC:-gcc}
LIB=
STRATEGIES=default,per-occurrence,spacer-delta
OUT=
CACHE=${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim}
CHECK=0
LOADER=0
WORKLOAD_ARG=
die() { echo "real-build: $*" >&2; exit 1; }
while (($#)); do
    case $1 in
        zlib|sqlite) LIB=$1 ;;
        --strategies) STRATEGIES=$2; shift ;;
        --workload) WORKLOAD_ARG=$2; shift ;;
        --out) OUT=$2; shift ;;
        --cache) CACHE=$2; shift ;;
        --check-code) CHECK=1 ;;
        --loader) LOADER=1 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
[[ -n $LIB ]] || die "name a library: zlib or sqlite"
[[ -n $OUT ]] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/spacer-real-$LIB.XXXXXX")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

case $LIB in
    zlib)   WORKLOAD=$ROOT/datasets/real/zlib-workload.csv; DRIVER=$ROOT/scripts/real/zlib-driver.c; HEADER=zlib.h; LIBS_LD= ;;
    sqlite) WORKLOAD=$ROOT/scripts/real/sqlite-workload.csv; DRIVER=$ROOT/scripts/real/sqlite-driver.c; HEADER=sqlite3.h; LIBS_LD="-lm -lpthread -ldl" ;;
esac
if [[ -n $WORKLOAD_ARG ]]; then
    WORKLOAD=$(cd "$(dirname "$WORKLOAD_ARG")" && pwd)/$(basename "$WORKLOAD_ARG")
    [[ -f $WORKLOAD ]] || die "no workload $WORKLOAD_ARG"
fi
[[ $(head -n 1 "$WORKLOAD" | cut -d, -f1-3) == image,library,version ]] || die "$WORKLOAD: expected the columns image,library,version first"
mapfile -t IMAGES < <(tail -n +2 "$WORKLOAD" | cut -d, -f1)
mapfile -t VERSIONS < <(tail -n +2 "$WORKLOAD" | cut -d, -f3)

# Objects: from the dataset cache, built there if missing.
missing=0
for v in "${VERSIONS[@]}"; do [[ -f $CACHE/obj/$LIB-$v/BUILDINFO ]] || missing=1; done
if ((missing)); then
    echo "== objects of $LIB missing in $CACHE: datasets/real/build.sh fetch build --libs $LIB" >&2
    "$ROOT/datasets/real/build.sh" fetch build --libs "$LIB" --cache "$CACHE" >&2
fi

if [[ -z ${SPACER_SIM:-} ]]; then
    (cd "$ROOT" && swift build --product spacer-sim >&2)
    SPACER_SIM=$ROOT/.build/debug/spacer-sim
fi

# The driver, once, against the oldest version's header.
"$CC" -O2 -fno-pic -I"$CACHE/src/$LIB-${VERSIONS[0]}" -c "$DRIVER" -o "$OUT/driver.o"
objects() { local d=$CACHE/obj/$LIB-$1; sed -n 's/^objects: //p' "$d/BUILDINFO" | tr ' ' '\n' | sed "s|^|$d/|"; }

# The oracle: normal links.
mkdir -p "$OUT/normal"
for k in "${!IMAGES[@]}"; do
    img=${IMAGES[$k]}
    # shellcheck disable=SC2046
    "$CC" -static -no-pie "$OUT/driver.o" $(objects "${VERSIONS[$k]}") $LIBS_LD -o "$OUT/normal/$img" 2>"$OUT/normal/$img.link.log" ||
        { cat "$OUT/normal/$img.link.log" >&2; die "normal link of $img failed"; }
    "$OUT/normal/$img" >"$OUT/normal/$img.out" || die "normal build of $img failed to run"
done

# The loader (issue 13): built once; loader_check DIR LABEL runs DIR's images both ways.
if ((LOADER)); then
    LOADER_BIN=$("$ROOT/tools/spacer-loader/build.sh" "$OUT/spacer-loader")
    echo "label,images,oracle_ksm,oracle_pool,pool_pages,measured_read_only_frames" >"$OUT/loader.csv"
fi
loader_check() {
    local dir=$1 label=$2 img ok_ksm=0 ok_pool=0 bins=()
    for img in "${IMAGES[@]}"; do bins+=("$dir/$img"); done
    "$LOADER_BIN" --build-pool "$dir/pool" "${bins[@]}" >/dev/null || { echo "FAIL $label: --build-pool" >&2; fail=1; return; }
    for img in "${IMAGES[@]}"; do
        if "$LOADER_BIN" --ksm "$dir/$img" >"$dir/$img.loader.out" 2>&1 && cmp -s "$dir/$img.loader.out" "$OUT/normal/$img.out"; then
            ok_ksm=$((ok_ksm + 1))
        else echo "FAIL $label $img: through the loader, output differs (diff $dir/$img.loader.out $OUT/normal/$img.out)" >&2; fail=1; fi
        if "$LOADER_BIN" --pool "$dir/pool" "$dir/$img" >"$dir/$img.pool.out" 2>&1 && cmp -s "$dir/$img.pool.out" "$OUT/normal/$img.out"; then
            ok_pool=$((ok_pool + 1))
        else echo "FAIL $label $img: from the pool, output differs (diff $dir/$img.pool.out $OUT/normal/$img.out)" >&2; fail=1; fi
    done
    local pages ro
    pages=$(( $(stat -c %s "$dir/pool") / 4096 ))
    ro=$("$SPACER_SIM" measure --format csv --dedup loader "${bins[@]}" | awk -F, '$1=="read-only"{print $7}')
    echo "$label,${#IMAGES[@]},$ok_ksm,$ok_pool,$pages,$ro" >>"$OUT/loader.csv"
    echo "loader $label: $ok_ksm/${#IMAGES[@]} through --ksm, $ok_pool/${#IMAGES[@]} from a pool of $pages pages (measure: $ro read-only frames)"
    [[ $pages == "$ro" ]] || { echo "FAIL $label: pool holds $pages pages, measure counts $ro read-only frames" >&2; fail=1; }
}

fail=0
AGREE=$OUT/agreement.csv
echo "library,strategy,zone,predicted_total_pages,measured_total_pages,predicted_frames,measured_frames,predicted_pages_sharing,measured_pages_sharing" >"$AGREE"
IFS=, read -r -a STRATS <<<"$STRATEGIES"
for s in "${STRATS[@]}"; do
    dir=$OUT/$s
    "$SPACER_SIM" place --strategy "$s" --workload "$WORKLOAD" --objects-root "$CACHE/obj" --emit-ld "$dir/emit" >"$OUT/$s.place.log"
    read -r -a FLAGS <"$dir/emit/ldflags"
    passed=0
    for img in "${IMAGES[@]}"; do
        # shellcheck disable=SC2086
        if ! "$CC" "${FLAGS[@]}" -Wl,-T,"$dir/emit/$img.ld" "$dir/emit/$img.o" "$OUT/driver.o" $LIBS_LD -o "$dir/$img" 2>"$dir/$img.link.log"; then
            cat "$dir/$img.link.log" >&2; echo "FAIL $s $img: link failed" >&2; fail=1; continue
        fi
        if "$dir/$img" >"$dir/$img.out" 2>&1 && cmp -s "$dir/$img.out" "$OUT/normal/$img.out"; then
            passed=$((passed + 1))
        else
            echo "FAIL $s $img: output differs from the normal build (diff $dir/$img.out $OUT/normal/$img.out)" >&2; fail=1
        fi
    done
    echo "oracle $s: $passed/${#IMAGES[@]} images print exactly what their normal build prints"
    ((LOADER)) && loader_check "$dir" "$s"
    bins=()
    for img in "${IMAGES[@]}"; do bins+=("$dir/$img"); done
    while IFS=, read -r _ zone range _ ptotal pframes _ psharing _ _; do
        [[ $zone == zone ]] && continue
        m=$("$SPACER_SIM" measure --format csv --range "$range" "${bins[@]}" | awk -F, '$1=="all"{print $6","$7","$9}')
        IFS=, read -r mtotal mframes msharing <<<"$m"
        echo "$LIB,$s,$zone,$ptotal,$mtotal,$pframes,$mframes,$psharing,$msharing" >>"$AGREE"
        if ((CHECK)) && [[ $zone == code && ( $pframes != "$mframes" || $ptotal != "$mtotal" ) ]]; then
            echo "FAIL $s: code zone predicted $pframes frames / $ptotal pages, measured $mframes / $mtotal" >&2; fail=1
        fi
    done <"$dir/emit/predicted.csv"
    m=$("$SPACER_SIM" measure --format csv "${bins[@]}" | awk -F, '$1=="all"{print $6","$7","$9}')
    echo "$LIB,$s,whole image,,${m%%,*},,$(cut -d, -f2 <<<"$m"),,$(cut -d, -f3 <<<"$m")" >>"$AGREE"
done
((LOADER)) && loader_check "$OUT/normal" "normal link"
nb=()
for img in "${IMAGES[@]}"; do nb+=("$OUT/normal/$img"); done
m=$("$SPACER_SIM" measure --format csv "${nb[@]}" | awk -F, '$1=="all"{print $6","$7","$9}')
echo "$LIB,normal link,whole image,,${m%%,*},,$(cut -d, -f2 <<<"$m"),,$(cut -d, -f3 <<<"$m")" >>"$AGREE"
m=$("$SPACER_SIM" measure --format csv --range 0x400000-0x800000000 "${nb[@]}" | awk -F, '$1=="all"{print $6","$7","$9}')

echo
echo "predicted (simulator) vs measured (linked ELF) pages, ${#IMAGES[@]} $LIB images; files in $OUT"
column -s, -t <"$AGREE"
if ((LOADER)); then echo; column -s, -t <"$OUT/loader.csv"; fi
exit $fail
