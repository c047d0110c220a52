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

    /// Places every image. Copy choice is refined until it is sound: a copy is shared only while
    /// every image that runs it gives each of its non-branch relocations (data references,
    /// function addresses taken as values, pointers in data) the same value; the oldest version
    /// that disagrees gets a fresh copy in its own delta region, and the check runs again (a new
    /// copy can move a target for others). Direct branches whose target differs go through slots.
    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var forced = Set<EntryRef>()
        for _ in 0..<1000 {
            var pass = layoutOnce(w, forced: forced, pageSize: context.pageSize)
            let more = Self.divergentEntries(w, pass.layouts, pass.deltas)
            if more.isEmpty || more.isSubset(of: forced) {
                addTrampolinesAndPins(w, &pass, pageSize: context.pageSize)
                return PlacementResult(layouts: pass.layouts)
            }
            forced.formUnion(more)
        }
        throw SpacerError.internalInvariant("spacer-delta: copy choice did not settle after 1000 rounds")
    }

    /// (table, entry): one entry of one library version.
    struct EntryRef: Hashable { var table: Int; var entry: Int }

    /// One layout pass: regions, copies and every image's addresses, before trampolines.
    struct Pass {
        var layouts: [ImageLayout]
        var deltas: [DeltaRegion]
        var roEnd: UInt64
    }

    /// Lays out every library's delta regions. An entry reuses the newest copy of its body
    /// instance unless it is in `forced`, in which case its version places a fresh copy.
    func layoutOnce(_ w: Workload, forced: Set<EntryRef>, pageSize ps: Int) -> Pass {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let users = w.libraries.map { lib in w.images.filter { $0.tables.contains { w.tables[$0].library == lib } }.count }
        let libs = w.libraries.indices.sorted { (users[$0], -$0) > (users[$1], -$1) }.map { w.libraries[$0] }

        var deltas: [DeltaRegion] = []
        var roCursor = AddressMap.codeBase
        var rwCursor = AddressMap.writableBase
        for lib in libs {
            let versions = w.versions(of: lib)
            // Newest copy of each body instance of this library.
            var placed: [Int32: UInt64] = [:]
            var own: [Int: [UInt64]] = [:]   // table -> address of each entry
            for (j, t) in versions.enumerated() {
                var region = DeltaRegion(library: lib, table: t)
                let table = w.tables[t]
                let ids = w.bodyInstanceIDs[t]
                var addr = [UInt64](repeating: 0, count: table.entries.count)
                for (e, b) in ids.enumerated() where !forced.contains(EntryRef(table: t, entry: e)) {
                    if let a = placed[b] { addr[e] = a }
                }
                for (zone, kinds) in [(0, [EntryKind.function, .rodata]), (1, [.data, .bss])] {
                    let start = alignUp(zone == 0 ? roCursor : rwCursor, ps)
                    var c = start
                    var fresh = Set<Int32>()   // body instances already copied into this region
                    for kind in kinds {
                        for (e, entry) in table.entries.enumerated() where entry.kind == kind && addr[e] == 0 {
                            if fresh.contains(ids[e]) { continue }
                            c = alignUp(c, entry.align)
                            placed[ids[e]] = c
                            fresh.insert(ids[e])
                            region.copies.append((e, c))
                            c += UInt64(entry.size)
                        }
                    }
                    if c > start {
                        region.regions.append(Region(name: "\(zone == 0 ? "delta" : "data"):\(lib)@\(table.version)", start: start, size: c - start, pageAligned: true))
                    }
                    if zone == 0 { roCursor = c } else { rwCursor = c }
                }
                for (e, b) in ids.enumerated() where addr[e] == 0 { addr[e] = placed[b]! }
                own[t] = addr
                // Images holding version j or later map this region.
                region.images = w.images.indices.filter { i in
                    w.images[i].tables.contains { versions.firstIndex(of: $0).map { $0 >= j } ?? false }
                }
                deltas.append(region)
            }
            // Own entries of every image, and the dead copies of the regions it maps.
            for (i, img) in w.images.enumerated() {
                guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { continue }
                let t = img.tables[k]
                layouts[i].addresses[k] = own[t]!
                let used = Set(own[t]!)
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
        return Pass(layouts: layouts, deltas: deltas, roEnd: roCursor)
    }

    /// The entries that must get a fresh copy: for each copy, and each of its relocations that may
    /// not go through a slot, the oldest version among the images that run the copy whose value
    /// differs from the value the copy's own version gives it.
    static func divergentEntries(_ w: Workload, _ layouts: [ImageLayout], _ deltas: [DeltaRegion]) -> Set<EntryRef> {
        let resolvers = w.images.indices.map { SymbolResolver(workload: w, image: $0, layout: layouts[$0]) }
        // Who runs the copy at each address: (image, table, entry).
        var runners: [UInt64: [(image: Int, table: Int, entry: Int)]] = [:]
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed { runners[a, default: []].append((i, t, e)) }
            }
        }
        var out = Set<EntryRef>()
        for d in deltas where d.images.count >= 2 {
            let versions = w.versions(of: d.library)
            for c in d.copies {
                guard let run = runners[c.address], run.count >= 2 else { continue }
                let entry = w.tables[d.table].entries[c.entry]
                guard !entry.relocations.isEmpty else { continue }
                let creator = run.first { $0.table == d.table } ?? run[0]
                var worst: (rank: Int, ref: EntryRef)? = nil
                for (r, _) in entry.relocations.enumerated() where !w.isSlottable(table: d.table, entry: c.entry, relocation: r) {
                    let s = w.targetSymbols[d.table][c.entry][r]
                    let v0 = resolvers[creator.image].resolve(s)
                    for u in run where u.table != creator.table && resolvers[u.image].resolve(s) != v0 {
                        let rank = versions.firstIndex(of: u.table) ?? Int.max
                        if worst == nil || rank < worst!.rank { worst = (rank, EntryRef(table: u.table, entry: u.entry)) }
                    }
                }
                if let worst { out.insert(worst.ref) }
            }
        }
        return out
    }

    /// Slots for direct branches of shared copies whose target differs between the images that
    /// run the copy; pins for every other field of a dead copy whose value differs from the value
    /// the images that run the copy give it (dead code never runs, so any value is sound, and
    /// the pinned one keeps its page identical).
    func addTrampolinesAndPins(_ w: Workload, _ pass: inout Pass, pageSize ps: Int) {
        let resolvers = w.images.indices.map { SymbolResolver(workload: w, image: $0, layout: pass.layouts[$0]) }
        var runners: [UInt64: [Int]] = [:]
        for (i, img) in w.images.enumerated() {
            for (k, _) in img.tables.enumerated() {
                for a in pass.layouts[i].addresses[k] where a != ImageLayout.removed { runners[a, default: []].append(i) }
            }
        }
        let mappedDead: [Set<UInt64>] = pass.layouts.map { Set($0.extraCopies.map(\.address)) }
        var tableCursor = max(AddressMap.trampolineBase, alignUp(pass.roEnd, ps))
        for d in pass.deltas where d.images.count >= 2 {
            var slotOf: [TrampolineSlot: Int] = [:]
            var slots: [TrampolineSlot] = []
            var fieldSlot: [(copy: UInt64, field: UInt64, slot: Int)] = []
            for c in d.copies {
                let entry = w.tables[d.table].entries[c.entry]
                let targets = w.targetSymbols[d.table][c.entry]
                let run = runners[c.address] ?? []
                for (r, rel) in entry.relocations.enumerated() {
                    let s = targets[r]
                    let field = c.address + UInt64(rel.offset)
                    let live = run.map { resolvers[$0].resolve(s) }
                    if let v = live.first, live.allSatisfy({ $0 == v }) {
                        for i in d.images where mappedDead[i].contains(c.address) && resolvers[i].resolve(s) != v {
                            pass.layouts[i].redirects[field] = v
                        }
                        continue
                    }
                    // Live values differ. divergentEntries gave other versions fresh copies, but
                    // images of one version share a copy even when the target resolves apart
                    // (external in one, defined by another library in the other): a field that
                    // may not use a slot keeps each image's own value (its page is not shared).
                    guard w.isSlottable(table: d.table, entry: c.entry, relocation: r) else { continue }
                    let slot = TrampolineSlot(target: s, addend: rel.addend)
                    let n: Int
                    if let x = slotOf[slot] { n = x } else { n = slots.count; slotOf[slot] = n; slots.append(slot) }
                    fieldSlot.append((c.address, field, n))
                }
            }
            guard !slots.isEmpty else { continue }
            let base = alignUp(tableCursor, ps)
            let reserved = Int(alignUp(UInt64(slots.count * slotSize), ps))
            tableCursor = base + UInt64(reserved)
            let tt = TrampolineTable(address: base, slotSize: slotSize, slots: slots, reservedBytes: reserved, contentKeyed: sharedTables)
            for i in d.images {
                pass.layouts[i].trampolines.append(tt)
                pass.layouts[i].regions.append(Region(name: "ind:\(d.library)@\(w.tables[d.table].version)", start: base, size: UInt64(reserved), pageAligned: true))
                // Every image that maps the copy (runs it, or keeps it as a mapped dead copy).
                for f in fieldSlot where mappedDead[i].contains(f.copy) || (runners[f.copy]?.contains(i) ?? false) {
                    pass.layouts[i].redirects[f.field] = base + UInt64(f.slot * slotSize)
                }
            }
        }
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
