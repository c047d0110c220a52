import SpacerCore

/// Building blocks the built-in strategies share. Nothing here scores a layout.
public enum StrategySupport {
    /// Places, per image, the entries of `kinds` of each of its tables in link order from
    /// `start` (libraries in image row order), each entry at its alignment, or at a page
    /// boundary when `pageEach`. Entries for which `keep` is false stay unplaced.
    /// - Returns: the end address per image.
    @discardableResult
    public static func packLinkOrder(_ w: Workload, _ layouts: inout [ImageLayout], kinds: Set<EntryKind>,
                                     start: UInt64, pageSize: Int, pageEach: Bool = false, regionName: String,
                                     keep: ((Int, Int, Int) -> Bool)? = nil) -> [UInt64] {
        var ends: [UInt64] = []
        ends.reserveCapacity(w.images.count)
        // Per table, once: its entries of `kinds` in order with their size and alignment, so that
        // the per-image loop reads flat values (not a `TableEntry`, whose strings a read retains).
        var plans = [[PackItem]?](repeating: nil, count: w.tables.count)
        for (i, img) in w.images.enumerated() {
            var cursor = start
            for (k, t) in img.tables.enumerated() {
                if plans[t] == nil { plans[t] = packItems(w.tables[t], kinds: kinds) }
                let plan = plans[t]!
                layouts[i].addresses[k].withUnsafeMutableBufferPointer { addresses in
                    for p in plan {
                        if let keep, !keep(i, k, p.entry) { continue }
                        cursor = alignUp(cursor, pageEach ? max(pageSize, p.align) : p.align)
                        addresses[p.entry] = cursor
                        cursor += p.size
                    }
                }
            }
            if cursor > start { layouts[i].regions.append(Region(name: regionName, start: start, size: cursor - start, pageAligned: true)) }
            ends.append(cursor)
        }
        return ends
    }

    /// One entry to place: its index in the table, size and alignment.
    struct PackItem { var entry: Int; var size: UInt64; var align: Int }

    /// The entries of `table` whose kind is in `kinds`, in table order.
    static func packItems(_ table: FunctionTable, kinds: Set<EntryKind>) -> [PackItem] {
        var out: [PackItem] = []
        for (e, entry) in table.entries.enumerated() where kinds.contains(entry.kind) {
            out.append(PackItem(entry: e, size: UInt64(entry.size), align: entry.align))
        }
        return out
    }

    /// The data policy of docs/design.md §4 ("at the least"): each library's read-only data in a
    /// region whose address is the same in every image that holds the library (rodata zone), its
    /// writable data and bss likewise (writable zone), objects in link order. Each library's region
    /// is page-aligned and as large as its largest version in the workload.
    public static func placeDataByLibrary(_ w: Workload, _ layouts: inout [ImageLayout], pageSize: Int,
                                          keep: ((Int, Int, Int) -> Bool)? = nil) {
        let libraryIndex = Dictionary(uniqueKeysWithValues: w.libraries.enumerated().map { ($1, $0) })
        let libraryOf = w.tables.map { libraryIndex[$0.library] ?? -1 }
        for (zone, kinds) in [(AddressMap.rodataBase, [EntryKind.rodata]), (AddressMap.writableBase, [.data, .bss])] {
            // Per table, once: its entries of the zone's kinds, kind by kind, in table order.
            let items = w.tables.map { t in kinds.flatMap { packItems(t, kinds: [$0]) } }
            var cursor = zone
            for (li, lib) in w.libraries.enumerated() {
                let start = alignUp(cursor, pageSize)
                let name = "\(kinds[0].rawValue):\(lib)"
                var maxEnd = start
                // Without `keep`, a table's data lands at the same addresses in every image that
                // holds it (the region starts at `start` in all): computed once per table.
                var planned: [Int: (addresses: [(entry: Int, address: UInt64)], end: UInt64)] = [:]
                for (i, img) in w.images.enumerated() {
                    guard let k = img.tables.firstIndex(where: { libraryOf[$0] == li }) else { continue }
                    let t = img.tables[k]
                    var c = start
                    if keep == nil {
                        if planned[t] == nil {
                            var placed: [(entry: Int, address: UInt64)] = []
                            for p in items[t] {
                                c = alignUp(c, p.align)
                                placed.append((p.entry, c))
                                c += p.size
                            }
                            planned[t] = (placed, c)
                        }
                        let plan = planned[t]!
                        layouts[i].addresses[k].withUnsafeMutableBufferPointer { a in for p in plan.addresses { a[p.entry] = p.address } }
                        c = plan.end
                    } else if let keep {
                        for p in items[t] {
                            if !keep(i, k, p.entry) { continue }
                            c = alignUp(c, p.align)
                            layouts[i].addresses[k][p.entry] = c
                            c += p.size
                        }
                    }
                    if c > start {
                        layouts[i].regions.append(Region(name: name, start: start, size: c - start, pageAligned: true))
                    }
                    maxEnd = max(maxEnd, c)
                }
                cursor = maxEnd
            }
        }
    }

    /// Places body instances grouped by image-set signature, each group at one global address in
    /// every image that holds it (the per-occurrence rule of docs/design.md §5).
    ///
    /// Groups held by ≥ 2 images come first, by falling image count, ties by first appearance;
    /// each starts page-aligned when `alignGroups`. Bodies held by one image only are then packed
    /// per image from one common address. Within a group, bodies keep first-appearance order.
    /// - Returns: the end of the address range used.
    @discardableResult
    public static func placeBySignature(_ w: Workload, _ layouts: inout [ImageLayout], kinds: Set<EntryKind>,
                                        zone: UInt64, pageSize: Int, alignGroups: Bool, regionName: String) -> UInt64 {
        // For each body instance: the images holding it (ascending), its (image, k, e) sites, in
        // flat arrays indexed by body instance id (two passes: count, then fill).
        let nb = w.bodyInstanceCount
        let items = w.tables.map { packItems($0, kinds: kinds) }
        var order: [Int32] = []                     // body instances by first appearance
        var size = [UInt64](repeating: 0, count: nb), align = [Int](repeating: 1, count: nb)
        var siteStart = [Int](repeating: 0, count: nb + 1), holderStart = [Int](repeating: 0, count: nb + 1)
        var lastHolder = [Int](repeating: -1, count: nb)
        for (i, img) in w.images.enumerated() {
            for t in img.tables {
                let ids = w.bodyInstanceIDs[t]
                for p in items[t] {
                    let b = Int(ids[p.entry])
                    if siteStart[b + 1] == 0 { order.append(Int32(b)); size[b] = p.size; align[b] = p.align }
                    siteStart[b + 1] += 1
                    if lastHolder[b] != i { lastHolder[b] = i; holderStart[b + 1] += 1 }
                }
            }
        }
        for b in 0..<nb { siteStart[b + 1] += siteStart[b]; holderStart[b + 1] += holderStart[b] }
        struct Site { var image: Int32; var k: Int32; var e: Int32 }
        var sites = [Site](repeating: Site(image: 0, k: 0, e: 0), count: siteStart[nb])
        var holders = [Int](repeating: 0, count: holderStart[nb])
        var siteFill = siteStart, holderFill = holderStart
        for b in 0..<nb { lastHolder[b] = -1 }
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                let ids = w.bodyInstanceIDs[t]
                for p in items[t] {
                    let b = Int(ids[p.entry])
                    sites[siteFill[b]] = Site(image: Int32(i), k: Int32(k), e: Int32(p.entry)); siteFill[b] += 1
                    if lastHolder[b] != i { lastHolder[b] = i; holders[holderFill[b]] = i; holderFill[b] += 1 }
                }
            }
        }
        func signature(_ b: Int32) -> ArraySlice<Int> { holders[holderStart[Int(b)]..<holderStart[Int(b) + 1]] }
        // Group by signature (a digest of the image list, confirmed by comparing the lists).
        var groupsOf: [UInt64: [Int]] = [:]
        var groups: [(sig: Int32, bodies: [Int32])] = []   // sig: a body whose holders are the signature
        for b in order {
            let sig = signature(b)
            var d = PageDigest()
            for i in sig { d.add(i) }
            if let g = groupsOf[d.a]?.first(where: { signature(groups[$0].sig) == sig }) { groups[g].bodies.append(b) }
            else { groupsOf[d.a, default: []].append(groups.count); groups.append((b, [b])) }
        }
        func place(_ b: Int32, at c: UInt64) {
            for s in sites[siteStart[Int(b)]..<siteStart[Int(b) + 1]] { layouts[Int(s.image)].addresses[Int(s.k)][Int(s.e)] = c }
        }
        let sigCount = groups.map { signature($0.sig).count }
        let shared = groups.indices.filter { sigCount[$0] >= 2 }
            .sorted { (sigCount[$0], -$0) > (sigCount[$1], -$1) }
        let sharedName = "\(regionName):shared", ownName = "\(regionName):own"
        var cursor = zone
        for g in shared {
            let start = alignGroups ? alignUp(cursor, pageSize) : cursor
            var c = start
            for b in groups[g].bodies {
                c = alignUp(c, align[Int(b)])
                place(b, at: c)
                c += size[Int(b)]
            }
            for i in signature(groups[g].sig) where c > start {
                layouts[i].regions.append(Region(name: sharedName, start: start, size: c - start, pageAligned: start % UInt64(pageSize) == 0))
            }
            cursor = c
        }
        let singleStart = alignUp(cursor, pageSize)
        var ends = [UInt64](repeating: singleStart, count: w.images.count)
        for g in groups.indices where sigCount[g] == 1 {
            let i = signature(groups[g].sig).first!
            for b in groups[g].bodies {
                ends[i] = alignUp(ends[i], align[Int(b)])
                place(b, at: ends[i])
                ends[i] += size[Int(b)]
            }
        }
        for i in w.images.indices where ends[i] > singleStart {
            layouts[i].regions.append(Region(name: ownName, start: singleStart, size: ends[i] - singleStart, pageAligned: true))
        }
        return max(cursor, ends.max() ?? cursor)
    }

    /// Per image: symbol id → body instance id of the image's own entry defining it.
    public static func definingBodies(_ w: Workload) -> [[Int32: Int32]] {
        w.images.map { img in
            var d: [Int32: Int32] = [:]
            for t in img.tables { for (e, s) in w.symbolIDs[t].enumerated() { d[s] = w.bodyInstanceIDs[t][e] } }
            return d
        }
    }

    /// The relocation *variant* of entry `e` of table `t` in an image: a digest of the body
    /// instances its relocations resolve to there (`defining` from `definingBodies`), or of the
    /// symbol for targets the image does not define. When every body instance has one address in
    /// all images holding it, two images see the same bytes of the entry exactly when its
    /// variants agree.
    public static func relocationVariant(_ w: Workload, defining: [Int32: Int32], table t: Int, entry e: Int) -> UInt64 {
        var v = PageDigest()
        for s in w.targetSymbols[t][e] { v.add(Int(defining[s].map { Int64($0) } ?? (-1 - Int64(s)))) }
        return v.a
    }
}

extension StrategySupport {
    /// The `budget` parameter of the solver strategies: seconds of solver time for the whole run
    /// (docs/design.md §5: compare stays well under a minute), 0 meaning the `--time-limit`.
    public static let budgetParameter = ParameterSpec(
        "budget", .double, default: "0", help: "seconds of solver time for the whole run, 0 to 86400; 0: the --time-limit", range: 0...86_400)

    /// The `trampolines` parameter every one-address-per-body strategy declares.
    public static let trampolineParameter = ParameterSpec(
        "trampolines", .bool, default: "false",
        help: "send direct calls/jumps of shared bodies whose target differs between images through a per-image jump table")

    /// Adds branch trampolines to layouts in which a body shared by several images sits at one
    /// address in each (per-occurrence, bin-packing, strip-packing): every direct branch
    /// (`Workload.isSlottable`) of a copy run by ≥ 2 images whose target resolves to different
    /// addresses in those images goes through a jump slot, one slot per distinct (target, addend),
    /// in one table at a fixed address that every image maps (private pages unless
    /// `contentKeyed`). Data references and taken function addresses are never redirected (a jump
    /// slot would change their meaning); they keep their page-specific bytes. This is Spacer-Δ's
    /// trampoline rule (CLOUD 2025) made available to any strategy.
    ///
    /// - Parameters:
    ///   - after: the first free address of the read-only zones; the table goes at
    ///     `max(AddressMap.trampolineBase, after)`, page-aligned.
    /// - Complexity: O(R × I) for R relocations of shared copies and I images running them.
    public static func addBranchTrampolines(_ w: Workload, _ layouts: inout [ImageLayout], pageSize ps: Int,
                                            slotSize: Int = 16, contentKeyed: Bool = false, after: UInt64 = 0) {
        let resolvers = w.images.indices.map { SymbolResolver(workload: w, image: $0, layout: layouts[$0]) }
        // Who runs each copy (a body instance at an address: one address may hold different bodies
        // in different images), and one (table, entry) that defines it.
        struct Copy: Hashable, Comparable {
            var address: UInt64; var body: Int32
            static func < (x: Copy, y: Copy) -> Bool { (x.address, x.body) < (y.address, y.body) }
        }
        var runners: [Copy: [Int]] = [:]
        var owner: [Copy: (Int, Int)] = [:]
        var copies: [Copy] = []
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed && w.tables[t].entries[e].kind == .function {
                    let c = Copy(address: a, body: w.bodyInstanceIDs[t][e])
                    if runners[c] == nil { owner[c] = (t, e); copies.append(c) }
                    runners[c, default: []].append(i)
                }
            }
        }
        copies.sort()
        var slotOf: [TrampolineSlot: Int] = [:]
        var slots: [TrampolineSlot] = []
        var fields: [(field: UInt64, slot: Int, images: [Int])] = []
        for c in copies {
            let a = c.address
            guard let run = runners[c], run.count >= 2, let (t, e) = owner[c] else { continue }
            let entry = w.tables[t].entries[e]
            for (r, rel) in entry.relocations.enumerated() where w.isSlottable(table: t, entry: e, relocation: r) {
                let s = w.targetSymbols[t][e][r]
                let v0 = resolvers[run[0]].resolve(s)
                guard run.dropFirst().contains(where: { resolvers[$0].resolve(s) != v0 }) else { continue }
                let slot = TrampolineSlot(target: s, addend: rel.addend)
                let n: Int
                if let x = slotOf[slot] { n = x } else { n = slots.count; slotOf[slot] = n; slots.append(slot) }
                fields.append((a + UInt64(rel.offset), n, run))
            }
        }
        guard !slots.isEmpty else { return }
        let base = alignUp(max(AddressMap.trampolineBase, after), ps)
        let reserved = Int(alignUp(UInt64(slots.count * slotSize), ps))
        let table = TrampolineTable(address: base, slotSize: slotSize, slots: slots, reservedBytes: reserved, contentKeyed: contentKeyed)
        for i in w.images.indices {
            layouts[i].trampolines.append(table)
            layouts[i].regions.append(Region(name: "ind", start: base, size: UInt64(reserved), pageAligned: true))
        }
        for f in fields { for i in f.images { layouts[i].redirects[f.field] = base + UInt64(f.slot * slotSize) } }
    }
}

/// A set of images (indices into `Workload.images`) as a bit set: equal sets hash equal, and
/// containment is a word-by-word test.
public struct ImageSet: Hashable, Sendable {
    public private(set) var words: [UInt64]
    /// An empty set for a workload of `count` images.
    public init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }
    public mutating func insert(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }
    public func contains(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }
    /// Number of images in the set.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    /// Whether every image of `other` is in this set.
    public func isSuperset(of other: ImageSet) -> Bool { zip(words, other.words).allSatisfy { $1 & ~$0 == 0 } }
}

extension StrategySupport {
    /// One placed unit of a strategy that gives every unit its own address range in every image
    /// (`version-set`): `[address, address + size)`, the images that use it, and the (table,
    /// entry) an image that does not use it maps there as a dead copy.
    public struct PlacedUnit: Sendable {
        public var address: UInt64
        public var size: Int
        public var images: ImageSet
        public var table: Int
        public var entry: Int
        public init(address: UInt64, size: Int, images: ImageSet, table: Int, entry: Int) {
            self.address = address; self.size = size; self.images = images; self.table = table; self.entry = entry
        }
    }

    /// Gives every image the regions of the pages that hold one of its own placed entries, and
    /// as extra copies (dead, never run) every unit of `units` on those pages that the image does
    /// not use, so that the page holds the same bytes as in the images that use the unit; the
    /// pages of such a copy are mapped too (closure). A copy whose symbol the image's own code
    /// references without defining it is left out (the reference must stay external: the
    /// emitter refuses live code that only a dead copy satisfies); its bytes are then fill.
    ///
    /// - Precondition: the units' ranges do not overlap; every own entry lies in its unit.
    /// - Complexity: O(U log U + Σ_i (E_i + P_i log U)) for U units, E_i entries and P_i mapped
    ///   pages of image i.
    public static func mapUsedPages(_ w: Workload, _ layouts: inout [ImageLayout], units: [PlacedUnit], pageSize: Int) {
        let sorted = units.filter { $0.size > 0 }.sorted { $0.address < $1.address }
        let ps = UInt64(pageSize)
        for (i, img) in w.images.enumerated() {
            var pages = Set<UInt64>()
            var work: [UInt64] = []
            var own = Set<Int32>(), referenced = Set<Int32>()
            func add(_ a: UInt64, _ size: Int) {
                guard size > 0 else { return }
                for p in (a / ps)...((a + UInt64(size) - 1) / ps) where pages.insert(p).inserted { work.append(p) }
            }
            for (k, t) in img.tables.enumerated() {
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed {
                    own.insert(w.symbolIDs[t][e])
                    for s in w.targetSymbols[t][e] { referenced.insert(s) }
                    add(a, w.tables[t].entries[e].size)
                }
            }
            let forbidden = referenced.subtracting(own)
            var copied = Set<Int>()
            while let p = work.popLast() {
                let lo = p * ps, hi = lo + ps
                // First unit ending after lo: units are disjoint and sorted, so ends are sorted too.
                var a = 0, b = sorted.count
                while a < b { let m = (a + b) / 2; if sorted[m].address + UInt64(sorted[m].size) <= lo { a = m + 1 } else { b = m } }
                var u = a
                while u < sorted.count && sorted[u].address < hi {
                    let x = sorted[u]
                    if !x.images.contains(i) && !copied.contains(u) && !forbidden.contains(w.symbolIDs[x.table][x.entry]) {
                        copied.insert(u)
                        layouts[i].extraCopies.append(PlacedCopy(table: x.table, entry: x.entry, address: x.address))
                        add(x.address, x.size)
                    }
                    u += 1
                }
            }
            layouts[i].extraCopies.sort { $0.address < $1.address }
            let list = pages.sorted()
            var j = 0
            while j < list.count {
                var end = j
                while end + 1 < list.count && list[end + 1] == list[end] + 1 { end += 1 }
                layouts[i].regions.append(Region(name: "used", start: list[j] * ps, size: UInt64(end - j + 1) * ps, pageAligned: true))
                j = end + 1
            }
        }
    }

    /// Removes from each image the trampoline tables (and their `ind` regions) that none of the
    /// image's redirects points into: the image then maps no page of them.
    public static func dropUnusedTrampolineTables(_ layouts: inout [ImageLayout]) {
        for i in layouts.indices where !layouts[i].trampolines.isEmpty {
            let targets = layouts[i].redirects.values
            let keep = layouts[i].trampolines.filter { tt in
                let end = tt.address + UInt64(tt.reservedBytes)
                return targets.contains { $0 >= tt.address && $0 < end }
            }
            let dropped = layouts[i].trampolines.filter { !keep.contains($0) }
            layouts[i].trampolines = keep
            layouts[i].regions.removeAll { r in dropped.contains { $0.address == r.start && r.name.hasPrefix("ind") } }
        }
    }

    /// Pins every relocation field of every extra copy (dead code or data the image maps but
    /// never uses) whose value in the image differs from the one value all images that use the
    /// copy (same body instance at the same address) give it, to that value, as Spacer-Δ does:
    /// the copy's bytes then equal theirs, and since it never runs any value is sound. A field
    /// the users disagree on, or of a copy no image uses, is left as it resolves.
    /// - Complexity: O(E + Σ R_c × U_c) for E placed entries and, per extra copy c, its R_c
    ///   relocations and U_c users.
    public static func pinDeadCopies(_ w: Workload, _ layouts: inout [ImageLayout]) {
        struct Copy: Hashable { var address: UInt64; var body: Int32 }
        var wanted = Set<Copy>()
        for l in layouts { for c in l.extraCopies { wanted.insert(Copy(address: c.address, body: w.bodyInstanceIDs[c.table][c.entry])) } }
        guard !wanted.isEmpty else { return }
        var users: [Copy: [(image: Int, table: Int, entry: Int)]] = [:]
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed {
                    let c = Copy(address: a, body: w.bodyInstanceIDs[t][e])
                    if wanted.contains(c) { users[c, default: []].append((i, t, e)) }
                }
            }
        }
        let resolvers = w.images.indices.map { SymbolResolver(workload: w, image: $0, layout: layouts[$0]) }
        var pins: [[(UInt64, UInt64)]] = w.images.map { _ in [] }
        for i in w.images.indices {
            for c in layouts[i].extraCopies {
                guard let us = users[Copy(address: c.address, body: w.bodyInstanceIDs[c.table][c.entry])], !us.isEmpty else { continue }
                let fields = w.relocationFields[c.table][c.entry]
                for (r, f) in fields.enumerated() {
                    let field = c.address + UInt64(f.offset)
                    var value: UInt64? = nil, agree = true
                    for u in us {
                        let v = layouts[u.image].redirects[field] ?? resolvers[u.image].resolve(w.relocationFields[u.table][u.entry][r].target)
                        if let x = value, x != v { agree = false; break }
                        value = v
                    }
                    if agree, let value, resolvers[i].resolve(f.target) != value { pins[i].append((field, value)) }
                }
            }
        }
        for i in w.images.indices { for (f, v) in pins[i] { layouts[i].redirects[f] = v } }
    }
}

extension StrategySupport {
    /// `definingBodies` and `relocationVariant` without dictionaries, for strategies that take the
    /// variant of every entry of every image (`bin-packing`, `strip-packing`): one flat table over
    /// symbol ids, refilled image after image (`select`). Same rule, same values as
    /// `relocationVariant(_:defining:table:entry:)`.
    struct VariantTable {
        /// Per symbol id: the defining body instance in the selected image, or −1 − id.
        private var value: [Int64]
        /// Symbol ids set by the last `select`, to reset.
        private var touched: [Int32] = []
        init(_ w: Workload) { value = (0..<Int64(w.symbolNames.count)).map { -1 - $0 } }
        /// Makes image `i` the one whose defining bodies `variant` resolves against (later tables
        /// and entries win, as in `definingBodies`).
        mutating func select(image i: Int, in w: Workload) {
            for s in touched { value[Int(s)] = -1 - Int64(s) }
            touched.removeAll(keepingCapacity: true)
            for t in w.images[i].tables {
                let ids = w.bodyInstanceIDs[t]
                for (e, s) in w.symbolIDs[t].enumerated() { value[Int(s)] = Int64(ids[e]); touched.append(s) }
            }
        }
        /// `relocationVariant` of entry `e` of table `t` in the selected image.
        func variant(_ w: Workload, table t: Int, entry e: Int) -> UInt64 {
            var v = PageDigest()
            for s in w.targetSymbols[t][e] { v.add(Int(value[Int(s)])) }
            return v.a
        }
    }
}

extension StrategySupport {
    /// Whether a relocation field that takes a function's address (no direct branch) may go
    /// through a canonical stub: an absolute reference (`abs64`, `abs32`, `abs32s`) with addend 0,
    /// whose value is then the stub's address (`LayoutCheck.redirectProblems`, "canonical stub").
    public static func canTakeStub(_ f: RelocationField) -> Bool { !f.pcRelative && f.width >= 4 && f.addend == 0 }

    /// Adds canonical function-pointer stubs (issue 12): a function whose address some shared
    /// code or data takes, and whose address differs between the images that run that referrer,
    /// gets one stub, a slot (`jmp` to the function, `TrampolineSlot.canonicalStub`) at one
    /// address in every image, and in each image every live field that takes the function's
    /// address is redirected to the stub. The referring bytes then agree across images although
    /// the function's body moved.
    ///
    /// Soundness (pointer equality): an image uses a function's stub only when **every** live
    /// field of it that takes that function's address can (`canTakeStub`); if one cannot (a
    /// PC-relative reference, an addend, a narrow field), the image uses no stub for that
    /// function and all its references stay direct. Direct branches are never redirected here
    /// (they go straight or through jump slots, `addBranchTrampolines`); dead copies keep their
    /// fields (`pinDeadCopies`, run afterwards, pins them to what their users see).
    ///
    /// The stubs go into the trampoline table that every image holds at the same address (the
    /// one `addBranchTrampolines` made), reusing a jump slot that already leads to the function
    /// (it is then marked canonical) and growing the table by whole pages when it is full;
    /// without such a table, a new one at the first page after every table (or at
    /// `AddressMap.trampolineBase`), private to each image like the jump tables. Images that use
    /// no slot of a table should drop it afterwards (`dropUnusedTrampolineTables`).
    /// - Parameter slotSize: bytes per slot of a new table (≥ 5: a `jmp rel32`).
    /// - Returns: how many functions got a stub.
    /// - Complexity: O(R log R) for R address-taking fields of live entries.
    @discardableResult
    public static func addCanonicalStubs(_ w: Workload, _ layouts: inout [ImageLayout], pageSize ps: Int, slotSize: Int) -> Int {
        let resolvers = w.images.indices.map { SymbolResolver(workload: w, image: $0, layout: layouts[$0]) }
        // Per image: the live fields that take a function's address, and the functions whose
        // address some field takes in a way a stub cannot carry.
        var fields: [[(field: UInt64, target: Int32)]] = w.images.map { _ in [] }
        var blocked: [Set<Int32>] = w.images.map { _ in [] }
        // A referrer copy's field (field address, referrer body instance) -> (image, address of the function there).
        struct Site: Hashable { var field: UInt64; var body: Int32 }
        var seen: [Site: [(image: Int, value: UInt64)]] = [:]
        var siteOrder: [(Site, Int32)] = []
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed {
                    for f in w.relocationFields[t][e] where !f.slottable && w.symbolIsFunction[Int(f.target)] && !w.symbolIsExternal[Int(f.target)] {
                        let field = a + UInt64(f.offset)
                        if !canTakeStub(f) { blocked[i].insert(f.target); continue }
                        fields[i].append((field, f.target))
                        let site = Site(field: field, body: w.bodyInstanceIDs[t][e])
                        if seen[site] == nil { siteOrder.append((site, f.target)) }
                        seen[site, default: []].append((i, resolvers[i].resolve(f.target)))
                    }
                }
            }
        }
        // A function pays when some referrer field run by two images that may use its stub sees
        // two addresses of it.
        var pays = Set<Int32>()
        for (site, s) in siteOrder where !pays.contains(s) {
            let vs = seen[site]!.filter { !blocked[$0.image].contains(s) }
            if vs.count >= 2 && vs.contains(where: { $0.value != vs[0].value }) { pays.insert(s) }
        }
        guard !pays.isEmpty else { return 0 }
        // The table: the one every image holds at one address with one slot list, or a new one.
        var table: TrampolineTable
        let shared = layouts.first?.trampolines.first { tt in layouts.allSatisfy { $0.trampolines.contains(tt) } }
        if let shared { table = shared } else {
            let end = layouts.flatMap(\.trampolines).map { $0.address + UInt64($0.reservedBytes) }.max() ?? AddressMap.trampolineBase
            table = TrampolineTable(address: alignUp(max(end, AddressMap.trampolineBase), ps), slotSize: slotSize, slots: [], reservedBytes: 0)
        }
        var slotOf: [Int32: Int] = [:]
        for (n, slot) in table.slots.enumerated() where slot.addend == -4 && slotOf[slot.target] == nil { slotOf[slot.target] = n }
        for s in pays.sorted() {
            if let n = slotOf[s] { table.slots[n].canonicalStub = true; continue }
            slotOf[s] = table.slots.count
            table.slots.append(TrampolineSlot(target: s, addend: -4, canonicalStub: true))
        }
        let reserved = max(table.reservedBytes, Int(alignUp(UInt64(table.slots.count * table.slotSize), ps)))
        let old = shared
        table.reservedBytes = reserved
        for i in layouts.indices {
            if let old, let n = layouts[i].trampolines.firstIndex(of: old) {
                layouts[i].trampolines[n] = table
                for r in layouts[i].regions.indices where layouts[i].regions[r].name == "ind" && layouts[i].regions[r].start == table.address {
                    layouts[i].regions[r].size = UInt64(reserved)
                }
            } else {
                layouts[i].trampolines.append(table)
                layouts[i].regions.append(Region(name: "ind", start: table.address, size: UInt64(reserved), pageAligned: true))
            }
            for (field, s) in fields[i] where pays.contains(s) && !blocked[i].contains(s) {
                layouts[i].redirects[field] = table.address + UInt64(slotOf[s]! * table.slotSize)
            }
        }
        return pays.count
    }
}

extension StrategySupport {
    /// Walks the entries of `kinds` of every image (images in workload order, tables in row order,
    /// entries in link order) for strategies that make one item per body instance (`bin-packing`,
    /// `strip-packing`). `new(image, table, entry, variant)` is called when a body instance is
    /// first seen: the caller appends its item, whose index is the number of earlier `new` calls.
    /// `again(item, image, variant)` is called once for each later image holding that body
    /// instance. `variant` is the entry's `relocationVariant` in that image (`VariantTable`).
    /// - Returns: per body instance id, its item index (−1: no entry of `kinds`).
    @inline(__always) @discardableResult
    static func forEachBodyInstance(_ w: Workload, kinds: Set<EntryKind>,
                                    new: (_ image: Int, _ table: Int, _ entry: Int, _ variant: UInt64) -> Void,
                                    again: (_ item: Int, _ image: Int, _ variant: UInt64) -> Void) -> [Int32] {
        var index = [Int32](repeating: -1, count: w.bodyInstanceCount)
        var lastImage: [Int] = []
        var variants = VariantTable(w)
        for (i, img) in w.images.enumerated() {
            variants.select(image: i, in: w)
            for t in img.tables {
                let entries = w.tables[t].entries, ids = w.bodyInstanceIDs[t]
                for e in entries.indices where kinds.contains(entries[e].kind) {
                    let b = Int(ids[e])
                    let x = Int(index[b])
                    if x < 0 {
                        index[b] = Int32(lastImage.count)
                        lastImage.append(i)
                        new(i, t, e, variants.variant(w, table: t, entry: e))
                    } else if lastImage[x] != i {
                        lastImage[x] = i
                        again(x, i, variants.variant(w, table: t, entry: e))
                    }
                }
            }
        }
        return index
    }
}
