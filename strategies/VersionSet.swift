import SpacerCore

/// `version-set`: bodies grouped by the exact set of images that hold them, larger sets first,
/// one address per body in every image (issue 12, "Dominate Spacer-Δ"), with the remedies that
/// keep unchanged code byte-identical across versions:
///
/// - **nested fill**: a body may fill free space at the end of a page whose image set contains
///   the body's own (those images map the page anyway, so no image maps an extra page); images
///   that do not use it map it as a dead copy, pinned like Spacer-Δ's;
/// - **stable data slots**: a data entry that changes between versions (same library, kind,
///   object and name) keeps one address in every image: the slot is as large as its largest
///   version at the largest alignment, one "lane" (body) per version; slots sit in groups of
///   their own, sorted by how their lanes split the images, so a slot page has few variants. A
///   slot is made only where it pays: some body referencing one of its versions (within its
///   table) is held by images of two lanes, whose bytes the one address keeps equal;
/// - **stable function slots**: the same for functions, so that callers and taken addresses of
///   a changed function see one address;
/// - **rodata with code**: read-only data placed with the functions in the code zone, so that
///   each fills the other's page tails;
/// - **jump slots**: direct branches of a body run by several images whose target differs go
///   through one compact jump table (`StrategySupport.addBranchTrampolines`), mapped only by
///   the images that use a slot of it.
///
/// Every image maps only the pages that hold something it uses (plus the dead copies on them).
/// Dead copies never run; their fields are pinned to the value the images that run the copy give
/// them (`StrategySupport.pinDeadCopies`).
///
/// Source: the measured model of issue 12 (bodies by exact image set, nested fill, stable slots);
/// jump slots and pinned dead copies as Spacer-Δ (Gain et al., CLOUD 2025) uses them.
public struct VersionSetStrategy: PlacementStrategy {
    public static let name = "version-set"
    public static let summary = "bodies grouped by exact image set, nested fill, stable data/function slots, compact jump table"
    public static let parameters = [
        ParameterSpec("nested-fill", .bool, default: "true", help: "let a body fill the free tail of a page whose image set contains its own"),
        ParameterSpec("stable-data-slots", .bool, default: "true", help: "a changed data entry (same library, object, name) keeps one address in every image"),
        ParameterSpec("stable-function-slots", .bool, default: "true", help: "a changed function (same library, object, name) keeps one address in every image"),
        ParameterSpec("rodata-with-code", .bool, default: "true", help: "place read-only data in the code zone with the functions, so that both fill each other's page tails"),
        ParameterSpec("trampolines", .bool, default: "true", help: "send direct calls/jumps of shared bodies whose target differs between images through a jump table"),
        ParameterSpec("page-fit-slots", .bool, default: "true", help: "no stable slot larger than a page, and none straddles a page boundary (the simulator then predicts the real build exactly; see docs/strategies.md)"),
        ParameterSpec("slot-size", .int, default: "8", help: "bytes per jump slot (8..64)", range: 8...64),
        ParameterSpec("canonical-stubs", .bool, default: "true", help: "a function whose address shared code or data takes, and which moves between images, gets one stub (a jump slot) at one address in every image; every live reference to its address in an image then uses the stub (only where every one can)"),
        ParameterSpec("address-slots-only", .bool, default: "true", help: "with trampolines, make a function slot only where a shared referrer takes the function's address (a field a jump slot cannot carry); calls reach a moved function through the jump table"),
    ]
    let nestedFill: Bool
    let dataSlots: Bool
    let functionSlots: Bool
    let trampolines: Bool
    let rodataWithCode: Bool
    let pageFitSlots: Bool
    let slotSize: Int
    let addressSlotsOnly: Bool
    let canonicalStubs: Bool
    /// - Throws: `SpacerError.usage` for a `slot-size` outside 8...64 bytes.
    public init(parameters: StrategyParameters) throws {
        nestedFill = parameters.bool("nested-fill")
        dataSlots = parameters.bool("stable-data-slots")
        functionSlots = parameters.bool("stable-function-slots")
        trampolines = parameters.bool("trampolines")
        rodataWithCode = parameters.bool("rodata-with-code")
        pageFitSlots = parameters.bool("page-fit-slots")
        slotSize = parameters.int("slot-size")
        addressSlotsOnly = parameters.bool("address-slots-only")
        canonicalStubs = parameters.bool("canonical-stubs")
        guard (8...64).contains(slotSize) else { throw SpacerError.usage("version-set: slot-size must be 8..64, found \(slotSize)") }
    }

    /// One placement unit: a body instance, or a stable slot holding one body per lane.
    struct Unit {
        /// Body instances (one for a plain unit, one per lane for a slot), and where each is used.
        var bodies: [Int32]
        var sites: [[(image: Int, k: Int, e: Int)]]
        var size: Int
        var align: Int
        var images: ImageSet
        /// For a slot: per image of the workload, the lane it uses (−1: none). Empty for a plain unit.
        var lanes: [Int]
    }

    /// One layout per image of `w` at `context.pageSize`: code (and, with `rodata-with-code`, read-only
    /// data) from the code zone, writable data from the writable zone, the jump table in the
    /// trampoline zone. Deterministic; never fails for a workload `Workload.init` accepted.
    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        let ps = context.pageSize
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        var placed: [StrategySupport.PlacedUnit] = []
        let code = AddressMap.codeStart(pageSize: ps)
        let zones: [(UInt64, Set<EntryKind>)] = rodataWithCode
            ? [(code, Set([EntryKind.function, .rodata])), (AddressMap.writableBase, Set([EntryKind.data, .bss]))]
            : [(code, Set([EntryKind.function])), (AddressMap.rodataBase, Set([EntryKind.rodata])), (AddressMap.writableBase, Set([EntryKind.data, .bss]))]
        var slotKinds = Set<EntryKind>()
        if functionSlots { slotKinds.insert(.function) }
        if dataSlots { slotKinds.formUnion([.rodata, .data, .bss]) }
        for (zone, kinds) in zones {
            let units = Self.units(w, kinds: kinds, slotKinds: slotKinds, maxSlotBytes: pageFitSlots ? ps : Int.max,
                                   callsThroughJumpSlots: trampolines && addressSlotsOnly)
            placed += placeUnits(w, units, &layouts, zone: zone, pageSize: ps)
        }
        StrategySupport.mapUsedPages(w, &layouts, units: placed, pageSize: ps)
        if trampolines { StrategySupport.addBranchTrampolines(w, &layouts, pageSize: ps, slotSize: slotSize) }
        if canonicalStubs { StrategySupport.addCanonicalStubs(w, &layouts, pageSize: ps, slotSize: slotSize) }
        if trampolines || canonicalStubs { StrategySupport.dropUnusedTrampolineTables(&layouts) }
        StrategySupport.pinDeadCopies(w, &layouts)
        return PlacementResult(layouts: layouts)
    }

    /// The units of the entries of `kinds`, in order of first appearance (images in workload
    /// order, tables in row order, entries in link order). For the kinds in `slotKinds`, the body instances of
    /// one (library, kind, object, name) that differ between versions form one slot, provided
    /// the name occurs once per table and none of the bodies is used under another name.
    /// A slot larger than `maxSlotBytes` is not made. With `callsThroughJumpSlots`, a function
    /// slot pays only through referrers whose reference cannot go through a jump slot
    /// (`RelocationField.slottable` false: the function's address taken), since the jump table
    /// already keeps a moved callee's callers byte-identical.
    static func units(_ w: Workload, kinds: Set<EntryKind>, slotKinds: Set<EntryKind>, maxSlotBytes: Int,
                      callsThroughJumpSlots: Bool = false) -> [Unit] {
        struct Key: Hashable { var library: String; var kind: EntryKind; var object: String; var name: String }
        var index: [Int32: Int] = [:]          // body instance -> unit
        var units: [Unit] = []
        var keyOf: [Int32: Key] = [:]          // body instance -> the key it is first used under
        var manyKeys = Set<Int32>()            // body instances used under two keys or more
        var keyBodies: [Key: [Int32]] = [:]
        var keyOrder: [Key] = []
        var badKeys = Set<Key>()
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                let table = w.tables[t]
                var seen = Set<Key>()
                for (e, entry) in table.entries.enumerated() where kinds.contains(entry.kind) {
                    let b = w.bodyInstanceIDs[t][e]
                    let key = Key(library: table.library, kind: entry.kind, object: entry.object, name: entry.name)
                    if !seen.insert(key).inserted { badKeys.insert(key) }
                    if let old = keyOf[b] { if old != key { manyKeys.insert(b) } } else { keyOf[b] = key }
                    if let u = index[b] {
                        if !units[u].images.contains(i) { units[u].images.insert(i) }
                        units[u].sites[0].append((i, k, e))
                    } else {
                        index[b] = units.count
                        var set = ImageSet(count: w.images.count); set.insert(i)
                        units.append(Unit(bodies: [b], sites: [[(i, k, e)]], size: entry.size, align: entry.align, images: set, lanes: []))
                        if keyBodies[key] == nil { keyOrder.append(key) }
                        keyBodies[key, default: []].append(b)
                    }
                }
            }
        }
        guard !slotKinds.isDisjoint(with: kinds) else { return units }
        // Who holds each body instance, and which body instances reference each one (within a
        // table): a slot pays only where a referrer is shared by images of different lanes.
        var holders: [Int32: ImageSet] = [:]
        for (i, img) in w.images.enumerated() {
            for t in img.tables { for b in w.bodyInstanceIDs[t] { holders[b, default: ImageSet(count: w.images.count)].insert(i) } }
        }
        var referrers: [Int32: Set<Int32>] = [:]
        for t in Set(w.images.flatMap(\.tables)) {
            var defining: [Int32: Int32] = [:]
            for (e, entry) in w.tables[t].entries.enumerated() where kinds.contains(entry.kind) { defining[w.symbolIDs[t][e]] = w.bodyInstanceIDs[t][e] }
            for (e, targets) in w.targetSymbols[t].enumerated() {
                for (r, s) in targets.enumerated() {
                    guard let b = defining[s] else { continue }
                    if callsThroughJumpSlots && w.relocationFields[t][e][r].slottable { continue }
                    referrers[b, default: []].insert(w.bodyInstanceIDs[t][e])
                }
            }
        }
        // Merge the bodies of each eligible key into its first body's unit.
        var merged = [Bool](repeating: false, count: units.count)
        for key in keyOrder where !badKeys.contains(key) && slotKinds.contains(key.kind) {
            let bodies = keyBodies[key]!
            guard bodies.count >= 2, bodies.allSatisfy({ !manyKeys.contains($0) }) else { continue }
            let first = index[bodies[0]]!
            var u = units[first]
            u.lanes = [Int](repeating: -1, count: w.images.count)
            for s in u.sites[0] { u.lanes[s.image] = 0 }
            for b in bodies.dropFirst() {
                let o = index[b]!
                merged[o] = true
                let lane = u.bodies.count
                u.bodies.append(b); u.sites.append(units[o].sites[0])
                u.size = max(u.size, units[o].size); u.align = max(u.align, units[o].align)
                for s in units[o].sites[0] { u.lanes[s.image] = lane; u.images.insert(s.image) }
            }
            let pays = bodies.contains { b in
                (referrers[b] ?? []).contains { r in
                    guard let h = holders[r] else { return false }
                    var lanes = Set<Int>()
                    for i in w.images.indices where h.contains(i) && u.lanes[i] >= 0 { lanes.insert(u.lanes[i]) }
                    return lanes.count >= 2
                }
            }
            guard pays && u.size <= maxSlotBytes else { for b in bodies.dropFirst() { merged[index[b]!] = false }; continue }
            units[first] = u
        }
        return units.indices.filter { !merged[$0] }.map { units[$0] }
    }

    /// Places units group by group (one group per image set, and for slots per lane pattern),
    /// groups with more images first; returns where each unit went.
    func placeUnits(_ w: Workload, _ units: [Unit], _ layouts: inout [ImageLayout], zone: UInt64, pageSize ps: Int) -> [StrategySupport.PlacedUnit] {
        struct GroupKey: Hashable { var images: ImageSet; var slot: Bool }
        var groupOf: [GroupKey: Int] = [:]
        var groups: [(key: GroupKey, units: [Int])] = []
        for (n, u) in units.enumerated() {
            let key = GroupKey(images: u.images, slot: !u.lanes.isEmpty)
            if let g = groupOf[key] { groups[g].units.append(n) } else { groupOf[key] = groups.count; groups.append((key, [n])) }
        }
        // Within a slot group, slots that split the images the same way sit together, so that a
        // page holds few distinct lane patterns (its variants are their join).
        for g in groups.indices where groups[g].key.slot {
            groups[g].units = groups[g].units.enumerated().sorted { a, b in
                let x = units[a.element].lanes, y = units[b.element].lanes
                return x != y ? x.lexicographicallyPrecedes(y) : a.offset < b.offset
            }.map(\.element)
        }
        let order = groups.indices.sorted { (groups[$0].key.images.count, -$0) > (groups[$1].key.images.count, -$1) }
        // Free page tails: [next, pageEnd) in a page mapped by every image of `images`.
        var open: [(next: UInt64, end: UInt64, images: ImageSet)] = []
        var cursor = zone
        var address = [UInt64](repeating: 0, count: units.count)
        let page = UInt64(ps)
        for g in order {
            let isSlot = groups[g].key.slot
            let set = groups[g].key.images
            var rest: [Int] = []
            let candidates = nestedFill && !isSlot ? open.indices.filter { open[$0].images.isSuperset(of: set) } : []
            for n in groups[g].units {
                let u = units[n]
                var done = false
                for c in candidates {
                    let a = alignUp(open[c].next, u.align)
                    if a + UInt64(u.size) <= open[c].end { address[n] = a; open[c].next = a + UInt64(u.size); done = true; break }
                }
                if !done { rest.append(n) }
            }
            guard !rest.isEmpty else { continue }
            var c = alignUp(cursor, ps)
            for n in rest {
                c = alignUp(c, units[n].align)
                if pageFitSlots && isSlot && c % page + UInt64(units[n].size) > page { c = alignUp(c, ps) }
                address[n] = c
                c += UInt64(units[n].size)
            }
            cursor = c
            if nestedFill && c % page != 0 { open.append((c, alignUp(c, ps), set)) }
            open.removeAll { $0.end - $0.next < 8 }
        }
        var out: [StrategySupport.PlacedUnit] = []
        for (n, u) in units.enumerated() {
            for sites in u.sites { for s in sites { layouts[s.image].addresses[s.k][s.e] = address[n] } }
            // The lane a non-holder maps as a dead copy: the one most images use.
            var best = 0
            if !u.lanes.isEmpty {
                var count = [Int](repeating: 0, count: u.bodies.count)
                for l in u.lanes where l >= 0 { count[l] += 1 }
                best = count.indices.max { (count[$0], -$0) < (count[$1], -$1) }!
            }
            let (i, k, e) = u.sites[best][0]
            out.append(StrategySupport.PlacedUnit(address: address[n], size: u.size, images: u.images,
                                                  table: w.images[i].tables[k], entry: e))
        }
        return out
    }
}
