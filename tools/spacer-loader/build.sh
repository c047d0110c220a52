#!/usr/bin/env bash
# tools/spacer-loader/build.sh [OUT] — builds the loader (loader.c) as a static PIE with gcc
# (CC overrides). OUT defaults to .build/spacer-loader in the repository. Prints OUT's path.
# Rebuilds only when loader.c is newer than OUT. Exit 1 when the compiler fails.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE/../../.build/spacer-loader}
mkdir -p "$(dirname "$OUT")"
if [[ ! -x $OUT || $HERE/loader.c -nt $OUT || $HERE/build.sh -nt $OUT ]]; then
    "${CC:-gcc}" -O2 -Wall -Wextra -static-pie -fPIE -o "$OUT.tmp.$$" "$HERE/loader.c"
    mv -f "$OUT.tmp.$$" "$OUT"
fi
echo "$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
