#!/usr/bin/env python3
"""REFERENCE ONLY: a straightforward page hasher, to check `spacer-sim measure` and to time it.

Not part of spacer-sim. Reads linked ELF64 executables, cuts every PT_LOAD segment into 4096-byte
pages by virtual address (bytes no segment's file part covers are zero; a page is writable when a
writable segment overlaps it; where segments overlap, the later one in the program header table
wins for every byte of its [p_vaddr, p_vaddr + p_memsz), its file bytes then zeros, as the kernel
maps them), hashes each page with SHA-256 and counts, as `measure` does under
KSM with max_page_sharing 256: total_pages, frames, pages_shared, pages_sharing, sharing_pct,
zero_pages. Usage: measure_pages.py [--range LO-HI] ELF...
"""
import hashlib
import struct
import sys

PAGE = 4096
CAP = 256


def pages(path, ranges):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"{path}: not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    content, writable = {}, {}
    for k in range(phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + k * phentsize)
        if p_type != 1 or p_memsz == 0:
            continue
        first, last = p_vaddr // PAGE, (p_vaddr + p_memsz - 1) // PAGE
        for n in range(first, last + 1):
            page = content.setdefault(n, bytearray(PAGE))
            writable[n] = writable.get(n, False) or bool(p_flags & 2)
            lo, hi = max(n * PAGE, p_vaddr), min((n + 1) * PAGE, p_vaddr + p_memsz)
            page[lo - n * PAGE:hi - n * PAGE] = bytes(hi - lo)  # this segment's zero tail replaces earlier bytes
            fhi = min(hi, p_vaddr + p_filesz)
            if lo < fhi:
                page[lo - n * PAGE:fhi - n * PAGE] = data[p_offset + lo - p_vaddr:p_offset + fhi - p_vaddr]
    for n in sorted(content):
        if ranges and not any(a <= n * PAGE < b for a, b in ranges):
            continue
        yield bytes(content[n]), writable[n]


def main(argv):
    ranges, files = [], []
    it = iter(argv)
    for a in it:
        if a == "--range":
            lo, hi = next(it).split("-")
            ranges.append((int(lo, 0), int(hi, 0)))
        else:
            files.append(a)
    counts, total, zero = {}, 0, 0
    for f in files:
        for page, w in pages(f, ranges):
            total += 1
            if not any(page):
                zero += 1
            key = (hashlib.sha256(page).digest(), w)
            counts[key] = counts.get(key, 0) + 1
    frames = sum((c - 1) // CAP + 1 for c in counts.values())
    shared = sum(1 for c in counts.values() if c >= 2)
    sharing = sum(c for c in counts.values() if c >= 2)
    pct = 100 * sharing / total if total else 0
    print("total_pages,frames,pages_shared,pages_sharing,sharing_pct,zero_pages")
    print(f"{total},{frames},{shared},{sharing},{pct:.3f},{zero}")


if __name__ == "__main__":
    main(sys.argv[1:])
