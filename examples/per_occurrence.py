#!/usr/bin/env python3
"""A spacer-sim external strategy: per-occurrence placement in Python (standard library only).

    spacer-sim compare --strategies 'default,external[cmd=python3 examples/per_occurrence.py]'

Reads the workload JSON on stdin (docs/formats.md, "External strategy input"), writes a layout
file on stdout (docs/formats.md, "Layout file"). The rule is the built-in `per-occurrence`'s:
body instances grouped by the set of images that hold them; groups held by several images first,
by falling image count (ties: first appearance), each starting on a page boundary at one address
in every image; then the bodies of one image, packed per image from one common address. Code,
read-only data and writable data (data and bss) each in their own zone.
"""
import csv
import json
import sys


def align_up(x, a):
    return (x + a - 1) // a * a


def place_zone(w, kinds, start, addr, regions, name):
    ps = w["page_size"]
    holders, sites, order = {}, {}, []  # body instance -> images, (image, k, e) sites; first-seen order
    for i, img in enumerate(w["images"]):
        for k, t in enumerate(img["tables"]):
            for e in w["tables"][t]["entries"]:
                if e["kind"] not in kinds:
                    continue
                b = e["body_instance"]
                if b not in holders:
                    holders[b], sites[b] = [], []
                    order.append((b, e["size"], e["align"]))
                if not holders[b] or holders[b][-1] != i:
                    holders[b].append(i)
                sites[b].append((i, k, e["index"]))
    groups = {}  # image set -> bodies, in first-appearance order (dicts keep insertion order)
    for b, size, al in order:
        groups.setdefault(tuple(holders[b]), []).append((b, size, al))
    keys = list(groups)
    shared = sorted((s for s in keys if len(s) >= 2), key=lambda s: (-len(s), keys.index(s)))
    cursor = start
    for sig in shared:
        c = g0 = align_up(cursor, ps)
        for b, size, al in groups[sig]:
            c = align_up(c, al)
            for i, k, e in sites[b]:
                addr[i][k][e] = c
            c += size
        for i in sig:
            regions[i].append((name + ":shared", g0, c - g0))
        cursor = c
    own = align_up(cursor, ps)
    ends = [own] * len(w["images"])
    for sig in (s for s in keys if len(s) == 1):
        i = sig[0]
        for b, size, al in groups[sig]:
            ends[i] = align_up(ends[i], al)
            for ii, k, e in sites[b]:
                addr[ii][k][e] = ends[i]
            ends[i] += size
    for i, end in enumerate(ends):
        if end > own:
            regions[i].append((name + ":own", own, end - own))


def main():
    w = json.load(sys.stdin)
    amap = w["address_map"]
    addr = [[[None] * len(w["tables"][t]["entries"]) for t in img["tables"]] for img in w["images"]]
    regions = [[] for _ in w["images"]]
    place_zone(w, {"func"}, amap["code_start"], addr, regions, "code")
    place_zone(w, {"rodata"}, amap["rodata_base"], addr, regions, "rodata")
    place_zone(w, {"data", "bss"}, amap["writable_base"], addr, regions, "data")
    out = sys.stdout
    out.write("# spacer-sim layout 1\n# strategy: per_occurrence.py\n# params: \n")
    out.write("# page_size: %d\n# removes_entries: false\n" % w["page_size"])
    rows = csv.writer(out, lineterminator="\n")
    rows.writerow("record image library version entry name object kind size address to table slot slot_size addend flags".split())
    for i, img in enumerate(w["images"]):
        rows.writerow(["image", img["name"]] + [""] * 14)
        for k, t in enumerate(img["tables"]):
            table = w["tables"][t]
            for e in table["entries"]:
                rows.writerow(["entry", img["name"], table["library"], table["version"], e["index"], e["name"], e["object"],
                               e["kind"], e["size"], hex(addr[i][k][e["index"]])] + [""] * 6)
        for name, start, size in regions[i]:
            rows.writerow(["region", img["name"], "", "", "", name, "", "", size, hex(start), "", "", "", "", "", "page-aligned"])


if __name__ == "__main__":
    main()
