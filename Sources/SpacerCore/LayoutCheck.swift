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
        /// Whether the piece is an extra copy (`ImageLayout.extraCopies`: mapped, never run).
        public var extra: Bool = false
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
            out.append(Piece(start: c.address, size: workload.tables[c.table].entries[c.entry].size, table: c.table, entry: c.entry, extra: true))
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
    /// `allowRemoval`; every address a multiple of the entry's alignment; every piece inside a
    /// zone its kind may use (`zoneError`); no two pieces overlap;
    /// every piece inside a region; regions that claim page alignment start on a page boundary;
    /// no trampoline table holds more slots than it reserves bytes for; every redirect is sound
    /// (see `redirectProblems`).
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
    /// - Parameters:
    ///   - pieces: `pieces(workload:image:layout:)` if the caller has them already.
    ///   - redirects: `layout.redirects.sorted()` if the caller has it already.
    /// - Complexity: O(E + P log P + G log G + Σ runs) for E entries, P pieces, G regions and the
    ///   redirect runs (a run is checked by its smallest and largest slot when both fall in one table).
    public static func problems(workload: Workload, image i: Int, layout l: ImageLayout, pieces given: [Piece]?,
                                redirects: (fields: [UInt64], slots: [UInt64])? = nil,
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
        if let e = zoneError(workload: workload, image: i, pieces: ps, pageSize: pageSize) { add(e.description) }
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
        for p in redirectProblems(workload: workload, image: i, layout: l, pieces: ps, redirects: redirects) { add(p) }
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
    /// - **canonical stub**: `S` is the start of a slot with `TrampolineSlot.canonicalStub` that
    ///   leads to the field's own target with addend −4 (its `jmp` lands on the function), and the
    ///   field takes that function's address as a value: an absolute relocation (`abs64`, `abs32`,
    ///   `abs32s`) with addend 0. The field then holds the stub's address, which stands for the
    ///   function's in this image. Pointer equality: when any live field of the image takes a
    ///   function's address through a stub, every live field that takes its address (every field
    ///   to it that is no direct branch, `RelocationField.slottable` false) goes through that one
    ///   stub; otherwise `&f` would differ between two places of the program. (A dead copy's
    ///   field pinned to a stub's address is a pin.)
    /// Any other redirect (a data reference or a function address taken as a value sent through a
    /// jump slot, a redirect of a live entry to an arbitrary address, a key that is no relocation
    /// field) would change what the program does, and is refused.
    ///
    /// - Parameter pieces: `pieces(workload:image:layout:)` if the caller has them already.
    /// - Complexity: O(R + P + R log(F + T)) for R redirects, P pieces, F relocations of an entry
    ///   and T trampoline tables: redirects (ascending) and pieces are walked together.
    public static func redirectProblems(workload: Workload, image: Int, layout l: ImageLayout, pieces given: [Piece]? = nil,
                                        redirects sortedGiven: (fields: [UInt64], slots: [UInt64])? = nil) -> [String] {
        guard !l.redirects.isEmpty else { return [] }
        let ps = given ?? pieces(workload: workload, image: image, layout: l)
        let name = workload.images[image].name
        // Trampoline tables by address (overlapping tables are reported as overlapping pieces).
        let tables = l.trampolines.sorted { $0.address < $1.address }
        var last = -1                 // the table found for the previous redirect
        let ends = tables.map { $0.address + UInt64(max($0.reservedBytes, $0.slots.count * $0.slotSize)) }
        let lowest = tables.first?.address ?? 0, highest = ends.max() ?? 0
        /// Index into `tables` of the table holding `S`, or nil.
        func table(_ S: UInt64) -> Int? {
            guard S >= lowest && S < highest else { return nil }     // pins point far from the tables
            func holds(_ k: Int) -> Bool { S >= tables[k].address && S < ends[k] }
            if last >= 0 && holds(last) { return last }
            var lo = 0, hi = tables.count
            while lo < hi { let m = (lo + hi) / 2; if tables[m].address <= S { lo = m + 1 } else { hi = m } }
            guard lo > 0, holds(lo - 1) else { return nil }
            last = lo - 1
            return last
        }
        // Whether an own (run) entry starts at piece j's address: own pieces at one address sit
        // next to each other in the sorted pieces.
        func ownAt(_ j: Int) -> Bool {
            var k = j
            while k >= 0 && ps[k].start == ps[j].start { if ps[k].table >= 0 && !ps[k].extra { return true }; k -= 1 }
            k = j + 1
            while k < ps.count && ps[k].start == ps[j].start { if ps[k].table >= 0 && !ps[k].extra { return true }; k += 1 }
            return false
        }
        var out: [String] = []
        let (fields, targets) = sortedGiven ?? l.redirects.sorted()
        var cur = 0                   // last piece starting at or before the field
        var relocsOf = -1             // piece whose relocation fields are `allRelocs[relocAt..<relocEnd]`
        let allRelocs = workload.flatRelocations, relocStart = workload.flatRelocationStart, entryBase = workload.entryBase
        var relocAt = 0, relocEnd = 0, relocFirst = 0   // fields of one piece come in ascending order: a cursor
        var stubOf: [Int32: UInt64] = [:]                 // function -> its canonical stub in this image
        for (field, S) in zip(fields, targets) {
            func hex() -> String { "0x" + String(field, radix: 16) }
            while cur + 1 < ps.count && ps[cur + 1].start <= field { cur += 1 }
            var j = ps.isEmpty || ps[cur].start > field ? -1 : cur
            while j >= 0 && (ps[j].table < 0 || ps[j].size == 0) { j -= 1 }
            guard j >= 0, field < ps[j].end, ps[j].table >= 0 else {
                out.append("image \(name): redirect of \(hex()) lies in no placed entry"); continue
            }
            let p = ps[j]
            if relocsOf != j {
                let f = entryBase[p.table] + p.entry
                relocAt = relocStart[f]; relocFirst = relocAt; relocEnd = relocStart[f + 1]; relocsOf = j
            }
            let offset = field - p.start
            var lo = relocAt
            while lo < relocEnd && UInt64(allRelocs[lo].offset) < offset { lo += 1 }
            relocAt = lo
            guard lo < relocEnd, UInt64(allRelocs[lo].offset) == offset else {
                out.append("image \(name): redirect of \(hex()) is not a relocation field of \(workload.tables[p.table].entries[p.entry].name)"); continue
            }
            let r = lo - relocFirst, rel = allRelocs[lo]
            if let k = table(S) {
                let off = Int(S - tables[k].address), slotSize = tables[k].slotSize
                guard slotSize > 0, off % slotSize == 0, off / slotSize < tables[k].slots.count else {
                    out.append("image \(name): \(workload.tables[p.table].entries[p.entry].name) field \(hex()) is redirected to 0x\(String(S, radix: 16)), not the start of a used slot"); continue
                }
                if !rel.slottable && tables[k].slots[off / slotSize].canonicalStub {
                    if p.extra && !ownAt(j) { continue }           // a pin of a dead copy
                    let slot = tables[k].slots[off / slotSize]
                    guard slot.target == rel.target, slot.addend == -4, !rel.pcRelative, rel.width >= 4, rel.addend == 0 else {
                        let rl = workload.tables[p.table].entries[p.entry].relocations[r]
                        out.append("image \(name): \(workload.tables[p.table].entries[p.entry].name) field \(hex()) (\(rl.type.rawValue) \(rl.target)\(rl.addend >= 0 ? "+" : "")\(rl.addend)) goes through the canonical stub of \(workload.symbolNames[Int(slot.target)]) (addend \(slot.addend)), but only an absolute reference to that function with addend 0 may use a stub that lands on it")
                        continue
                    }
                    if let s0 = stubOf[rel.target], s0 != S {
                        out.append("image \(name): \(workload.symbolNames[Int(rel.target)]) has two canonical stubs, 0x\(String(s0, radix: 16)) and 0x\(String(S, radix: 16)): its address would not compare equal")
                    }
                    stubOf[rel.target] = S
                    continue
                }
                guard rel.slottable else {
                    let rl = workload.tables[p.table].entries[p.entry].relocations[r]
                    out.append("image \(name): \(workload.tables[p.table].entries[p.entry].name) field \(hex()) (\(rl.type.rawValue) \(rl.target)\(rl.addend >= 0 ? "+" : "")\(rl.addend)) goes through a jump slot but is no direct branch to a function; only calls and jumps may use slots")
                    continue
                }
                let slot = tables[k].slots[off / slotSize]
                if slot.target != rel.target || slot.addend != rel.addend {
                    out.append("image \(name): \(workload.tables[p.table].entries[p.entry].name) field \(hex()) goes through a slot that leads to \(workload.symbolNames[Int(slot.target)]), not to \(workload.tables[p.table].entries[p.entry].relocations[r].target)")
                }
            } else if !p.extra || ownAt(j) {
                out.append("image \(name): \(workload.tables[p.table].entries[p.entry].name) field \(hex()) is pinned to 0x\(String(S, radix: 16)), but only dead extra copies may be pinned (the image runs this entry)")
            }
        }
        if !stubOf.isEmpty { out += stubEqualityProblems(workload: workload, image: image, pieces: ps, stubOf: stubOf, fields: fields, targets: targets) }
        return out
    }

    /// The pointer-equality rule of canonical stubs (see `redirectProblems`): every live field
    /// that takes the address of a function in `stubOf` (no direct branch) is redirected to that
    /// function's stub.
    /// - Complexity: O(R log F) for R relocations of the image's live pieces and F redirects.
    static func stubEqualityProblems(workload w: Workload, image: Int, pieces ps: [Piece], stubOf: [Int32: UInt64],
                                     fields: [UInt64], targets: [UInt64]) -> [String] {
        var out: [String] = []
        for p in ps where p.table >= 0 && !p.extra && p.size > 0 {
            let f = w.entryBase[p.table] + p.entry
            for r in w.flatRelocationStart[f]..<w.flatRelocationStart[f + 1] {
                let rel = w.flatRelocations[r]
                guard !rel.slottable, let stub = stubOf[rel.target] else { continue }
                let field = p.start + UInt64(rel.offset)
                var lo = 0, hi = fields.count
                while lo < hi { let m = (lo + hi) / 2; if fields[m] < field { lo = m + 1 } else { hi = m } }
                if !(lo < fields.count && fields[lo] == field && targets[lo] == stub) {
                    let x = w.tables[p.table].entries[p.entry]
                    let rl = x.relocations[r - w.flatRelocationStart[f]]
                    out.append("image \(w.images[image].name): \(x.name) field 0x\(String(field, radix: 16)) (\(rl.type.rawValue) \(rl.target)\(rl.addend >= 0 ? "+" : "")\(rl.addend)) takes the address of \(w.symbolNames[Int(rel.target)]) without its canonical stub at 0x\(String(stub, radix: 16)), which other fields of the image use: the two addresses would not compare equal")
                }
            }
        }
        return out
    }

    private static func describe(_ p: Piece, _ w: Workload) -> String {
        p.table < 0 ? "trampoline table \(p.entry)" : "\(w.tables[p.table].library) \(w.tables[p.table].version) \(w.tables[p.table].entries[p.entry].name)"
    }
}
