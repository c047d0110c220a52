#!/usr/bin/env bash
# datasets/real/build.sh — download, build and extract the real function tables (docs/design.md §8).
#
#   datasets/real/build.sh [fetch|build|extract|all]... [--jobs N] [--cache DIR] [--force]
#
#   fetch    unmodified sources into the cache (PyPI sdists via pip, Debian orig tarballs via a
#            private APT configuration), each checked against the sha256 pinned in this script and the
#            version macros; writes $CACHE/sources.sha256.
#   build    one compiler, one flag set, objects in sorted file-name order into
#            $CACHE/obj/<lib>-<version>/, N versions in parallel.
#   extract  `spacer-sim extract` on those objects -> datasets/real/<lib>-<version>.csv.gz, with
#            provenance lines (compiler, flags, source sha256, origin, this script's name).
#   all      fetch, build, extract (the default).
#
#   --jobs N     versions compiled in parallel in `build` (default 2).
#   --cache DIR  cache directory (default ${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim}).
#   --force      redo the stage's work even when the cache already holds verified results.
#   --libs L,..  only these libraries (sqlite, lua, zlib; default all), e.g. `fetch build --libs zlib`
#                for the real-build check of scripts/real-build.sh.
#
# Environment: SPACER_SIM (path to a spacer-sim binary; default `swift run -c release spacer-sim`
# from the repository root), DEBIAN_MIRROR (default: the Debian mirror of this machine's own APT
# sources), PIP (default `python3 -m pip`).
#
# Nothing downloaded or built is written inside the repository except the extracted tables.
set -euo pipefail

readonly SCRIPT_NAME="datasets/real/build.sh"
ORIG_PWD=$PWD
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
readonly ORIG_PWD HERE ROOT
cd "$ROOT"
export LC_ALL=C
umask 022

STAGE=main
log() { printf '[%s] %s\n' "$STAGE" "$*" >&2; }
die() { printf '%s: error (%s): %s\n' "$SCRIPT_NAME" "$STAGE" "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------------------------------------
# What is built, and the pinned checksums of every source file (the first run was checked
# against sqlite.org's own release log, see the SHA3-256 column, and against Debian's signed
# Sources indices).

readonly SQLITE_VERSIONS=(3.40.1 3.44.0 3.45.0 3.45.1 3.46.1 3.47.0 3.49.1 3.50.4)
readonly LUA_VERSIONS=(5.4.2 5.4.4 5.4.7 5.4.9)
readonly ZLIB_VERSIONS=(1.2.11 1.2.13 1.3.1 1.3.2)
readonly DEBIAN_SUITES=(bullseye bookworm trixie sid)

# lib version kind where file sha256(file)
#   kind pypi:   where = the pip requirement; file = the sdist pip saves.
#   kind debian: where = source package / preferred suite; file = the orig tarball.
readonly PINS="
sqlite 3.40.1 debian sqlite3/bookworm       sqlite3_3.40.1.orig.tar.xz              aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655
sqlite 3.44.0 pypi   sqlean-py==0.21.8.5    sqlean.py-0.21.8.5.tar.gz               033a641f8b8146087a5879d8c9f373ae376bf463c00e8de728daff0c29be3bb7
sqlite 3.45.0 pypi   sqlean-py==3.45.0      sqlean.py-3.45.0.tar.gz                 cdb37523f91d07169996684066bf579e08787a9796288fa1adea21c1745935cf
sqlite 3.45.1 pypi   sqlean-py==3.45.1      sqlean.py-3.45.1.tar.gz                 25fbf0a111856e0384dbc412156e2e688948525c7d8609dc3803512c70130740
sqlite 3.46.1 pypi   rotki-sqlite==2025.8.1 rotki_sqlite-2025.8.1.tar.gz            3e65101f7329f1fd9e83a7519bdff4e09bdcea1d86f6a4450c11ad5c6846acd6
sqlite 3.47.0 pypi   sqlean-py==3.47.0      sqlean_py-3.47.0.tar.gz                 86a540b2d9ca44ae2b0b56fb067bf13095945a9bf113b3ea623e4867aab16ac2
sqlite 3.49.1 pypi   sqlean-py==3.49.1      sqlean_py-3.49.1.tar.gz                 210d89989226b988d7d6391f837387d3b81e8cd608c997e0bd37826e395970e7
sqlite 3.50.4 pypi   sqlean-py==3.50.4      sqlean_py-3.50.4.tar.gz                 8fdc25e58ee9f3de6a6c6146a158485a46811b7d27ee966d18e2e5fe9a49d31e
lua    5.4.2  debian lua5.4/bullseye        lua5.4_5.4.2.orig.tar.gz                11570d97e9d7303c0a59567ed1ac7c648340cd0db10d5fd594c09223ef2f524f
lua    5.4.4  debian lua5.4/bookworm        lua5.4_5.4.4.orig.tar.gz                164c7849653b80ae67bec4b7473b884bf5cc8d2dca05653475ec2ed27b9ebf61
lua    5.4.7  debian lua5.4/trixie          lua5.4_5.4.7.orig.tar.gz                9fbf5e28ef86c69858f6d3d34eccc32e911c1a28b4120ff3e84aaa70cfbf1e30
lua    5.4.9  debian lua5.4/sid             lua5.4_5.4.9.orig.tar.gz                2335b6c582a52654f94612bf10d2f4672805d05329aa6568b1d8cd9e5c6fb8e6
zlib   1.2.11 debian zlib/bullseye          zlib_1.2.11.dfsg.orig.tar.gz            80c481411a4fe8463aeb8270149a0e80bb9eaf7da44132b6e16f2b5af01bc899
zlib   1.2.13 debian zlib/bookworm          zlib_1.2.13.dfsg.orig.tar.bz2           71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
zlib   1.3.1  debian zlib/trixie            zlib_1.3.dfsg+really1.3.1.orig.tar.gz   60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb
zlib   1.3.2  debian zlib/sid               zlib_1.3.dfsg+really1.3.2.orig.tar.gz   7b6903eb019983987b7112eccf90f1703f1c6c0e0cede36564bf611d19ca579d
"

# version sha256(sqlite3.c) SHA3-256(sqlite3.c) as published in sqlite.org's release log, and
# SQLITE_SOURCE_ID (the rest of the line).
readonly SQLITE_AMALGAMATIONS="
3.40.1 b919a49fac461984e93808c21755b678622f2a94903455270d097e856a792a62 4d6800e9032ff349376fe612e422b49ba5eb4e378fac0b3e405235d09dd366ab 2022-12-28 14:03:47 df5c253c0b3dd24916e4ec7cf77d3db5294cc9fd45ae7b9c5e82ad8197f38a24
3.44.0 7b31410f2e3bb48be92d6c4ba6450034a9bd314c99ae9f9a06327091f005668c d9e6530096136067644b1cb2057b3b0fa51070df99ec61971f73c9ba6aa9a36e 2023-11-01 11:23:50 17129ba1ff7f0daf37100ee82d507aef7827cf38de1866e2633096ae6ad81301
3.45.0 7956a38f236a6be6c0bb30c96ba4f85f19e5a69f6beb6d2c62c9d246972a6775 f56d8e5e8c61d87b957f1cc60b3042c134d7bc0ca3aba002e6999e8f0af310a3 2024-01-15 17:01:13 1066602b2b1976fe58b5150777cced894af17c803e068f5918390d6915b46e1d
3.45.1 1a206854aa9fe0ccc1b609f5cfce67eb52ac0a8f5aa2f5e853f7c3ed84c710ab 0474604df9e1b69a5544295dd046aad954749279780d557da80f44b958100295 2024-01-30 16:01:20 e876e51a0ed5c5b3126f52e532044363a014bc594cfefa87ffb5b82257cc467a
3.46.1 6c35bc5f7f85eac9c49928bacbb02bb694b547aabf69197e058cca245ad80e83 186a1baa476b6d546de155160ca6d30ff7b7e6ee375f0bb6445e1a3d180a7dad 2024-08-13 09:16:08 c9c2ab54ba1f5f46360f1b4f35d849cd3f080e6fc2b6c60e91b16c63f69a1e33
3.47.0 0a830d5ab8a0a24be25b795869b8986231be90102bcb9b164da4f02d6958a2f7 bcec3a4fbc97e973547924677332996ef64e06a6d10d22e2c2344f447536cc29 2024-10-21 16:30:22 03a9703e27c44437c39363d0baf82db4ebc94538a0f28411c85dda156f82636e
3.49.1 ff80c36ef1bb44eb357c7ff1d15be77540d41c28fb671088215a6cd12785c5d3 22eab05c842463a3705c63922f12f68531200185ced510ed6aed2065ca44e816 2025-02-18 13:38:58 873d4e274b4988d260ba8354a9718324a1c26187a4ab4c1cc0227c03d0f10e70
3.50.4 e3f5d6901e7492af4a1fc8c4d745cae84c264942524c3fbfc02b82a5ca8818c8 9145255e83da6529e70121ee4d7a4c88fe83ca4511da0c9ed13d10842df36782 2025-07-30 19:33:53 4d8adfb30e03f9cf27f800a2c1ba3c48fb4ca1b08b0f5ed59a4d5ecbf45e20a3
"

# One compiler, one flag set (plus each library's own defines).
readonly CC=gcc
readonly BASE_FLAGS="-O2 -ffunction-sections -fdata-sections -fno-pic"
readonly LUA_DEFS="-DLUA_COMPAT_5_3 -DLUA_USE_LINUX"
readonly ZLIB_DEFS="-DHAVE_UNISTD_H -DHAVE_STDARG_H -D_LARGEFILE64_SOURCE=1"
readonly ZLIB_FILES=(adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate inftrees trees uncompr zutil)

declare -A PIN_KIND PIN_WHERE PIN_FILE PIN_SHA AMALG_SHA AMALG_SHA3 AMALG_ID
while read -r lib ver kind where file sha; do
    [[ -n ${lib:-} ]] || continue
    PIN_KIND[$lib-$ver]=$kind; PIN_WHERE[$lib-$ver]=$where
    PIN_FILE[$lib-$ver]=$file; PIN_SHA[$lib-$ver]=$sha
done <<<"$PINS"
while read -r ver sha sha3 id; do
    [[ -n ${ver:-} ]] || continue
    AMALG_SHA[$ver]=$sha; AMALG_SHA3[$ver]=$sha3; AMALG_ID[$ver]=$id
done <<<"$SQLITE_AMALGAMATIONS"

# "lib version" for every table, in build order (the long SQLite compiles first).
all_targets() {
    local v
    wanted sqlite && for v in "${SQLITE_VERSIONS[@]}"; do echo "sqlite $v"; done
    wanted lua && for v in "${LUA_VERSIONS[@]}"; do echo "lua $v"; done
    wanted zlib && for v in "${ZLIB_VERSIONS[@]}"; do echo "zlib $v"; done
    return 0
}

# Whether library $1 is selected by --libs (all when --libs is not given).
wanted() { [[ -z ${LIBS:-} || ,$LIBS, == *,$1,* ]]; }

# ---------------------------------------------------------------------------------------------
# Arguments

JOBS=2
CACHE=${SPACER_SIM_CACHE:-$HOME/.cache/spacer-sim}
FORCE=0
LIBS=
STAGES=()
INTERNAL=()
while (($#)); do
    case $1 in
        fetch|build|extract) STAGES+=("$1") ;;
        all) STAGES+=(fetch build extract) ;;
        --jobs) (($# >= 2)) || die "--jobs needs a number"; JOBS=$2; shift ;;
        --jobs=*) JOBS=${1#--jobs=} ;;
        -j) (($# >= 2)) || die "-j needs a number"; JOBS=$2; shift ;;
        --cache) (($# >= 2)) || die "--cache needs a directory"; CACHE=$2; shift ;;
        --cache=*) CACHE=${1#--cache=} ;;
        --force) FORCE=1 ;;
        --libs) (($# >= 2)) || die "--libs needs a list"; LIBS=$2; shift ;;
        --libs=*) LIBS=${1#--libs=} ;;
        -h|--help) usage; exit 0 ;;
        __build_one) (($# >= 3)) || die "__build_one needs LIB VERSION"; INTERNAL=("$2" "$3"); shift 2 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a whole number >= 1, got '$JOBS'"
((${#STAGES[@]})) || STAGES=(fetch build extract)
[[ -n $CACHE ]] || die "--cache must not be empty"
case $CACHE in /*) ;; *) CACHE=$ORIG_PWD/$CACHE ;; esac
mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"
CACHE=$(cd "$CACHE" && pwd)
readonly CACHE JOBS FORCE
case $CACHE/ in "$ROOT"/*)
    [[ $CACHE/ == "$ROOT/datasets/real/cache/"* ]] ||
        die "the cache $CACHE is inside the repository; use a directory outside it (or datasets/real/cache, which is git-ignored)" ;;
esac

# ---------------------------------------------------------------------------------------------
# Helpers

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

sha3_256_of() {
    if openssl dgst -sha3-256 -r "$1" >/dev/null 2>&1; then
        openssl dgst -sha3-256 -r "$1" | cut -d' ' -f1
    else
        python3 -c 'import hashlib,sys; print(hashlib.sha3_256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# check_sha FILE EXPECTED WHAT: die with both values when they differ.
check_sha() {
    local got
    got=$(sha256_of "$1")
    [[ $got == "$2" ]] || die "sha256 mismatch for $3 ($1): expected $2, got $got"
}

# The value of `#define NAME "value"` in FILE (first occurrence).
c_define() {
    sed -n "s/^#define[[:space:]]\{1,\}$2[[:space:]]\{1,\}\"\(.*\)\"[[:space:]]*\$/\1/p" "$1" | head -n 1
}

compiler_id() { "$CC" --version | head -n 1; }

lib_flags() {
    case $1 in
        sqlite) echo "$BASE_FLAGS" ;;
        lua) echo "$BASE_FLAGS $LUA_DEFS" ;;
        zlib) echo "$BASE_FLAGS $ZLIB_DEFS" ;;
        *) die "unknown library '$1'" ;;
    esac
}

# The directory the compiler runs in, and the sorted source files (names relative to it).
lib_srcdir() {
    case $1 in
        sqlite|zlib) echo "$CACHE/src/$1-$2" ;;
        lua) echo "$CACHE/src/lua-$2/src" ;;
    esac
}
lib_sources() {
    local dir f
    dir=$(lib_srcdir "$1" "$2")
    case $1 in
        sqlite) echo sqlite3.c ;;
        zlib) printf '%s.c\n' "${ZLIB_FILES[@]}" | sort ;;
        lua)
            [[ -d $dir ]] || return 0
            for f in "$dir"/*.c; do
                f=${f##*/}
                [[ $f == lua.c || $f == luac.c ]] || echo "$f"
            done | sort ;;
    esac
}

# Debian's packaging names for the origin line, filled in by fetch into src/<lib>-<v>/PROVENANCE.
provenance_field() { sed -n "s/^$2: //p" "$1" | head -n 1; }

# ---------------------------------------------------------------------------------------------
# fetch: PyPI

PIP_CMD=()
if [[ -n ${PIP:-} ]]; then read -r -a PIP_CMD <<<"$PIP"; else PIP_CMD=(python3 -m pip); fi

# fetch_sdist KEY: $CACHE/dl/pypi/<sdist>, verified.
fetch_sdist() {
    local key=$1 dl=$CACHE/dl/pypi tmp f
    f=$dl/${PIN_FILE[$key]}
    mkdir -p "$dl" "$CACHE/tmp"
    if [[ -f $f && $FORCE == 0 ]]; then
        if [[ $(sha256_of "$f") == "${PIN_SHA[$key]}" ]]; then
            log "  ${PIN_FILE[$key]} present, sha256 verified"
            return
        fi
        log "  ${PIN_FILE[$key]} in the cache has a wrong sha256: downloading it again"
    fi
    rm -f "$f"
    tmp=$(mktemp -d "$CACHE/tmp/pip.XXXXXX")
    log "  pip download --no-deps --no-binary :all: ${PIN_WHERE[$key]}"
    if ! "${PIP_CMD[@]}" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
            --dest "$tmp" "${PIN_WHERE[$key]}" >"$tmp.log" 2>&1; then
        tail -n 20 "$tmp.log" >&2
        die "pip download ${PIN_WHERE[$key]} failed (log above, full log $tmp.log)"
    fi
    [[ -f $tmp/${PIN_FILE[$key]} ]] ||
        die "pip download ${PIN_WHERE[$key]} gave '$(ls "$tmp")', expected ${PIN_FILE[$key]}"
    check_sha "$tmp/${PIN_FILE[$key]}" "${PIN_SHA[$key]}" "the sdist of ${PIN_WHERE[$key]}"
    mv "$tmp/${PIN_FILE[$key]}" "$f"
    rm -rf "$tmp" "$tmp.log"
}

# ---------------------------------------------------------------------------------------------
# fetch: Debian, through a private APT configuration that leaves the system's APT untouched

APT_DIR=""
derive_mirror() {
    local m=""
    if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return; fi
    # shellcheck disable=SC2016  # apt's own $(FIELD) placeholders, not shell expansions
    m=$(env -u APT_CONFIG apt-get indextargets --format '$(ORIGIN)|$(LABEL)|$(TARGET_OF)|$(REPO_URI)' 2>/dev/null |
        awk -F'|' '$1 == "Debian" && $2 == "Debian" && $3 == "deb" { print $4; exit }')
    if [[ -z $m ]]; then
        # No Release files yet (apt-get update never ran): take the URI of a plain suite.
        # shellcheck disable=SC2016
        m=$(env -u APT_CONFIG apt-get indextargets --no-release-info --format '$(RELEASE)|$(REPO_URI)' 2>/dev/null |
            awk -F'|' '$1 !~ /-(security|updates|backports)$/ && $2 ~ /\/debian\/?$/ { print $2; exit }')
    fi
    [[ -n $m ]] || die "cannot derive the Debian mirror from this machine's APT sources; set DEBIAN_MIRROR=http://.../debian"
    echo "${m%/}"
}

apt_private() { APT_CONFIG=$APT_DIR/apt.conf "$@"; }

apt_setup() {
    [[ -z $APT_DIR ]] || return 0
    local mirror s
    mirror=$(derive_mirror)
    APT_DIR=$CACHE/apt
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
    for s in "${DEBIAN_SUITES[@]}"; do
        echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
    done >"$APT_DIR/sources.list"
    cat >"$APT_DIR/apt.conf" <<EOF
Dir::Etc::sourcelist "$APT_DIR/sources.list";
Dir::Etc::sourceparts "/nonexistent";
Dir::Etc::preferences "/nonexistent";
Dir::Etc::preferencesparts "/nonexistent";
Dir::State::Lists "$APT_DIR/lists";
Dir::Cache "$APT_DIR/cache";
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
    log "  private APT configuration $APT_DIR/apt.conf: deb-src $mirror ${DEBIAN_SUITES[*]}"
    if ! apt_private apt-get update -q >"$APT_DIR/update.log" 2>&1; then
        grep -E '^(E|W):' "$APT_DIR/update.log" >&2 || true
        log "  warning: apt-get update reported errors (above); continuing with the indices it fetched"
    fi
}

# debian_pick KEY: set DEB_VER and DEB_SUITE to a Debian source package version, and its suite,
# that carries the pinned orig tarball; prefer the suite named in the pin, and say so when that
# suite lacks the version.
DEB_VER=""; DEB_SUITE=""
debian_pick() {
    local key=$1 pkg suite file sha versions v s
    pkg=${PIN_WHERE[$key]%%/*}; suite=${PIN_WHERE[$key]#*/}
    file=${PIN_FILE[$key]}; sha=${PIN_SHA[$key]}
    DEB_VER=""; DEB_SUITE=""
    # Debian versions whose Sources stanza lists this orig tarball with this sha256.
    versions=$(apt_private apt-cache showsrc "$pkg" 2>/dev/null | awk -v f="$file" -v h="$sha" '
        /^Package: / { p = $2 } /^Version: / { v = $2 }
        /^ / && $1 == h && $3 == f && p != "" { print v }' | sort -u)
    [[ -n $versions ]] ||
        die "no configured Debian suite (${DEBIAN_SUITES[*]}) offers $pkg with $file (sha256 $sha)"
    # madison lines: " pkg | version | uri suite/main Sources"
    # The newest such version in the preferred suite, else the newest in any other suite.
    local other="" other_suite=""
    while read -r v s; do
        grep -qxF -- "$v" <<<"$versions" || continue
        if [[ $s == "$suite" ]]; then
            if [[ -z $DEB_VER ]] || dpkg --compare-versions "$v" gt "$DEB_VER"; then DEB_VER=$v; DEB_SUITE=$s; fi
        elif [[ -z $other ]] || dpkg --compare-versions "$v" gt "$other"; then
            other=$v; other_suite=$s
        fi
    done < <(apt_private apt-cache madison "$pkg" | awk -F'|' '/Sources/ {
        gsub(/ /, "", $2); split($3, a, " "); split(a[2], b, "/"); print $2, b[1] }')
    if [[ -z $DEB_VER ]]; then DEB_VER=$other; DEB_SUITE=$other_suite; fi
    [[ -n $DEB_VER ]] || die "Debian lists $file for $pkg ${versions//$'\n'/ }, but in no configured suite"
    if [[ $DEB_SUITE != "$suite" ]]; then
        log "  note: Debian $suite has no $pkg with upstream ${key#*-} (it has: $(apt_private apt-cache madison "$pkg" |
            awk -F'|' -v s=" $suite/" 'index($3, s) { gsub(/ /, "", $2); printf "%s%s", sep, $2; sep = " " }')); taking $DEB_VER from $DEB_SUITE"
    fi
}

# fetch_orig KEY: $CACHE/dl/debian/<orig>, verified; sets DEB_VER and DEB_SUITE.
fetch_orig() {
    local key=$1 dl=$CACHE/dl/debian f pkg
    f=$dl/${PIN_FILE[$key]}
    pkg=${PIN_WHERE[$key]%%/*}
    mkdir -p "$dl"
    apt_setup
    debian_pick "$key"
    if [[ -f $f && $FORCE == 0 && $(sha256_of "$f") == "${PIN_SHA[$key]}" ]]; then
        log "  ${PIN_FILE[$key]} present, sha256 verified (Debian $DEB_SUITE $pkg $DEB_VER)"
        return
    fi
    rm -f "$f"
    log "  apt-get source --download-only $pkg=$DEB_VER   (Debian $DEB_SUITE)"
    if ! (cd "$dl" && apt_private apt-get source --download-only -q "$pkg=$DEB_VER") >"$dl/$pkg-$DEB_VER.log" 2>&1; then
        # .dsc / .debian.tar.xz of newer suites sometimes answer 404; only the orig matters.
        if grep -q '404' "$dl/$pkg-$DEB_VER.log"; then
            log "  note: $(grep -o '[^/ ]*\.\(dsc\|debian\.tar\.[a-z]*\) *404' "$dl/$pkg-$DEB_VER.log" |
                sed 's/ *404$//; s/%2[bB]/+/g' | sort -u | tr '\n' ' ')answered 404 (only the orig tarball is used)"
        else
            tail -n 20 "$dl/$pkg-$DEB_VER.log" >&2
        fi
    fi
    [[ -f $f ]] || die "apt-get source $pkg=$DEB_VER did not deliver ${PIN_FILE[$key]} (log $dl/$pkg-$DEB_VER.log)"
    check_sha "$f" "${PIN_SHA[$key]}" "the Debian orig tarball of $pkg $DEB_VER"
}

# ---------------------------------------------------------------------------------------------
# fetch: per library

# verify_amalgamation VERSION FILE: version macro, source id, sha256 and sqlite.org's SHA3-256.
verify_amalgamation() {
    local v=$1 f=$2 got
    got=$(c_define "$f" SQLITE_VERSION)
    [[ $got == "$v" ]] || die "version mismatch in $f: SQLITE_VERSION is '$got', expected '$v'"
    got=$(c_define "$f" SQLITE_SOURCE_ID)
    [[ $got == "${AMALG_ID[$v]}" ]] ||
        die "SQLITE_SOURCE_ID mismatch in $f: '$got', expected '${AMALG_ID[$v]}' (sqlite.org release log)"
    check_sha "$f" "${AMALG_SHA[$v]}" "sqlite3.c of SQLite $v"
    got=$(sha3_256_of "$f")
    [[ $got == "${AMALG_SHA3[$v]}" ]] ||
        die "SHA3-256 of $f is $got, but sqlite.org publishes ${AMALG_SHA3[$v]} for SQLite $v"
}

ensure_tclsh() {
    command -v tclsh >/dev/null && return
    log "  tclsh is needed by SQLite's make sqlite3.c (< 3.48): apt-get install tcl"
    [[ $(id -u) == 0 ]] || die "tclsh missing; install Debian's 'tcl' package (needs root)"
    env -u APT_CONFIG apt-get install -y -q tcl >/dev/null 2>&1 ||
        { env -u APT_CONFIG apt-get update -q >/dev/null 2>&1 && env -u APT_CONFIG apt-get install -y -q tcl >/dev/null; } ||
        die "apt-get install tcl failed"
    command -v tclsh >/dev/null || die "tcl installed but no tclsh on PATH"
}

fetch_sqlite() {
    local v=$1 key=sqlite-$1 dst tmp sdist members c h trailer="" origin
    dst=$CACHE/src/sqlite-$v
    if [[ $FORCE == 0 && -f $dst/sqlite3.c && -f $dst/PROVENANCE && $(sha256_of "$dst/sqlite3.c") == "${AMALG_SHA[$v]}" ]]; then
        log "sqlite $v: src/sqlite-$v/sqlite3.c present, sha256 verified — skipping"
        return
    fi
    log "sqlite $v: fetching (${PIN_KIND[$key]} ${PIN_WHERE[$key]})"
    tmp=$CACHE/tmp/sqlite-$v
    rm -rf "$tmp"; mkdir -p "$tmp"
    if [[ ${PIN_KIND[$key]} == pypi ]]; then
        fetch_sdist "$key"
        sdist=$CACHE/dl/pypi/${PIN_FILE[$key]}
        members=$(tar -tzf "$sdist")
        c=$(grep -E '^[^/]+/(sqlite/)?sqlite3\.c$' <<<"$members" || true)
        h=$(grep -E '^[^/]+/(sqlite/)?sqlite3\.h$' <<<"$members" || true)
        [[ -n $c && $c != *$'\n'* ]] || die "${PIN_FILE[$key]}: expected one sqlite3.c, found '${c//$'\n'/ }'"
        tar -xzf "$sdist" -O "$c" >"$tmp/full.c"
        # sqlean-py appends 5 lines after the end marker (#include "init.h" + core_init): cut them.
        local marker='^/\*+ End of sqlite3\.c \*+/$'
        [[ $(grep -cE "$marker" "$tmp/full.c") == 1 ]] || die "$c: expected one '/*** End of sqlite3.c ***/' line"
        awk -v m="$marker" '{ print } $0 ~ m { exit }' "$tmp/full.c" >"$tmp/sqlite3.c"
        trailer=$(awk -v m="$marker" 'f { print } $0 ~ m { f = 1 }' "$tmp/full.c")
        if [[ -n $trailer ]]; then
            [[ $(wc -l <<<"$trailer") == 5 && $(head -n 1 <<<"$trailer") == '#include "init.h"' && $trailer == *core_init* ]] ||
                die "$c: unexpected text after the end marker (not sqlean's 5-line init hook):"$'\n'"$trailer"
            log "  removed sqlean's 5 appended lines (#include \"init.h\", core_init) after /*** End of sqlite3.c ***/"
        fi
        if [[ -n $h ]]; then tar -xzf "$sdist" -O "$h" >"$tmp/sqlite3.h"; fi
        origin="PyPI sdist ${PIN_WHERE[$key]} (${PIN_FILE[$key]} sha256=${PIN_SHA[$key]}), member $c"
        [[ -z $trailer ]] || origin+=" without the 5 lines sqlean appends after its end marker"
    else
        fetch_orig "$key"
        ensure_tclsh
        mkdir -p "$tmp/tree/bld"
        tar -xf "$CACHE/dl/debian/${PIN_FILE[$key]}" -C "$tmp/tree" --strip-components=1
        [[ $(cat "$tmp/tree/VERSION") == "$v" ]] || die "version mismatch: ${PIN_FILE[$key]} VERSION file says '$(cat "$tmp/tree/VERSION")', expected $v"
        log "  ../configure && make sqlite3.c   (log $tmp/make.log)"
        (cd "$tmp/tree/bld" && ../configure && make sqlite3.c) >"$tmp/make.log" 2>&1 ||
            { tail -n 20 "$tmp/make.log" >&2; die "configure && make sqlite3.c failed for SQLite $v (log $tmp/make.log)"; }
        cp "$tmp/tree/bld/sqlite3.c" "$tmp/tree/bld/sqlite3.h" "$tmp/"
        origin="Debian $DEB_SUITE source package ${PIN_WHERE[$key]%%/*} $DEB_VER (${PIN_FILE[$key]} sha256=${PIN_SHA[$key]}), amalgamation generated by ../configure && make sqlite3.c"
    fi
    verify_amalgamation "$v" "$tmp/sqlite3.c"
    if [[ -f $tmp/sqlite3.h ]]; then
        [[ $(c_define "$tmp/sqlite3.h" SQLITE_VERSION) == "$v" ]] || die "version mismatch in sqlite3.h of $v"
    fi
    rm -rf "$dst.new"; mkdir -p "$dst.new"
    cp "$tmp/sqlite3.c" "$dst.new/"
    if [[ -f $tmp/sqlite3.h ]]; then cp "$tmp/sqlite3.h" "$dst.new/"; fi
    {
        echo "library: sqlite"
        echo "version: $v"
        echo "origin: $origin"
        echo "source: sqlite3.c sha256=${AMALG_SHA[$v]} (SHA3-256 ${AMALG_SHA3[$v]} as in sqlite.org's release log; SQLITE_SOURCE_ID ${AMALG_ID[$v]})"
    } >"$dst.new/PROVENANCE"
    rm -rf "$dst"; mv "$dst.new" "$dst"; rm -rf "$tmp"
    log "sqlite $v: src/sqlite-$v/sqlite3.c verified (SQLITE_VERSION, SQLITE_SOURCE_ID, sha256, sqlite.org SHA3-256)"
}

# lib_srcsub LIB: where the compiled sources sit inside an unpacked tree.
lib_srcsub() { if [[ $1 == lua ]]; then echo src; else echo .; fi; }

# fetch_tarball_lib LIB VERSION: Lua and zlib from Debian orig tarballs, unpacked into src/.
fetch_tarball_lib() {
    local lib=$1 v=$2 key=$1-$2 dst sub got hdr macro files
    dst=$CACHE/src/$lib-$v
    sub=$(lib_srcsub "$lib")
    if [[ $FORCE == 0 && -f $dst/PROVENANCE && -s $dst/SOURCES.sha256 ]] &&
        grep -qF "sha256=${PIN_SHA[$key]}" "$dst/PROVENANCE" &&
        (cd "$dst" && sha256sum --quiet --strict -c SOURCES.sha256 >/dev/null 2>&1); then
        log "$lib $v: src/$lib-$v present, sources verified — skipping"
        return
    fi
    log "$lib $v: fetching (Debian ${PIN_WHERE[$key]})"
    fetch_orig "$key"
    rm -rf "$dst.new"; mkdir -p "$dst.new"
    tar -xf "$CACHE/dl/debian/${PIN_FILE[$key]}" -C "$dst.new" --strip-components=1
    case $lib in
        lua)
            hdr=$dst.new/src/lua.h
            got="$(c_define "$hdr" LUA_VERSION_MAJOR).$(c_define "$hdr" LUA_VERSION_MINOR).$(c_define "$hdr" LUA_VERSION_RELEASE)"
            macro="LUA_VERSION_MAJOR.MINOR.RELEASE" ;;
        zlib)
            hdr=$dst.new/zlib.h
            got=$(c_define "$hdr" ZLIB_VERSION)
            macro="ZLIB_VERSION" ;;
    esac
    [[ $got == "$v" ]] || die "version mismatch in ${PIN_FILE[$key]}: $macro is '$got', expected '$v'"
    # A manifest of what the compiler reads, so that a later run can verify the unpacked tree.
    (cd "$dst.new" && find "$sub" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) -print0 |
        sort -z | xargs -0 sha256sum) >"$dst.new/SOURCES.sha256"
    files=$(grep -c '\.c$' "$dst.new/SOURCES.sha256" || true)
    {
        echo "library: $lib"
        echo "version: $v"
        echo "origin: Debian $DEB_SUITE source package ${PIN_WHERE[$key]%%/*} $DEB_VER"
        echo "source: ${PIN_FILE[$key]} sha256=${PIN_SHA[$key]}"
    } >"$dst.new/PROVENANCE"
    rm -rf "$dst"; mv "$dst.new" "$dst"
    log "$lib $v: src/$lib-$v unpacked and verified ($macro \"$got\", $files .c files in $sub/)"
}

write_sources_sha256() {
    local lib v key paths=() p
    while read -r lib v; do
        key=$lib-$v
        case ${PIN_KIND[$key]} in
            pypi) p=dl/pypi/${PIN_FILE[$key]} ;;
            debian) p=dl/debian/${PIN_FILE[$key]} ;;
        esac
        if [[ -f $CACHE/$p ]]; then paths+=("$p"); fi
        if [[ $lib == sqlite ]]; then
            paths+=("src/sqlite-$v/sqlite3.c")
            if [[ -f $CACHE/src/sqlite-$v/sqlite3.h ]]; then paths+=("src/sqlite-$v/sqlite3.h"); fi
        fi
    done < <(all_targets)
    (cd "$CACHE" && sha256sum "${paths[@]}") >"$CACHE/sources.sha256.new"
    mv "$CACHE/sources.sha256.new" "$CACHE/sources.sha256"
    log "wrote $CACHE/sources.sha256 (${#paths[@]} files; check with: cd $CACHE && sha256sum -c sources.sha256)"
}

stage_fetch() {
    local lib v
    mkdir -p "$CACHE/tmp" "$CACHE/src" "$CACHE/dl"
    while read -r lib v; do
        case $lib in
            sqlite) fetch_sqlite "$v" ;;
            *) fetch_tarball_lib "$lib" "$v" ;;
        esac
    done < <(all_targets)
    write_sources_sha256
}

# ---------------------------------------------------------------------------------------------
# build

# The BUILDINFO an object directory must carry to count as built from the current sources.
expected_buildinfo() {
    local lib=$1 v=$2 srcprov
    srcprov=$CACHE/src/$lib-$v/PROVENANCE
    [[ -f $srcprov ]] || die "$lib $v: no sources in $CACHE/src/$lib-$v (run the fetch stage first)"
    echo "compiler: $(compiler_id)"
    echo "flags: $CC $(lib_flags "$lib") -c"
    echo "source: $(provenance_field "$srcprov" source)"
    echo "origin: $(provenance_field "$srcprov" origin)"
    echo "objects: $(lib_sources "$lib" "$v" | sed 's/\.c$/.o/' | tr '\n' ' ' | sed 's/ $//')"
}

obj_up_to_date() {
    local lib=$1 v=$2 out=$CACHE/obj/$1-$2
    [[ -f $out/BUILDINFO && -f $out/OBJECTS.sha256 ]] || return 1
    [[ $(cat "$out/BUILDINFO") == "$(expected_buildinfo "$lib" "$v")" ]] || return 1
    (cd "$out" && sha256sum --quiet --strict -c OBJECTS.sha256 >/dev/null 2>&1)
}

# build_one LIB VERSION: compile every source of one version, in sorted order, then publish the
# directory atomically. Runs in its own process (xargs -P).
build_one() {
    local lib=$1 v=$2 src out tmp f n=0 start=$SECONDS flags bytes sections
    STAGE="build $lib-$v"
    src=$(lib_srcdir "$lib" "$v"); out=$CACHE/obj/$lib-$v; tmp=$out.tmp
    flags=$(lib_flags "$lib")
    local -a flag_words files
    read -r -a flag_words <<<"$flags"
    mapfile -t files < <(lib_sources "$lib" "$v")
    ((${#files[@]})) || die "no sources for $lib $v in $src"
    log "compiling ${#files[@]} file(s) with $CC $flags -c"
    rm -rf "$tmp"; mkdir -p "$tmp"
    for f in "${files[@]}"; do
        [[ -f $src/$f ]] || die "missing source $src/$f"
        # Run in the source directory with a bare file name: the object then names only
        # "$f" (STT_FILE), never the cache path, so objects are the same on every machine.
        (cd "$src" && "$CC" "${flag_words[@]}" -c "$f" -o "$tmp/${f%.c}.o") ||
            die "$CC failed on $src/$f"
        n=$((n + 1))
    done
    (cd "$tmp" && sha256sum -- *.o) >"$tmp/OBJECTS.sha256"
    expected_buildinfo "$lib" "$v" >"$tmp/BUILDINFO"
    rm -rf "$out"; mv "$tmp" "$out"
    bytes=$(cat "$out"/*.o | wc -c)
    sections=$(for f in "$out"/*.o; do readelf -SW "$f"; done | grep -c ' \.text\.' || true)
    log "done: $n object(s), $bytes bytes, $sections .text.* sections, $((SECONDS - start)) s"
}

stage_build() {
    local lib v todo=()
    command -v "$CC" >/dev/null || die "$CC not found"
    command -v readelf >/dev/null || die "readelf (binutils) not found"
    log "compiler: $(compiler_id); $JOBS parallel job(s)"
    mkdir -p "$CACHE/obj"
    while read -r lib v; do
        expected_buildinfo "$lib" "$v" >/dev/null
        if [[ $FORCE == 0 ]] && obj_up_to_date "$lib" "$v"; then
            log "$lib $v: obj/$lib-$v up to date (BUILDINFO matches, object sha256 verified) — skipping"
        else
            todo+=("$lib" "$v")
        fi
    done < <(all_targets)
    if ((${#todo[@]})); then
        log "building $((${#todo[@]} / 2)) version(s)"
        printf '%s\0' "${todo[@]}" |
            xargs -0 -n 2 -P "$JOBS" "$HERE/build.sh" --cache "$CACHE" __build_one ||
            die "at least one version failed to build (messages above)"
    fi
    (cd "$CACHE/obj" && for d in $(all_targets | tr ' ' '-'); do sed "s|^\(.\{64\}\)  |\1  $d/|" "$d/OBJECTS.sha256"; done) \
        >"$CACHE/obj/objects.sha256"
    log "wrote $CACHE/obj/objects.sha256 ($(wc -l <"$CACHE/obj/objects.sha256") objects)"
}

# ---------------------------------------------------------------------------------------------
# extract

stage_extract() {
    local lib v obj out tmp start info
    local -a sim objects prov
    if [[ -n ${SPACER_SIM:-} ]]; then
        case $SPACER_SIM in
            /*) sim=("$SPACER_SIM") ;;
            */*) sim=("$ORIG_PWD/$SPACER_SIM") ;;
            *) sim=("$SPACER_SIM") ;;
        esac
        log "spacer-sim: ${sim[*]}"
    else
        log "spacer-sim: swift build -c release --product spacer-sim (once), then swift run"
        swift build -c release --product spacer-sim >&2 || die "swift build of spacer-sim failed"
        sim=(swift run --package-path "$ROOT" -c release --skip-build spacer-sim)
    fi
    while read -r lib v; do
        obj=$CACHE/obj/$lib-$v
        obj_up_to_date "$lib" "$v" ||
            die "$lib $v: $obj is missing, stale or corrupt (run the build stage first)"
        info=$obj/BUILDINFO
        read -r -a objects <<<"$(provenance_field "$info" objects)"
        out=$ROOT/datasets/real/$lib-$v.csv.gz
        tmp=$ROOT/datasets/real/.tmp-$lib-$v.csv.gz
        prov=(
            --provenance "compiler: $(provenance_field "$info" compiler)"
            --provenance "flags: $(provenance_field "$info" flags)"
            --provenance "source: $(provenance_field "$info" source)"
            --provenance "origin: $(provenance_field "$info" origin)"
            --provenance "objects (link order): ${objects[*]}"
            --provenance "generated by: $SCRIPT_NAME"
        )
        start=$SECONDS
        log "$lib $v: extract ${#objects[@]} object(s) -> datasets/real/$lib-$v.csv.gz"
        # Objects are named relative to their directory so the table's object column carries
        # no cache path.
        (cd "$obj" && "${sim[@]}" extract --library "$lib" --library-version "$v" "${objects[@]}" \
            -o "$tmp" "${prov[@]}") || { rm -f "$tmp"; die "spacer-sim extract failed for $lib $v"; }
        [[ -s $tmp ]] || die "spacer-sim extract wrote no $tmp for $lib $v"
        mv "$tmp" "$out"; rm -f "$tmp.json"   # the table carries its provenance in its header
        log "$lib $v: done ($(wc -c <"$out") bytes, $((SECONDS - start)) s)"
    done < <(all_targets)
}

# ---------------------------------------------------------------------------------------------

if ((${#INTERNAL[@]})); then
    build_one "${INTERNAL[@]}"
    exit 0
fi

log "repository $ROOT; cache $CACHE; stages ${STAGES[*]}"
for st in "${STAGES[@]}"; do
    STAGE=$st
    t0=$SECONDS
    log "=== stage $st ==="
    "stage_$st"
    log "=== stage $st finished in $((SECONDS - t0)) s ==="
done
