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
        var images: [Int] = []          // images that map it
        var regions: [Region] = []
    }

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        let ps = context.pageSize
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let users = w.libraries.map { lib in w.images.filter { $0.tables.contains { w.tables[$0].library == lib } }.count }
        let libs = w.libraries.indices.sorted { (users[$0], -$0) > (users[$1], -$1) }.map { w.libraries[$0] }

        var deltas: [DeltaRegion] = []
        var roCursor = AddressMap.codeBase
        var rwCursor = AddressMap.writableBase
        for lib in libs {
            let versions = w.versions(of: lib)
            // Address of each placed body instance of this library, with the (table, entry) of its copy.
            var placed: [Int32: (address: UInt64, table: Int, entry: Int, region: Int)] = [:]
            for (j, t) in versions.enumerated() {
                var region = DeltaRegion(library: lib, table: t)
                let table = w.tables[t]
                let ids = w.bodyInstanceIDs[t]
                for (zone, kinds) in [(0, [EntryKind.function, .rodata]), (1, [.data, .bss])] {
                    let start = alignUp(zone == 0 ? roCursor : rwCursor, ps)
                    var c = start
                    for kind in kinds {
                        for (e, entry) in table.entries.enumerated() where entry.kind == kind && placed[ids[e]] == nil {
                            c = alignUp(c, entry.align)
                            placed[ids[e]] = (c, t, e, deltas.count)
                            region.copies.append((e, c))
                            c += UInt64(entry.size)
                        }
                    }
                    if c > start {
                        region.regions.append(Region(name: "\(zone == 0 ? "delta" : "data"):\(lib)@\(table.version)", start: start, size: c - start, pageAligned: true))
                    }
                    if zone == 0 { roCursor = c } else { rwCursor = c }
                }
                // Images holding version j or later map this region.
                region.images = w.images.indices.filter { i in
                    w.images[i].tables.contains { versions.firstIndex(of: $0).map { $0 >= j } ?? false }
                }
                deltas.append(region)
            }
            // Own entries of every image: the copy of their body instance.
            for (i, img) in w.images.enumerated() {
                guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { continue }
                let t = img.tables[k]
                var used = Set<UInt64>()
                for (e, b) in w.bodyInstanceIDs[t].enumerated() {
                    let a = placed[b]!.address
                    layouts[i].addresses[k][e] = a
                    used.insert(a)
                }
                let j = versions.firstIndex(of: t)!
                for r in deltas.indices where deltas[r].library == lib && versions.firstIndex(of: deltas[r].table)! <= j {
                    layouts[i].regions += deltas[r].regions
                    for c in deltas[r].copies where !used.contains(c.address) {
                        layouts[i].extraCopies.append(PlacedCopy(table: deltas[r].table, entry: c.entry, address: c.address))
                    }
                }
            }
        }

        if mapUsedOnly {
            for i in w.images.indices { layouts[i] = Self.unmapDeadPages(w, image: i, layouts[i], pageSize: ps) }
        }

        // Trampolines: a field of shared code whose target differs between the images that map it.
        let resolvers = w.images.indices.map { SymbolResolver(workload: w, image: $0, layout: layouts[$0]) }
        var tableCursor = max(AddressMap.trampolineBase, alignUp(roCursor, ps))
        for d in deltas where d.images.count >= 2 {
            var slotOf: [TrampolineSlot: Int] = [:]
            var slots: [TrampolineSlot] = []
            var fieldSlot: [(UInt64, Int)] = []
            for c in d.copies {
                let entry = w.tables[d.table].entries[c.entry]
                let targets = w.targetSymbols[d.table][c.entry]
                for (r, rel) in entry.relocations.enumerated() {
                    let s = targets[r]
                    let a0 = resolvers[d.images[0]].resolve(s)
                    guard d.images.dropFirst().contains(where: { resolvers[$0].resolve(s) != a0 }) else { continue }
                    let slot = TrampolineSlot(target: s, addend: rel.addend)
                    let n: Int
                    if let x = slotOf[slot] { n = x } else { n = slots.count; slotOf[slot] = n; slots.append(slot) }
                    fieldSlot.append((c.address + UInt64(rel.offset), n))
                }
            }
            guard !slots.isEmpty else { continue }
            let base = alignUp(tableCursor, ps)
            let reserved = Int(alignUp(UInt64(slots.count * slotSize), ps))
            tableCursor = base + UInt64(reserved)
            let tt = TrampolineTable(address: base, slotSize: slotSize, slots: slots, reservedBytes: reserved, contentKeyed: sharedTables)
            for i in d.images {
                layouts[i].trampolines.append(tt)
                layouts[i].regions.append(Region(name: "ind:\(d.library)@\(w.tables[d.table].version)", start: base, size: UInt64(reserved), pageAligned: true))
                for (field, n) in fieldSlot { layouts[i].redirects[field] = base + UInt64(n * slotSize) }
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
