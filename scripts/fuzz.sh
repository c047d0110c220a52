#!/usr/bin/env bash
# Builds and runs one libFuzzer target of Fuzz/ for a set time.
#
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer options...]
#   scripts/fuzz.sh fuzz-elf 600
#   scripts/fuzz.sh fuzz-table 600 -jobs=1
#   scripts/fuzz.sh fuzz-elf repro path/to/crash-input     # run one input, no fuzzing
#
# TARGET is fuzz-elf (ELF objects and ar archives through the extractor, and the extracted
# table through the CSV reader), fuzz-table (function-table and workload CSV, plain or gzip,
# through the readers, every strategy and the simulator), fuzz-measure (linked executables'
# program headers through ELFExecutable and PageMeasure, against a naive page assembler) or
# fuzz-emit (the place --emit-ld path with hostile image names and symbols: an object written
# with ELFWriter, extraction, name checks, LinkEmitter and EmitFolder in a scratch tree).
#
# The targets are built with -sanitize=fuzzer,address in a package of their own (Fuzz/), so
# the normal `swift build` and `swift test` never see them. Work files go to
# ${FUZZ_WORK:-.build/fuzz}: the seed corpus (generated here with gcc/ar and printf, never
# committed), the growing corpus, and crash-*/timeout-*/oom-* inputs. A crash stops the run
# and exits non-zero; turn the saved input into a fixture and a regression test before fixing.
# The run is niced (the machine is shared); libFuzzer's final statistics (executions,
# coverage) are printed at the end.
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh fuzz-elf|fuzz-table|fuzz-measure|fuzz-emit SECONDS|repro [options...]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS|repro [options...]}
shift 2
case "$target" in fuzz-elf|fuzz-table|fuzz-measure|fuzz-emit) ;; *) echo "unknown target '$target' (fuzz-elf, fuzz-table, fuzz-measure or fuzz-emit)" >&2; exit 64 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-$root/.build/fuzz}
mkdir -p "$work/seeds-$target" "$work/corpus-$target" "$work/artifacts"

echo "== building $target (release, -sanitize=fuzzer,address)" >&2
nice -n 10 swift build --package-path "$root/Fuzz" --scratch-path "$work/build" -c release \
    -Xswiftc -sanitize=fuzzer,address --product "$target" >&2
bin=$(swift build --package-path "$root/Fuzz" --scratch-path "$work/build" -c release --show-bin-path)/$target

# Swift's own backtracer fights ASan over a fatalError; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
if [ "$seconds" = repro ]; then
    exec "$bin" "$@"
fi

seeds=$work/seeds-$target
dict=$work/$target.dict
if [ "$target" = fuzz-elf ]; then
    # Seeds: small objects compiled with the flags of the real tables, one without
    # -ffunction-sections (carved .text), hand-written assembly, and an archive.
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    cat > "$tmp/a.c" <<'C'
static int count;
static const char *const names[] = {"a", "bb"};
static int helper(int x) { return x * 3; }
int f(int x) { count += helper(x); return count + (int)names[x & 1][0]; }
int g(int x) { return f(x) + 1; }
C
    cat > "$tmp/b.c" <<'C'
double scale = 2.5;
int common_thing;
__thread int tls;
int h(double d) { tls++; common_thing++; return (int)(d * scale) + tls; }
const char *msg(void) { return "hello, world"; }
C
    cat > "$tmp/c.s" <<'S'
    .text
    .globl asm_a
    .type asm_a, @function
asm_a:
    call asm_b
    ret
    .globl asm_b
    .type asm_b, @function
asm_b:
    movq data(%rip), %rax
    ret
    .data
data: .quad asm_a
S
    (cd "$tmp" && gcc -O2 -ffunction-sections -fdata-sections -fno-pic -fcommon -c a.c b.c \
        && gcc -O2 -c a.c -o plain.o && gcc -c c.s -o c.o && ar rcs lib.a a.o b.o)
    cp "$tmp/a.o" "$tmp/b.o" "$tmp/plain.o" "$tmp/c.o" "$tmp/lib.a" "$seeds/"
    printf '"\\x7fELF"\n"!<arch>\\x0a"\n"`\\x0a"\n"/               "\n"//              "\n".text."\n".rela.text."\n".rodata.str1.1"\n".symtab"\n".strtab"\n' > "$dict"
elif [ "$target" = fuzz-measure ]; then
    # Seeds: small linked executables (static, PIE, with bss and data) and a hand-made one with
    # overlapping PT_LOADs.
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    cat > "$tmp/t.c" <<'C'
static char buf[9000];
int data = 7;
const char msg[] = "hello";
void _start(void) { buf[data] = msg[1]; for (;;) __asm__ volatile("hlt"); }
C
    (cd "$tmp" && gcc -O2 -nostdlib -static -fno-pic -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 -s t.c -o static.elf \
        && gcc -O2 -nostdlib -fpie -pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 -s t.c -o pie.elf \
        && gcc -O2 -nostdlib -static -fno-pic -no-pie -Wl,--build-id=none -Wl,-z,separate-code -s t.c -o sep.elf) || true
    cp "$tmp"/*.elf "$seeds/" 2>/dev/null || true
    python3 - "$seeds/overlap.elf" <<'PY'
import struct, sys
ph = [(1, 5, 176, 0x400000, 64, 64), (1, 6, 176 + 32, 0x400010, 16, 4096)]
hdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x400000, 64, 0, 0, 64, 56, len(ph), 0, 0, 0)
body = b"".join(struct.pack("<IIQQQQQQ", t, f, o, v, v, fs, ms, 4096) for t, f, o, v, fs, ms in ph)
open(sys.argv[1], "wb").write(hdr + body + bytes(range(64)) + b"\xcc" * 64)
PY
    printf '"\\x7fELF"\n"\\x02\\x01\\x01"\n"\\x01\\x00\\x00\\x00"\n"\\x00\\x10\\x00\\x00\\x00\\x00\\x00\\x00"\n"\\x00\\xf0\\xff\\xff\\xff\\xff\\xff\\xff"\n"\\x38\\x00"\n' > "$dict"
elif [ "$target" = fuzz-emit ]; then
    # Seeds: length-prefixed strings (library, version, strategy, images, externals); see
    # Fuzz/Sources/fuzz-emit/FuzzEmit.swift. Good names, traversal, injection, NUL, case.
    seed() { python3 -c '
import sys
first = int(sys.argv[2]); parts = [a.encode().decode("unicode_escape").encode("latin-1") for a in sys.argv[3:]]
open(sys.argv[1], "wb").write(bytes([first]) + b"".join(bytes([len(p)]) + p for p in parts))' "$@"; }
    seed "$seeds/good" 4 zlib 1.3.1 default img memcpy
    seed "$seeds/two" 9 zlib 1.3.1 spacer-delta a b puts memcpy
    seed "$seeds/traversal" 1 zlib 1.3.1 default ../../victim/lib x
    seed "$seeds/dot" 1 zlib 1.3.1 default x ./x
    seed "$seeds/case" 1 zlib 1.3.1 default x X
    seed "$seeds/inject" 4 zlib 1.3.1 default img 'puts)INPUT(evil.o)EXTERN(x'
    seed "$seeds/nul" 4 zlib 1.3.1 'def*/ault' 'i\x00mg' 'mem\x00cpy'
    seed "$seeds/version" 0 zlib ../1 default img
    printf '"/"\n".."\n"*/"\n"\\x00"\n")"\n"("\n"INPUT("\n"EXTERN("\n"@"\n"\\x0a"\n"~"\n".spacer-sim-emit"\n' > "$dict"
else
    printf 'library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n' > "$seeds/min.csv"
    printf '\xef\xbb\xbf# gcc 12\r\nlibrary,version,kind,name,object,section,binding,order,size,align,hash,relocs\r\nz,1.2,func,"a,b",a.o,.text.a,local,0,64,16,0a0b,4:plt32:g:-4 9:pc32:str.1:-4\r\nz,1.2,rodata,str.1,,.rodata.str1.1,local,1,6,1,77,\r\nz,1.2,bss,cnt,a.o,.bss.cnt,local,2,8,8,,\r\nz,1.2,data,tab,a.o,.data.tab,global,3,16,8,55,0:abs64:a,b:0 8:abs64:g:0\r\nz,1.3,func,g,b.o,,weak,0,32,16,99,1:pc32:memcpy:-4\r\n' > "$seeds/full.csv"
    printf 'image,library,version,instances\ni1,lib,1,2\ni1,z,1.2,2\ni2,lib,2,1\n' > "$seeds/workload.csv"
    gzip -9nc "$seeds/min.csv" > "$seeds/min.csv.gz"
    : > "$dict"
    for w in library version kind name object section binding order size align hash relocs image instances \
             func rodata data bss global local weak pc32 plt32 gotpcrel gotpcrelx rex_gotpcrelx pc64 pc16 pc8 \
             abs64 abs32 abs32s abs16 abs8 tpoff32 gottpoff tlsgd tlsld dtpoff32 size32 size64 \
             9223372036854775807 18446744073709551616 268435456 1073741824 4096 -4; do
        printf '"%s"\n' "$w" >> "$dict"
    done
    printf '"\\xef\\xbb\\xbf"\n"\\x0d\\x0a"\n"\\x22\\x22"\n"\\x1f\\x8b"\n' >> "$dict"
fi

echo "== fuzzing $target for $seconds s (corpus $work/corpus-$target, crashes in $work/artifacts)" >&2
# -timeout: an input that takes more than 10 s is a hang; -rss_limit_mb: a memory blow-up.
exec nice -n 10 "$bin" "$work/corpus-$target" "$seeds" \
    -dict="$dict" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$work/artifacts/$target-" -print_final_stats=1 "$@"
