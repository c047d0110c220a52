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
    /// every redirect points into one of the image's trampoline tables.
    /// - Returns: at most `limit` messages, each naming the image.
    public static func problems(workload: Workload, layouts: [ImageLayout], pageSize: Int,
                                allowRemoval: Bool = false, limit: Int = 20) -> [String] {
        guard layouts.count == workload.images.count else {
            return ["\(layouts.count) layouts for \(workload.images.count) images"]
        }
        var out: [String] = []
        for i in workload.images.indices where out.count < limit {
            out += problems(workload: workload, image: i, layout: layouts[i], pieces: nil, pageSize: pageSize,
                            allowRemoval: allowRemoval, limit: limit - out.count)
        }
        return out
    }

    /// The problems of one image's layout (see `problems(workload:layouts:pageSize:allowRemoval:limit:)`).
    /// - Parameter pieces: `pieces(workload:image:layout:)` if the caller has them already.
    /// - Complexity: O(E + P log P + G log G + Σ runs) for E entries, P pieces, G regions and the
    ///   redirect runs (a run is checked by its smallest and largest slot when both fall in one table).
    public static func problems(workload: Workload, image i: Int, layout l: ImageLayout, pieces given: [Piece]?,
                                pageSize: Int, allowRemoval: Bool = false, limit: Int = 20) -> [String] {
        var out: [String] = []
        func add(_ s: String) { if out.count < limit { out.append(s) } }
        let image = workload.images[i]
        guard l.addresses.count == image.tables.count else {
            return ["image \(image.name): \(l.addresses.count) address lists for \(image.tables.count) tables"]
        }
        var shapeOK = true
        for (k, t) in image.tables.enumerated() {
            let entries = workload.tables[t].entries
            guard l.addresses[k].count == entries.count else {
                shapeOK = false
                add("image \(image.name): \(l.addresses[k].count) addresses for \(entries.count) entries of \(workload.tables[t].library) \(workload.tables[t].version)"); continue
            }
            for (e, a) in l.addresses[k].enumerated() {
                if a == ImageLayout.removed {
                    if !allowRemoval { add("image \(image.name): \(workload.tables[t].library) \(workload.tables[t].version) \(entries[e].name) is not placed") }
                } else if a % UInt64(entries[e].align) != 0 {
                    add("image \(image.name): \(entries[e].name) at 0x\(String(a, radix: 16)) breaks its alignment \(entries[e].align)")
                }
            }
        }
        guard shapeOK else { return out }      // pieces need one address per entry
        for r in l.regions where r.pageAligned && r.start % UInt64(pageSize) != 0 {
            add("image \(image.name): region \(r.name) claims page alignment but starts at 0x\(String(r.start, radix: 16))")
        }
        let ps = given ?? pieces(workload: workload, image: i, layout: l)
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
        // Redirects: every slot inside one of the image's trampoline tables.
        let tables = l.trampolines.map { ($0.address, $0.address + UInt64(max($0.reservedBytes, $0.slots.count * $0.slotSize))) }
            .sorted { $0.0 < $1.0 }
        func table(_ slot: UInt64) -> Int? {
            var lo = 0, hi = tables.count
            while lo < hi { let mid = (lo + hi) / 2; if tables[mid].1 <= slot { lo = mid + 1 } else { hi = mid } }
            return lo < tables.count && tables[lo].0 <= slot ? lo : nil
        }
        func bad(_ field: UInt64, _ slot: UInt64) {
            add("image \(image.name): field 0x\(String(field, radix: 16)) is redirected to 0x\(String(slot, radix: 16)), outside every trampoline table")
        }
        for run in l.redirects.runs {
            let lo = run.slots.min()!, hi = run.slots.max()!
            if let a = table(lo), table(hi) == a { continue }
            for (f, s) in zip(run.fields, run.slots) where table(s) == nil { bad(f, s) }
        }
        for (f, s) in l.redirects.singles where table(s) == nil { bad(f, s) }
        return out
    }

    private static func describe(_ p: Piece, _ w: Workload) -> String {
        p.table < 0 ? "trampoline table \(p.entry)" : "\(w.tables[p.table].library) \(w.tables[p.table].version) \(w.tables[p.table].entries[p.entry].name)"
    }
}
