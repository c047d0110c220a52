import SpacerCore

/// `spacer-delta`: Spacer-Δ (Gain et al., "Efficient Versioning for Unikernels", CLOUD 2025),
/// reimplemented correctly where the public prototype (gaulthiergain/Spacer-delta) is not
/// (docs/strategies.md, "Spacer-Δ, corrected").
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
        ParameterSpec("slot-size", .int, default: "16", help: "bytes per trampoline slot (8..64)", range: 8...64),
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
        var firstCopy = 0               // global number of copies[0]; a region's copies are numbered consecutively
        var images: [Int] = []          // images that map it, ascending
        var regions: [Region] = []
    }

    /// Places every image. Copy choice is refined until it is sound: a copy is shared only while
    /// every image that runs it gives each of its non-branch relocations (data references,
    /// function addresses taken as values, pointers in data) the same value; the oldest version
    /// that disagrees gets a fresh copy in its own delta region, and the check runs again (a new
    /// copy can move a target for others). Direct branches whose target differs go through slots.
    ///
    /// - Complexity: per round O(E_T + Σ_i F_i + S · I) for E_T entries of the tables, F_i the
    ///   relocation fields of the entries and copies image i maps, S symbols and I images (one
    ///   dense resolver per image at a time); every per-image quantity that depends only on the
    ///   table an image holds (addresses, regions, dead copies) is computed once per table.
    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var forced = Set<EntryRef>()
        let shapes = w.tables.map(TableShape.init)
        for _ in 0..<1000 {
            var pass = layoutOnce(w, shapes: shapes, forced: forced, pageSize: context.pageSize)
            let more = Self.divergentEntries(w, pass)
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

    /// Kind, size and alignment of every entry of one table, as flat arrays: the layout pass
    /// reads them for every entry of every version in every round, and reading a `TableEntry`
    /// copies (retains) its strings.
    struct TableShape {
        var kind: [EntryKind], size: [Int], align: [Int]
        init(_ t: FunctionTable) {
            kind = t.entries.map(\.kind); size = t.entries.map(\.size); align = t.entries.map(\.align)
        }
    }

    /// One layout pass: regions, copies and every image's addresses, before trampolines.
    struct Pass {
        var layouts: [ImageLayout]
        var deltas: [DeltaRegion]
        var roEnd: UInt64
        /// `copyOf[t][e]`: global number of the copy entry `e` of table `t` runs.
        var copyOf: [[Int]]
        /// Per copy number: its region (index into `deltas`) and index within the region.
        var copyRegion: [Int]
        var copyIndex: [Int]
    }

    /// Lays out every library's delta regions. An entry reuses the newest copy of its body
    /// instance unless it is in `forced`, in which case its version places a fresh copy.
    func layoutOnce(_ w: Workload, shapes: [TableShape], forced: Set<EntryRef>, pageSize ps: Int) -> Pass {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let users = w.libraries.map { lib in w.images.filter { $0.tables.contains { w.tables[$0].library == lib } }.count }
        let libs = w.libraries.indices.sorted { (users[$0], -$0) > (users[$1], -$1) }.map { w.libraries[$0] }

        var deltas: [DeltaRegion] = []
        var roCursor = AddressMap.codeStart(pageSize: ps)
        var rwCursor = AddressMap.writableBase
        // Newest copy of each body instance (ids are per library, so one array serves all).
        var placed = [UInt64](repeating: 0, count: w.bodyInstanceCount)
        var placedCopy = [Int](repeating: -1, count: w.bodyInstanceCount)
        var copyOf = [[Int]](repeating: [], count: w.tables.count)
        var copyRegion: [Int] = [], copyIndex: [Int] = []
        // `forced` per table as flags; body instances copied into the current region, and copies
        // an image's version runs, as stamps (no hashing per entry).
        var isForced = w.tables.map { [Bool](repeating: false, count: $0.entries.count) }
        for f in forced { isForced[f.table][f.entry] = true }
        var freshStamp = [Int](repeating: -1, count: w.bodyInstanceCount)
        var regionStamp = 0
        var runsStamp: [Int] = []
        var tableStamp = 0
        for lib in libs {
            let versions = w.versions(of: lib)
            // Version index of this library in every image (−1: the image does not hold it).
            let held: [(k: Int, j: Int)?] = w.images.map { img in
                guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { return nil }
                return (k, versions.firstIndex(of: img.tables[k])!)
            }
            var own: [Int: [UInt64]] = [:]   // table -> address of each entry
            var libDeltas: [Int] = []
            for (j, t) in versions.enumerated() {
                var region = DeltaRegion(library: lib, table: t, firstCopy: copyRegion.count)
                let table = w.tables[t]
                let ids = w.bodyInstanceIDs[t]
                let shape = shapes[t]
                var addr = [UInt64](repeating: 0, count: table.entries.count)
                var copy = [Int](repeating: -1, count: table.entries.count)
                for (e, b) in ids.enumerated() where !isForced[t][e] && placed[Int(b)] != 0 {
                    addr[e] = placed[Int(b)]; copy[e] = placedCopy[Int(b)]
                }
                for (zone, kinds) in [(0, [EntryKind.function, .rodata]), (1, [.data, .bss])] {
                    let start = alignUp(zone == 0 ? roCursor : rwCursor, ps)
                    var c = start
                    regionStamp += 1           // body instances already copied into this region carry it
                    for kind in kinds {
                        for e in ids.indices where shape.kind[e] == kind && addr[e] == 0 {
                            let b = Int(ids[e])
                            if freshStamp[b] == regionStamp { continue }
                            c = alignUp(c, shape.align[e])
                            placed[b] = c
                            placedCopy[b] = copyRegion.count
                            copyRegion.append(deltas.count); copyIndex.append(region.copies.count)
                            freshStamp[b] = regionStamp
                            region.copies.append((e, c))
                            c += UInt64(shape.size[e])
                        }
                    }
                    if c > start {
                        region.regions.append(Region(name: "\(zone == 0 ? "delta" : "data"):\(lib)@\(table.version)", start: start, size: c - start, pageAligned: true))
                    }
                    if zone == 0 { roCursor = c } else { rwCursor = c }
                }
                for (e, b) in ids.enumerated() where addr[e] == 0 { addr[e] = placed[Int(b)]; copy[e] = placedCopy[Int(b)] }
                own[t] = addr
                copyOf[t] = copy
                // Images holding version j or later map this region.
                region.images = w.images.indices.filter { held[$0].map { $0.j >= j } ?? false }
                libDeltas.append(deltas.count)
                deltas.append(region)
            }
            // What an image maps of this library depends only on the version it holds: its own
            // entries' addresses, regions 1..j, and the copies of those regions it does not run.
            var perTable: [Int: (regions: [Region], extra: [PlacedCopy])] = [:]
            for (i, h) in held.enumerated() {
                guard let h else { continue }
                let t = versions[h.j]
                if perTable[t] == nil {
                    tableStamp += 1
                    if runsStamp.count < copyRegion.count { runsStamp += [Int](repeating: 0, count: copyRegion.count - runsStamp.count) }
                    for c in copyOf[t] where c >= 0 { runsStamp[c] = tableStamp }
                    var regions: [Region] = [], extra: [PlacedCopy] = []
                    for r in libDeltas[...h.j] {
                        regions += deltas[r].regions
                        for (n, c) in deltas[r].copies.enumerated() where runsStamp[deltas[r].firstCopy + n] != tableStamp {
                            extra.append(PlacedCopy(table: deltas[r].table, entry: c.entry, address: c.address))
                        }
                    }
                    perTable[t] = (regions, extra)
                }
                layouts[i].addresses[h.k] = own[t]!
                layouts[i].regions += perTable[t]!.regions
                layouts[i].extraCopies += perTable[t]!.extra
            }
        }
        if mapUsedOnly {
            for i in w.images.indices { layouts[i] = Self.unmapDeadPages(w, image: i, layouts[i], pageSize: ps) }
        }
        return Pass(layouts: layouts, deltas: deltas, roEnd: roCursor, copyOf: copyOf, copyRegion: copyRegion, copyIndex: copyIndex)
    }

    /// Images that run each copy, counted, and the first of them by image index.
    static func runners(_ w: Workload, _ pass: Pass) -> (count: [Int], first: [Int]) {
        var count = [Int](repeating: 0, count: pass.copyRegion.count)
        var first = [Int](repeating: Int.max, count: pass.copyRegion.count)
        for (i, img) in w.images.enumerated() {
            for t in img.tables {
                for c in pass.copyOf[t] where c >= 0 { count[c] += 1; if first[c] == Int.max { first[c] = i } }
            }
        }
        return (count, first)
    }

    /// The entries that must get a fresh copy: for each copy, and each of its relocations that may
    /// not go through a slot, the oldest version among the images that run the copy whose value
    /// differs from the value the copy's creator (the first image holding the copy's own
    /// version) gives it.
    static func divergentEntries(_ w: Workload, _ pass: Pass) -> Set<EntryRef> {
        let deltas = pass.deltas
        let (runCount, _) = runners(w, pass)
        // Non-branch fields of copies that two or more images run: (copy, symbol), and v0.
        var fieldStart = [Int](repeating: 0, count: pass.copyRegion.count + 1)
        var symbol: [Int32] = []
        for c in pass.copyRegion.indices {
            fieldStart[c] = symbol.count
            let d = deltas[pass.copyRegion[c]]
            guard d.images.count >= 2, runCount[c] >= 2 else { continue }
            let e = d.copies[pass.copyIndex[c]].entry
            for f in w.relocationFields[d.table][e] where !f.slottable { symbol.append(f.target) }
        }
        fieldStart[pass.copyRegion.count] = symbol.count
        guard !symbol.isEmpty else { return [] }
        var v0 = [UInt64](repeating: 0, count: symbol.count)
        // The creator of each region's copies: the first image holding the region's version.
        var creatorOf = [Int](repeating: -1, count: w.tables.count)
        for (i, img) in w.images.enumerated() { for t in img.tables where creatorOf[t] < 0 { creatorOf[t] = i } }
        var creates = [[Int]](repeating: [], count: w.images.count)   // image -> regions it creates
        for (r, d) in deltas.enumerated() where creatorOf[d.table] >= 0 { creates[creatorOf[d.table]].append(r) }
        var best = [(rank: Int, table: Int, entry: Int)?](repeating: nil, count: pass.copyRegion.count)
        var rankOf = [Int](repeating: 0, count: w.tables.count)
        for lib in w.libraries { for (j, t) in w.versions(of: lib).enumerated() { rankOf[t] = j } }
        // Creators first (their values are the reference), then every image that runs a copy
        // from another version than the copy's own.
        for i in w.images.indices where !creates[i].isEmpty {
            let resolver = SymbolResolver(workload: w, image: i, layout: pass.layouts[i])
            for r in creates[i] {
                let d = deltas[r]
                for n in d.copies.indices {
                    let c = d.firstCopy + n
                    for f in fieldStart[c]..<fieldStart[c + 1] { v0[f] = resolver.resolve(symbol[f]) }
                }
            }
        }
        for (i, img) in w.images.enumerated() {
            var resolver: SymbolResolver? = nil
            for t in img.tables {
                for (e, c) in pass.copyOf[t].enumerated() where c >= 0 && fieldStart[c] < fieldStart[c + 1] {
                    guard deltas[pass.copyRegion[c]].table != t else { continue }   // same version as the creator
                    if resolver == nil { resolver = SymbolResolver(workload: w, image: i, layout: pass.layouts[i]) }
                    for f in fieldStart[c]..<fieldStart[c + 1] where resolver!.resolve(symbol[f]) != v0[f] {
                        if best[c] == nil || rankOf[t] < best[c]!.rank { best[c] = (rankOf[t], t, e) }
                        break
                    }
                }
            }
        }
        var out = Set<EntryRef>()
        for b in best { if let b { out.insert(EntryRef(table: b.table, entry: b.entry)) } }
        return out
    }

    /// Slots for direct branches of shared copies whose target differs between the images that
    /// run the copy; pins for every other field of a dead copy whose value differs from the value
    /// the images that run the copy give it (dead code never runs, so any value is sound, and
    /// the pinned one keeps its page identical).
    func addTrampolinesAndPins(_ w: Workload, _ pass: inout Pass, pageSize ps: Int) {
        let deltas = pass.deltas
        let nCopies = pass.copyRegion.count
        // Every relocation field of the copies of regions two or more images map.
        var fieldStart = [Int](repeating: 0, count: nCopies + 1)
        var symbol: [Int32] = [], field: [UInt64] = [], addend: [Int64] = [], slottable: [Bool] = []
        for c in 0..<nCopies {
            fieldStart[c] = symbol.count
            let d = deltas[pass.copyRegion[c]]
            guard d.images.count >= 2 else { continue }
            let copy = d.copies[pass.copyIndex[c]]
            for f in w.relocationFields[d.table][copy.entry] {
                symbol.append(f.target); field.append(copy.address + UInt64(f.offset)); addend.append(f.addend)
                slottable.append(f.slottable)
            }
        }
        fieldStart[nCopies] = symbol.count
        // The copies each image maps dead (its extra copies), by copy number.
        func deadCopies(_ i: Int) -> [Int] {
            pass.layouts[i].extraCopies.map { pass.copyOf[$0.table][$0.entry] }
        }
        // Pass 1: the value every image that runs a copy gives each field; equal for all runners
        // (and the first runner's value), or not.
        var live = [UInt64](repeating: 0, count: symbol.count)
        var seen = [Bool](repeating: false, count: symbol.count)
        var differs = [Bool](repeating: false, count: symbol.count)
        for (i, img) in w.images.enumerated() {
            var resolver: SymbolResolver? = nil
            for t in img.tables {
                for c in pass.copyOf[t] where c >= 0 && fieldStart[c] < fieldStart[c + 1] {
                    if resolver == nil { resolver = SymbolResolver(workload: w, image: i, layout: pass.layouts[i]) }
                    let r = resolver!
                    symbol.withUnsafeBufferPointer { sym in
                        live.withUnsafeMutableBufferPointer { live in
                            seen.withUnsafeMutableBufferPointer { seen in
                                differs.withUnsafeMutableBufferPointer { differs in
                                    for f in fieldStart[c]..<fieldStart[c + 1] {
                                        let v = r.resolve(sym[f])
                                        if !seen[f] { seen[f] = true; live[f] = v } else if v != live[f] { differs[f] = true }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Pass 2: pins, per image and library of the dead copy, for dead copies whose field
        // resolves elsewhere than the runners'. Images that hold the same version of a library
        // usually get the same pins: identical pin runs are stored once and shared.
        let libraryIndex = Dictionary(uniqueKeysWithValues: w.libraries.enumerated().map { ($1, $0) })
        let regionLibrary = deltas.map { libraryIndex[$0.library]! }
        var pins = [[[(UInt64, UInt64)]]](repeating: [], count: w.images.count)
        for i in w.images.indices {
            let dead = deadCopies(i).filter { fieldStart[$0] < fieldStart[$0 + 1] }
            guard !dead.isEmpty else { continue }
            pins[i] = [[(UInt64, UInt64)]](repeating: [], count: w.libraries.count)
            let resolver = SymbolResolver(workload: w, image: i, layout: pass.layouts[i])
            symbol.withUnsafeBufferPointer { sym in
                live.withUnsafeBufferPointer { live in
                    seen.withUnsafeBufferPointer { seen in
                        differs.withUnsafeBufferPointer { differs in
                            for c in dead {
                                let lib = regionLibrary[pass.copyRegion[c]]
                                for f in fieldStart[c]..<fieldStart[c + 1] where seen[f] && !differs[f] && resolver.resolve(sym[f]) != live[f] {
                                    pins[i][lib].append((field[f], live[f]))
                                }
                            }
                        }
                    }
                }
            }
        }
        // Slots: per region, the fields whose runners disagree (or that no image runs).
        var mapsCopy: [[Bool]] = []   // per image, per copy (only when map-used-only drops dead copies)
        if mapUsedOnly {
            mapsCopy = w.images.indices.map { i in
                var m = [Bool](repeating: false, count: nCopies)
                for t in w.images[i].tables { for c in pass.copyOf[t] where c >= 0 { m[c] = true } }
                for c in deadCopies(i) { m[c] = true }
                return m
            }
        }
        var tableCursor = max(AddressMap.trampolineBase, alignUp(pass.roEnd, ps))
        for (r, d) in deltas.enumerated() where d.images.count >= 2 {
            var slotOf: [TrampolineSlot: Int] = [:]
            var slots: [TrampolineSlot] = []
            var fieldSlot: [(copy: Int, field: UInt64, slot: Int)] = []
            for n in d.copies.indices {
                let c = d.firstCopy + n
                // Live values differ. Fresh copies separate versions, but images of one version share
                // a copy even when a target resolves apart (external in one image, defined by another
                // library in the other): a field that may not use a slot keeps each image's own value
                // (its page is simply not shared). Found by fuzzing the table reader (crash da934ced).
                for f in fieldStart[c]..<fieldStart[c + 1] where !(seen[f] && !differs[f]) && slottable[f] {
                    let slot = TrampolineSlot(target: symbol[f], addend: addend[f])
                    let k: Int
                    if let x = slotOf[slot] { k = x } else { k = slots.count; slotOf[slot] = k; slots.append(slot) }
                    fieldSlot.append((c, field[f], k))
                }
            }
            guard !slots.isEmpty else { continue }
            let base = alignUp(tableCursor, ps)
            let reserved = Int(alignUp(UInt64(slots.count * slotSize), ps))
            tableCursor = base + UInt64(reserved)
            let tt = TrampolineTable(address: base, slotSize: slotSize, slots: slots, reservedBytes: reserved, contentKeyed: sharedTables)
            let region = Region(name: "ind:\(d.library)@\(w.tables[d.table].version)", start: base, size: UInt64(reserved), pageAligned: true)
            func run(_ fs: [(copy: Int, field: UInt64, slot: Int)]) -> RedirectMap.Run {
                var fields: [UInt64] = [], slotAt: [UInt64] = []
                for x in fs {
                    let s = base + UInt64(x.slot * slotSize)
                    if fields.last == x.field { slotAt[slotAt.count - 1] = s; continue }   // one field: last wins
                    fields.append(x.field); slotAt.append(s)
                }
                if zip(fields, fields.dropFirst()).contains(where: { $0 >= $1 }) {        // never for feasible copies
                    let order = fields.indices.sorted { fields[$0] < fields[$1] }
                    fields = order.map { fields[$0] }; slotAt = order.map { slotAt[$0] }
                }
                return RedirectMap.Run(fields: fields, slots: slotAt)
            }
            // Every image that maps the region maps each of its copies (runs it or keeps it dead)
            // unless map-used-only dropped some: one shared run, or a filtered one.
            let shared = run(fieldSlot)
            for i in d.images {
                pass.layouts[i].trampolines.append(tt)
                pass.layouts[i].regions.append(region)
                if mapUsedOnly && fieldSlot.contains(where: { !mapsCopy[i][$0.copy] }) {
                    pass.layouts[i].redirects.add(run(fieldSlot.filter { mapsCopy[i][$0.copy] }))
                } else {
                    pass.layouts[i].redirects.add(shared)
                }
            }
        }
        // Interned by (library, count, checksum), confirmed by comparing the arrays.
        struct PinKey: Hashable { var library: Int; var count: Int; var checksum: UInt64 }
        var interned: [PinKey: [RedirectMap.Run]] = [:]
        for i in w.images.indices {
            for (lib, list) in pins[i].enumerated() where !list.isEmpty {
                // Dead copies come in address order, so pins usually do too; else a stable sort
                // by field (for one field pinned twice, two relocations at one offset, the last wins).
                let ascending = zip(list, list.dropFirst()).allSatisfy { $0.0 <= $1.0 }
                let sorted = ascending ? list : list.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
                var fields: [UInt64] = [], values: [UInt64] = []
                for (f, v) in sorted { if fields.last == f { values[values.count - 1] = v } else { fields.append(f); values.append(v) } }
                var digest = PageDigest()
                for k in fields.indices { digest.add(fields[k] &* 31 &+ values[k]) }
                let key = PinKey(library: lib, count: fields.count, checksum: digest.a)
                if let run = interned[key]?.first(where: { $0.fields == fields && $0.slots == values }) {
                    pass.layouts[i].redirects.add(run)
                } else {
                    let run = RedirectMap.Run(fields: fields, slots: values)
                    interned[key, default: []].append(run)
                    pass.layouts[i].redirects.add(run)
                }
            }
            pins[i] = []
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
