import SpacerCore

/// `spacer-delta`: Spacer-Δ (Gain et al., "Efficient Versioning for Unikernels", CLOUD 2025),
/// reimplemented correctly where the public prototype is not (reference/spacer-delta-prototype.md §9).
///
/// Per library, versions in the workload oldest first. Region 1 holds the first version whole;
/// region k holds only the bodies of version k that no earlier region holds (new or modified
/// bodies, matched by body: hash *and* relocation targets, so same-size edits, callee or data
/// changes and modified static functions are caught; reverts and renames reuse the old copy).
/// Each region is page-aligned at one address in every image; image vN maps regions 1..N,
/// including dead old copies. A relocation of a region's code whose target resolves to different
/// addresses in the images that map the region is sent through that region's trampoline table:
/// one slot per distinct (target, addend), at one fixed address, so the code bytes stay
/// identical and only table pages differ. Tables are private to each image unless
/// `shared-tables=true` keys their pages by content.
public struct SpacerDeltaStrategy: PlacementStrategy {
    public static let name = "spacer-delta"
    public static let summary = "Spacer-Δ: first version whole, then page-aligned delta regions of new bodies; trampolines for moved targets"
    public static let parameters = [
        ParameterSpec("slot-size", .int, default: "16", help: "bytes per trampoline slot (8..64)"),
        ParameterSpec("shared-tables", .bool, default: "false", help: "key trampoline pages by content so images whose slots agree share them"),
        ParameterSpec("map-used-only", .bool, default: "false", help: "map only the pages that hold an entry the image uses (dead old copies' pages stay unmapped)"),
    ]
    let slotSize: Int
    let sharedTables: Bool
    let mapUsedOnly: Bool
    public init(parameters: StrategyParameters) throws {
        mapUsedOnly = parameters.bool("map-used-only")
        slotSize = parameters.int("slot-size")
        guard (8...64).contains(slotSize) else { throw SpacerError.usage("spacer-delta: slot-size must be 8..64, found \(slotSize)") }
        sharedTables = parameters.bool("shared-tables")
    }

    /// One delta region of one library: the copies it holds.
    struct DeltaRegion {
        var library: String
        var table: Int                  // the version that introduced the region
        var copies: [(entry: Int, address: UInt64)] = []
        var firstCopy = 0               // global index of copies[0] (copies are numbered per library run)
        var images: [Int] = []          // images that map it, ascending
        var regions: [Region] = []
    }

    /// - Complexity: O(B + Σ_i (E_i + C_i) + Σ_i Σ_{d mapped by i} F_d + S · I) for B body
    ///   instances, E_i own entries and C_i copies of the regions image i maps, F_d relocation
    ///   fields of region d, S symbols and I images (one dense resolver per image, built once).
    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        let ps = context.pageSize
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let users = w.libraries.map { lib in w.images.filter { $0.tables.contains { w.tables[$0].library == lib } }.count }
        let libs = w.libraries.indices.sorted { (users[$0], -$0) > (users[$1], -$1) }.map { w.libraries[$0] }

        var deltas: [DeltaRegion] = []
        var roCursor = AddressMap.codeBase
        var rwCursor = AddressMap.writableBase
        // Per body instance (dense ids): the address of its copy and the copy's global number.
        var placedAddress = [UInt64](repeating: ImageLayout.removed, count: w.bodyInstanceCount)
        var placedCopy = [Int](repeating: -1, count: w.bodyInstanceCount)
        var copyCount = 0
        var usedBy = [Int](repeating: -1, count: 0)   // copy number -> last image that holds it as its own
        for lib in libs {
            let versions = w.versions(of: lib)
            var libDeltas: [Int] = []
            for (j, t) in versions.enumerated() {
                var region = DeltaRegion(library: lib, table: t, firstCopy: copyCount)
                let table = w.tables[t]
                let ids = w.bodyInstanceIDs[t]
                for (zone, kinds) in [(0, [EntryKind.function, .rodata]), (1, [.data, .bss])] {
                    let start = alignUp(zone == 0 ? roCursor : rwCursor, ps)
                    var c = start
                    for kind in kinds {
                        for (e, entry) in table.entries.enumerated() where entry.kind == kind && placedCopy[Int(ids[e])] < 0 {
                            c = alignUp(c, entry.align)
                            placedAddress[Int(ids[e])] = c
                            placedCopy[Int(ids[e])] = copyCount + region.copies.count
                            region.copies.append((e, c))
                            c += UInt64(entry.size)
                        }
                    }
                    if c > start {
                        region.regions.append(Region(name: "\(zone == 0 ? "delta" : "data"):\(lib)@\(table.version)", start: start, size: c - start, pageAligned: true))
                    }
                    if zone == 0 { roCursor = c } else { rwCursor = c }
                }
                copyCount += region.copies.count
                // Images holding version j or later map this region.
                region.images = w.images.indices.filter { i in
                    w.images[i].tables.contains { versions.firstIndex(of: $0).map { $0 >= j } ?? false }
                }
                libDeltas.append(deltas.count)
                deltas.append(region)
            }
            usedBy += [Int](repeating: -1, count: copyCount - usedBy.count)
            // Own entries of every image: the copy of their body instance; the other copies of the
            // regions it maps stay mapped as dead copies.
            for (i, img) in w.images.enumerated() {
                guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { continue }
                let t = img.tables[k]
                for (e, b) in w.bodyInstanceIDs[t].enumerated() {
                    layouts[i].addresses[k][e] = placedAddress[Int(b)]
                    usedBy[placedCopy[Int(b)]] = i
                }
                let j = versions.firstIndex(of: t)!
                for r in libDeltas[...j] {
                    layouts[i].regions += deltas[r].regions
                    for (n, c) in deltas[r].copies.enumerated() where usedBy[deltas[r].firstCopy + n] != i {
                        layouts[i].extraCopies.append(PlacedCopy(table: deltas[r].table, entry: c.entry, address: c.address))
                    }
                }
            }
        }

        if mapUsedOnly {
            for i in w.images.indices { layouts[i] = Self.unmapDeadPages(w, image: i, layouts[i], pageSize: ps) }
        }

        // Trampolines: a field of shared code whose target differs between the images that map it.
        // Fields of each shared region, in copy then relocation order (ascending addresses).
        struct Fields { var address: [UInt64] = []; var symbol: [Int32] = []; var addend: [Int64] = []; var first: [UInt64] = []; var differs: [Bool] = [] }
        var fields = [Fields](repeating: Fields(), count: deltas.count)
        var mapped = [[Int]](repeating: [], count: w.images.count)   // image -> shared regions it maps
        for (r, d) in deltas.enumerated() where d.images.count >= 2 {
            for c in d.copies {
                let targets = w.targetSymbols[d.table][c.entry]
                for (n, rel) in w.tables[d.table].entries[c.entry].relocations.enumerated() {
                    fields[r].address.append(c.address + UInt64(rel.offset))
                    fields[r].symbol.append(targets[n]); fields[r].addend.append(rel.addend)
                }
            }
            fields[r].differs = [Bool](repeating: false, count: fields[r].address.count)
            for i in d.images { mapped[i].append(r) }
        }
        // One resolver at a time: the first image that maps a region fixes the reference values,
        // every later one marks the fields whose target it resolves elsewhere.
        for i in w.images.indices where !mapped[i].isEmpty {
            let resolver = SymbolResolver(workload: w, image: i, layout: layouts[i])
            for r in mapped[i] {
                if deltas[r].images[0] == i {
                    fields[r].first = fields[r].symbol.map { resolver.resolve($0) }
                } else {
                    fields[r].symbol.withUnsafeBufferPointer { sym in
                        for k in sym.indices where !fields[r].differs[k] && resolver.resolve(sym[k]) != fields[r].first[k] {
                            fields[r].differs[k] = true
                        }
                    }
                }
            }
        }
        var tableCursor = max(AddressMap.trampolineBase, alignUp(roCursor, ps))
        for (r, d) in deltas.enumerated() where d.images.count >= 2 {
            var slotOf: [TrampolineSlot: Int] = [:]
            var slots: [TrampolineSlot] = []
            var runFields: [UInt64] = [], runSlot: [Int] = []
            let f = fields[r]
            for k in f.address.indices where f.differs[k] {
                let slot = TrampolineSlot(target: f.symbol[k], addend: f.addend[k])
                let n: Int
                if let x = slotOf[slot] { n = x } else { n = slots.count; slotOf[slot] = n; slots.append(slot) }
                if runFields.last == f.address[k] { runSlot[runSlot.count - 1] = n; continue }   // one field, last wins
                runFields.append(f.address[k]); runSlot.append(n)
            }
            guard !slots.isEmpty else { continue }
            let base = alignUp(tableCursor, ps)
            let reserved = Int(alignUp(UInt64(slots.count * slotSize), ps))
            tableCursor = base + UInt64(reserved)
            let tt = TrampolineTable(address: base, slotSize: slotSize, slots: slots, reservedBytes: reserved, contentKeyed: sharedTables)
            if zip(runFields, runFields.dropFirst()).contains(where: { $0 >= $1 }) {     // never for feasible copies
                let order = runFields.indices.sorted { runFields[$0] < runFields[$1] }
                runFields = order.map { runFields[$0] }; runSlot = order.map { runSlot[$0] }
            }
            let run = RedirectMap.Run(fields: runFields, slots: runSlot.map { base + UInt64($0 * slotSize) })
            let region = Region(name: "ind:\(d.library)@\(w.tables[d.table].version)", start: base, size: UInt64(reserved), pageAligned: true)
            for i in d.images {
                layouts[i].trampolines.append(tt)
                layouts[i].regions.append(region)
                layouts[i].redirects.add(run)
            }
        }
        return PlacementResult(layouts: layouts)
    }

    /// Issue 7 refinement (a): keep mapped only the pages that hold an entry image `i` uses, plus
    /// whole dead copies that touch such a page (their bytes are in the file either way). Regions
    /// become runs of kept pages. Address-space holes are fine.
    static func unmapDeadPages(_ w: Workload, image i: Int, _ layout: ImageLayout, pageSize: Int) -> ImageLayout {
        var l = layout
        let ps = UInt64(pageSize)
        var pages = Set<UInt64>()
        func pagesOf(_ start: UInt64, _ size: Int) -> ClosedRange<UInt64> { (start / ps)...((start + UInt64(size) - 1) / ps) }
        for (k, t) in w.images[i].tables.enumerated() {
            for (e, a) in l.addresses[k].enumerated() where a != ImageLayout.removed {
                for p in pagesOf(a, w.tables[t].entries[e].size) { pages.insert(p) }
            }
        }
        var kept: [PlacedCopy] = []
        var rest = l.extraCopies
        var changed = true
        while changed {
            changed = false
            var next: [PlacedCopy] = []
            for c in rest {
                let r = pagesOf(c.address, w.tables[c.table].entries[c.entry].size)
                if r.contains(where: { pages.contains($0) }) {
                    kept.append(c); changed = true
                    for p in r { pages.insert(p) }
                } else { next.append(c) }
            }
            rest = next
        }
        l.extraCopies = kept.sorted { $0.address < $1.address }
        let sorted = pages.sorted()
        var regions = l.regions.filter { $0.name.hasPrefix("ind:") }
        var j = 0
        while j < sorted.count {
            var end = j
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            regions.append(Region(name: "used", start: sorted[j] * ps, size: UInt64(end - j + 1) * ps, pageAligned: true))
            j = end + 1
        }
        l.regions = regions
        return l
    }
}
