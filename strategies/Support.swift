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
        for (i, img) in w.images.enumerated() {
            var cursor = start
            for (k, t) in img.tables.enumerated() {
                for (e, entry) in w.tables[t].entries.enumerated() where kinds.contains(entry.kind) {
                    if let keep, !keep(i, k, e) { continue }
                    cursor = alignUp(cursor, pageEach ? max(pageSize, entry.align) : entry.align)
                    layouts[i].addresses[k][e] = cursor
                    cursor += UInt64(entry.size)
                }
            }
            if cursor > start { layouts[i].regions.append(Region(name: regionName, start: start, size: cursor - start, pageAligned: true)) }
            ends.append(cursor)
        }
        return ends
    }

    /// The data policy of docs/design.md §4 ("at the least"): each library's read-only data in a
    /// region whose address is the same in every image that holds the library (rodata zone), its
    /// writable data and bss likewise (writable zone), objects in link order. Each library's region
    /// is page-aligned and as large as its largest version in the workload.
    public static func placeDataByLibrary(_ w: Workload, _ layouts: inout [ImageLayout], pageSize: Int,
                                          keep: ((Int, Int, Int) -> Bool)? = nil) {
        for (zone, kinds) in [(AddressMap.rodataBase, [EntryKind.rodata]), (AddressMap.writableBase, [.data, .bss])] {
            var cursor = zone
            for lib in w.libraries {
                let start = alignUp(cursor, pageSize)
                var maxEnd = start
                for (i, img) in w.images.enumerated() {
                    guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { continue }
                    let t = img.tables[k]
                    var c = start
                    for kind in kinds {
                        for (e, entry) in w.tables[t].entries.enumerated() where entry.kind == kind {
                            if let keep, !keep(i, k, e) { continue }
                            c = alignUp(c, entry.align)
                            layouts[i].addresses[k][e] = c
                            c += UInt64(entry.size)
                        }
                    }
                    if c > start {
                        layouts[i].regions.append(Region(name: "\(kinds[0].rawValue):\(lib)", start: start, size: c - start, pageAligned: true))
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
        // For each body instance: the images holding it, and (image, k, e) sites.
        var firstSeen: [Int32: Int] = [:]
        var order: [Int32] = []
        var holders: [Int32: [Int]] = [:]
        var sites: [Int32: [(Int, Int, Int)]] = [:]
        var sizeAlign: [Int32: (Int, Int)] = [:]
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                let ids = w.bodyInstanceIDs[t]
                for (e, entry) in w.tables[t].entries.enumerated() where kinds.contains(entry.kind) {
                    let b = ids[e]
                    if firstSeen[b] == nil { firstSeen[b] = order.count; order.append(b); sizeAlign[b] = (entry.size, entry.align) }
                    if holders[b]?.last != i { holders[b, default: []].append(i) }
                    sites[b, default: []].append((i, k, e))
                }
            }
        }
        // Group by signature.
        var groupOf: [[Int]: Int] = [:]
        var groups: [(sig: [Int], bodies: [Int32])] = []
        for b in order {
            let sig = holders[b]!
            if let g = groupOf[sig] { groups[g].bodies.append(b) } else { groupOf[sig] = groups.count; groups.append((sig, [b])) }
        }
        let shared = groups.indices.filter { groups[$0].sig.count >= 2 }
            .sorted { (groups[$0].sig.count, -$0) > (groups[$1].sig.count, -$1) }
        var cursor = zone
        for g in shared {
            let start = alignGroups ? alignUp(cursor, pageSize) : cursor
            var c = start
            for b in groups[g].bodies {
                let (size, align) = sizeAlign[b]!
                c = alignUp(c, align)
                for (i, k, e) in sites[b]! { layouts[i].addresses[k][e] = c }
                c += UInt64(size)
            }
            for i in groups[g].sig where c > start {
                layouts[i].regions.append(Region(name: "\(regionName):shared", start: start, size: c - start, pageAligned: start % UInt64(pageSize) == 0))
            }
            cursor = c
        }
        let singleStart = alignUp(cursor, pageSize)
        var ends = [UInt64](repeating: singleStart, count: w.images.count)
        for g in groups.indices where groups[g].sig.count == 1 {
            let i = groups[g].sig[0]
            for b in groups[g].bodies {
                let (size, align) = sizeAlign[b]!
                ends[i] = alignUp(ends[i], align)
                for (ii, k, e) in sites[b]! { layouts[ii].addresses[k][e] = ends[i] }
                ends[i] += UInt64(size)
            }
        }
        for i in w.images.indices where ends[i] > singleStart {
            layouts[i].regions.append(Region(name: "\(regionName):own", start: singleStart, size: ends[i] - singleStart, pageAligned: true))
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
