/// Feasibility checks every layout must pass, whatever strategy made it: the simulator refuses
/// layouts that fail them and the conformance suite asserts them for every registered strategy.
public enum LayoutCheck {
    /// One mapped piece of an image, for overlap checks and page walks.
    public struct Piece: Sendable {
        public var start: UInt64
        public var size: Int
        /// Table index, or -1 for a trampoline table.
        public var table: Int
        /// Entry index, or the trampoline table index.
        public var entry: Int
        public var end: UInt64 { start + UInt64(size) }
    }

    /// Every mapped piece of image `image` (own entries, extra copies, trampoline tables), sorted
    /// by start address.
    public static func pieces(workload: Workload, image: Int, layout: ImageLayout) -> [Piece] {
        var out: [Piece] = []
        for (k, t) in workload.images[image].tables.enumerated() {
            let entries = workload.tables[t].entries
            for (e, a) in layout.addresses[k].enumerated() where a != ImageLayout.removed {
                out.append(Piece(start: a, size: entries[e].size, table: t, entry: e))
            }
        }
        for c in layout.extraCopies {
            out.append(Piece(start: c.address, size: workload.tables[c.table].entries[c.entry].size, table: c.table, entry: c.entry))
        }
        for (i, tt) in layout.trampolines.enumerated() {
            out.append(Piece(start: tt.address, size: max(tt.reservedBytes, tt.slots.count * tt.slotSize), table: -1, entry: i))
        }
        out.sort { ($0.start, $0.table, $0.entry) < ($1.start, $1.table, $1.entry) }
        return out
    }

    /// The problems of `layouts` (empty when feasible).
    ///
    /// Checks: one layout per image with one address slot per entry; entries unplaced only when
    /// `allowRemoval`; every address a multiple of the entry's alignment; no two pieces overlap;
    /// every piece inside a region; regions that claim page alignment start on a page boundary;
    /// no trampoline table holds more slots than it reserves bytes for; every redirect is sound
    /// (see `redirectProblems`).
    public static func problems(workload: Workload, layouts: [ImageLayout], pageSize: Int,
                                allowRemoval: Bool = false, limit: Int = 20) -> [String] {
        var out: [String] = []
        func add(_ s: String) { if out.count < limit { out.append(s) } }
        guard layouts.count == workload.images.count else {
            return ["\(layouts.count) layouts for \(workload.images.count) images"]
        }
        for (i, image) in workload.images.enumerated() {
            let l = layouts[i]
            guard l.addresses.count == image.tables.count else { add("image \(image.name): \(l.addresses.count) address lists for \(image.tables.count) tables"); continue }
            for (k, t) in image.tables.enumerated() {
                let table = workload.tables[t]
                guard l.addresses[k].count == table.entries.count else {
                    add("image \(image.name): \(l.addresses[k].count) addresses for \(table.entries.count) entries of \(table.library) \(table.version)"); continue
                }
                for (e, a) in l.addresses[k].enumerated() {
                    let entry = table.entries[e]
                    if a == ImageLayout.removed {
                        if !allowRemoval { add("image \(image.name): \(table.library) \(table.version) \(entry.name) is not placed") }
                    } else if a % UInt64(entry.align) != 0 {
                        add("image \(image.name): \(entry.name) at 0x\(String(a, radix: 16)) breaks its alignment \(entry.align)")
                    }
                }
            }
            for r in l.regions where r.pageAligned && r.start % UInt64(pageSize) != 0 {
                add("image \(image.name): region \(r.name) claims page alignment but starts at 0x\(String(r.start, radix: 16))")
            }
            let ps = pieces(workload: workload, image: i, layout: l)
            for j in ps.indices.dropFirst() where ps[j].start < ps[j - 1].end && ps[j - 1].size > 0 && ps[j].size > 0 {
                add("image \(image.name): \(describe(ps[j - 1], workload)) and \(describe(ps[j], workload)) overlap at 0x\(String(ps[j].start, radix: 16))")
            }
            let regions = l.regions.sorted { $0.start < $1.start }
            var ri = 0
            for p in ps where p.size > 0 {
                while ri < regions.count && regions[ri].end <= p.start { ri += 1 }
                // A piece must fit in one region, or a run of touching regions.
                var covered = p.start, r = ri
                while covered < p.end && r < regions.count && regions[r].start <= covered { covered = max(covered, regions[r].end); r += 1 }
                if covered < p.end { add("image \(image.name): \(describe(p, workload)) lies outside every mapped region") }
            }
            for (n, tt) in l.trampolines.enumerated() where tt.slots.count * tt.slotSize > tt.reservedBytes || tt.slotSize < 1 {
                add("image \(image.name): trampoline table \(n) at 0x\(String(tt.address, radix: 16)) overflows: \(tt.slots.count) slots × \(tt.slotSize) bytes > \(tt.reservedBytes) bytes reserved")
            }
            for p in redirectProblems(workload: workload, image: i, layout: l, pieces: ps) { add(p) }
        }
        return out
    }

    /// The unsound redirects of image `image` (empty when every redirect is sound).
    ///
    /// A redirect (field address → `S`) makes a relocation field resolve against `S` instead of
    /// its target. It is sound in two cases only:
    /// - **slot**: `S` is the start of slot k of one of the image's trampoline tables, the field
    ///   is a relocation of a placed entry that `Workload.isSlottable` allows (a direct branch to
    ///   a function), and slot k leads to that relocation's own target and addend. A branch that
    ///   lands on the slot continues to the same function, so meaning is kept.
    /// - **pin**: the field belongs to an extra copy (`ImageLayout.extraCopies`), dead code the
    ///   image maps but never runs; its value may be anything, and strategies pin it to the value
    ///   the images that run the copy give it, so that the copy's page stays identical.
    /// Any other redirect (a data reference or a function address taken as a value sent through a
    /// jump slot, a redirect of a live entry to an arbitrary address, a key that is no relocation
    /// field) would change what the program does, and is refused.
    public static func redirectProblems(workload: Workload, image: Int, layout l: ImageLayout, pieces ps: [Piece]? = nil) -> [String] {
        guard !l.redirects.isEmpty else { return [] }
        let ps = ps ?? pieces(workload: workload, image: image, layout: l)
        let name = workload.images[image].name
        var own = Set<UInt64>()      // start addresses of the image's own entries
        for (k, _) in workload.images[image].tables.enumerated() {
            for a in l.addresses[k] where a != ImageLayout.removed { own.insert(a) }
        }
        var extra: [UInt64: [PlacedCopy]] = [:]
        for c in l.extraCopies { extra[c.address, default: []].append(c) }
        var out: [String] = []
        for field in l.redirects.keys.sorted() {
            let S = l.redirects[field]!
            let hex = "0x" + String(field, radix: 16)
            // The entry piece holding the field (the last piece starting at or before it).
            var lo = 0, hi = ps.count
            while lo < hi { let m = (lo + hi) / 2; if ps[m].start <= field { lo = m + 1 } else { hi = m } }
            var j = lo - 1
            while j >= 0 && (ps[j].table < 0 || ps[j].size == 0) { j -= 1 }
            guard j >= 0, field < ps[j].end, ps[j].table >= 0 else {
                out.append("image \(name): redirect of \(hex) lies in no placed entry"); continue
            }
            let p = ps[j]
            let entry = workload.tables[p.table].entries[p.entry]
            guard let r = entry.relocations.firstIndex(where: { p.start + UInt64($0.offset) == field }) else {
                out.append("image \(name): redirect of \(hex) is not a relocation field of \(entry.name)"); continue
            }
            if let tt = l.trampolines.first(where: { S >= $0.address && S < $0.address + UInt64(max($0.reservedBytes, $0.slots.count * $0.slotSize)) }) {
                let off = Int(S - tt.address)
                guard tt.slotSize > 0, off % tt.slotSize == 0, off / tt.slotSize < tt.slots.count else {
                    out.append("image \(name): \(entry.name) field \(hex) is redirected to 0x\(String(S, radix: 16)), not the start of a used slot"); continue
                }
                guard workload.isSlottable(table: p.table, entry: p.entry, relocation: r) else {
                    let rel = entry.relocations[r]
                    out.append("image \(name): \(entry.name) field \(hex) (\(rel.type.rawValue) \(rel.target)\(rel.addend >= 0 ? "+" : "")\(rel.addend)) goes through a jump slot but is no direct branch to a function; only calls and jumps may use slots")
                    continue
                }
                let slot = tt.slots[off / tt.slotSize]
                if slot.target != workload.targetSymbols[p.table][p.entry][r] || slot.addend != entry.relocations[r].addend {
                    out.append("image \(name): \(entry.name) field \(hex) goes through a slot that leads to \(workload.symbolNames[Int(slot.target)]), not to \(entry.relocations[r].target)")
                }
            } else {
                let isExtra = extra[p.start]?.contains { $0.table == p.table && $0.entry == p.entry } ?? false
                if !isExtra || own.contains(p.start) {
                    out.append("image \(name): \(entry.name) field \(hex) is pinned to 0x\(String(S, radix: 16)), but only dead extra copies may be pinned (the image runs this entry)")
                }
            }
        }
        return out
    }

    private static func describe(_ p: Piece, _ w: Workload) -> String {
        p.table < 0 ? "trampoline table \(p.entry)" : "\(w.tables[p.table].library) \(w.tables[p.table].version) \(w.tables[p.table].entries[p.entry].name)"
    }
}
