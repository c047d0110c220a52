import SpacerCore

/// A cause of frames above `lower_bound_frames` (docs/design.md §4, "Loss attribution"), by the
/// name `explain` prints. The cases are listed in the order of the counterfactual chain.
public enum LossCause: String, CaseIterable, Sendable, Hashable {
    /// Frames KSM's `max_page_sharing` adds beyond the cap's share of the bound.
    case ksmCap = "ksm-cap"
    /// Frames writable pages cost because they are private (`loader`) or flagged writable.
    case writable
    /// Frames of trampoline-table (`.ind`) pages: private by default, and keyed by their slots.
    case trampolineTables = "trampoline-tables"
    /// Pages that differ only in a function's address taken as a value (`lea f`, function
    /// pointers in data, jump tables): fields to a function that are not direct branches.
    case addressDivergence = "address-divergence"
    /// Pages that differ only in direct-branch displacements (`call`/`jmp`/`jcc` rel32 to a
    /// function or external symbol): what jump slots would fix.
    case callDivergence = "call-divergence"
    /// Pages that differ only in references to data entries (rodata, data, bss).
    case dataDivergence = "data-divergence"
    /// Bodies equal with relocation fields zeroed but with different relocation lists: pages
    /// that differ only in which targets or addends their fields name, plus the extra copies a
    /// content needs because its relocation lists differ.
    case identityDuplication = "identity-duplication"
    /// Content held in more than one page content class for any other reason: a body that sits
    /// at different in-page offsets or beside different neighbours in different images (bodies of
    /// different image sets sharing a page, shifted link order).
    case imageSetBoundary = "image-set-boundary"
    /// Bytes of distinct page contents that hold no content byte: fill, alignment, page tails,
    /// zero pages and the slots of removed trampoline tables.
    case padding
}

/// `frames − lower_bound_frames` of one placement split into causes that add up exactly
/// (`Simulator.attributeLoss`).
public struct LossAttribution: Sendable, Hashable {
    /// One cause's share.
    public struct Part: Sendable, Hashable {
        /// The cause.
        public var cause: LossCause
        /// Frames attributed to the cause, ≥ 0.
        public var frames: Int
        /// Mapped pages (counted per instance) that the cause's counterfactual step merges with
        /// another page content class (`ksm-cap`: mappings of contents over the cap); nil for the
        /// causes measured on bytes only (`image-set-boundary`, `padding`).
        public var pages: Int?
    }
    /// One counterfactual of the chain: its name, its frame count and the lower bound valid for it.
    public struct Step: Sendable, Hashable {
        /// What the step changes (`layout`, `no ksm cap`, … `lower bound`).
        public var name: String
        /// Frames the counterfactual counts.
        public var frames: Int
        /// The lower bound valid for it (`lower_bound_frames`, then without cap, then
        /// ⌈distinct content bytes / page size⌉).
        public var bound: Int
    }
    /// The real frame count (`Metrics.frames`).
    public var frames: Int
    /// `Metrics.lowerBoundFrames`.
    public var lowerBoundFrames: Int
    /// `Metrics.totalPages`.
    public var totalPages: Int
    /// One part per `LossCause`, in `LossCause.allCases` order; Σ frames = frames − lowerBoundFrames.
    public var parts: [Part]
    /// The chain, real layout first, the bound last (docs/design.md §4).
    public var steps: [Step]
    /// The simulator's metrics of the real layout.
    public var metrics: Metrics

    /// The part of `cause`.
    public func part(_ cause: LossCause) -> Part { parts.first { $0.cause == cause }! }
}

extension Simulator {
    /// The class of a page a counterfactual does not count (a page of trampoline slots only).
    static let absent = Int32.min

    /// Splits `frames − lower_bound_frames` of `layouts` into `LossCause`s by a chain of
    /// counterfactual simulations of the same layout (docs/design.md §4, "Loss attribution").
    ///
    /// The chain (each step keeps every earlier change):
    /// 1. `ksm-cap`: frames = distinct page content keys (no cap), bound without cap.
    /// 2. `writable`: writable pages keyed like read-only ones (no writable flag, no loader-private
    ///    pages); from here on the bound is ⌈distinct content bytes / page size⌉.
    /// 3. `trampoline-tables`: trampoline-table bytes leave the key, and a page holding nothing
    ///    but slots and fill is not counted (as if the tables were not mapped).
    /// 4. `address-divergence`: every field to a function that is not a direct branch is keyed by
    ///    (target symbol, addend) instead of its resolved value, as if every image agreed on the
    ///    address; 5. `call-divergence`: the same for direct-branch fields
    ///    (`RelocationField.slottable`); 6. `data-divergence`: the same for fields to data.
    ///    A redirected field (through a slot, or pinned to an old copy) is keyed by the target it
    ///    reaches like any other, so a field direct in one image and redirected in another agree.
    /// 7. `identity-duplication` (pages): relocation fields leave the key (bodies keyed by
    ///    content alone).
    /// Then, on the page content classes K of step 7, bytes only: with B = Σ over classes of
    /// their content bytes, D the distinct content bytes the images keep, C the page size:
    /// 8. `padding`: ⌈B / C⌉ (classes without fill);
    /// 9. `identity-duplication` (copies): ⌈(B − X) / C⌉ where X = Σ over contents c of
    ///    min(duplicate bytes of c, (m(c) − 1) · size(c)), m(c) the distinct bodies (relocation
    ///    lists) with content c that the images map, duplicate bytes = bytes of c over K − size(c);
    /// 10. `image-set-boundary`: ⌈D / C⌉, the bound.
    ///
    /// Each step's excess is its frames minus its own bound (≥ 0: every step keys pieces by
    /// offset, content and slice, so its classes hold every distinct content byte). The cause of
    /// a step is the drop of the running minimum of the excess, so every part is ≥ 0 and the
    /// parts sum exactly to frames − lower_bound_frames. A step whose excess would rise (the cap's
    /// or the loader's share of the bound exceeding what the layout pays, or a rare re-keying
    /// that splits a class) contributes 0, and the rise is absorbed by the causes after it (their
    /// drops count only below the running minimum).
    ///
    /// - Parameters: as `simulate`.
    /// - Returns: the parts, the chain and the real metrics.
    /// - Throws: what `simulate` throws; `.internalInvariant` when the chain's own walk disagrees
    ///   with the simulator (frames or pages of the real layout) or a step goes below its bound.
    /// - Complexity: O(P + R + E log E) per image, as `simulate`, times the 7 keys per page.
    public static func attributeLoss(_ w: Workload, layouts: [ImageLayout], options: SimulationOptions,
                                     allowRemoval: Bool = false) throws -> LossAttribution {
        let real = try simulate(w, layouts: layouts, options: options, allowRemoval: allowRemoval)
        let ps = options.pageSize
        let rule = options.frameRule
        let levels = 7
        let resolve = options.xrefs == .resolve
        // Field classes: 0 call (slottable), 1 address (to a function or external), 2 data.
        let fieldClass: [UInt8] = w.flatRelocations.map { f in f.slottable ? 0 : (w.symbolIsFunction[Int(f.target)] ? 1 : 2) }
        // The level from which a field of each class is keyed by identity.
        let identityFrom: [Int] = [4, 3, 5]

        var classIndex = [[PageDigest: Int32]](repeating: [:], count: levels)
        var mappings = [[Int]](repeating: [], count: levels)
        var pageClass: [Int32] = []          // levels per page record
        var pageInstances: [Int] = []
        var privateInstances = 0, walkedPages = 0
        var bytesInClasses = [Int](repeating: 0, count: w.contentCount)
        var kept = [Bool](repeating: false, count: w.contentCount)
        var contentSize = [Int](repeating: 0, count: w.contentCount)
        var bodiesOf = [Set<Int32>](repeating: [], count: w.contentCount)

        for (i, image) in w.images.enumerated() {
            let layout = layouts[i]
            let pieces = LayoutCheck.pieces(workload: w, image: i, layout: layout)
            let (redirectFields, redirectSlots) = layout.redirects.sorted()
            let resolver = SymbolResolver(workload: w, image: i, layout: layout)
            for pc in pieces where pc.table >= 0 {
                let f = w.entryBase[pc.table] + pc.entry
                let c = w.flatContentIDs[f]
                guard c >= 0 else { continue }
                contentSize[Int(c)] = w.flatSizes[f]
                bodiesOf[Int(c)].insert(w.bodyIDs[pc.table][pc.entry])
                if !pc.extra { kept[Int(c)] = true }
            }
            // Mapped page numbers, as `pageKeys` takes them.
            let P = UInt64(ps)
            var numbers: [UInt64] = []
            for r in layout.regions where r.size > 0 { var p = r.start / P; while p * P < r.end { numbers.append(p); p += 1 } }
            for pc in pieces where pc.size > 0 { var p = pc.start / P; while p * P < pc.end { numbers.append(p); p += 1 } }
            numbers.sort()
            var unique: [UInt64] = []
            for n in numbers where unique.last != n { unique.append(n) }
            var first = 0
            for n in unique {
                let pStart = n * P, pEnd = pStart + P
                while first < pieces.count && (pieces[first].end <= pStart || pieces[first].size == 0) { first += 1 }
                var d = [PageDigest](repeating: PageDigest(), count: levels)
                var writable = false, hasSlots = false
                var slices: [(content: Int32, bytes: Int)] = []
                var j = first
                while j < pieces.count && pieces[j].start < pEnd {
                    let pc = pieces[j]; j += 1
                    if pc.size == 0 || pc.end <= pStart { continue }
                    let sStart = Int(max(pStart, pc.start) - pc.start)
                    let sEnd = Int(min(pEnd, pc.end) - pc.start)
                    let inPage = max(pStart, pc.start) - pStart
                    if pc.table < 0 {
                        // Trampoline table: keyed at levels 0 and 1 exactly as `pageKeys` does.
                        let tt = layout.trampolines[pc.entry]
                        hasSlots = true
                        for l in 0..<2 {
                            d[l].add(inPage); d[l].add(-2)
                            if !tt.contentKeyed { d[l].add(-1000 - i) }
                            d[l].add(sStart); d[l].add(sEnd - sStart)
                            if resolve, tt.slotSize > 0 {
                                var k = sStart / tt.slotSize
                                while k < tt.slots.count && k * tt.slotSize < sEnd {
                                    let s = tt.slots[k]
                                    d[l].add(k); d[l].add(UInt64(bitPattern: Int64(bitPattern: resolver.resolve(s.target)) &+ s.addend))
                                    k += 1
                                }
                            }
                        }
                        continue
                    }
                    let flat = w.entryBase[pc.table] + pc.entry
                    if w.flatWritable[flat] { writable = true }
                    let cid = w.flatContentIDs[flat]
                    if cid == Workload.zeroContent { continue }
                    slices.append((cid, sEnd - sStart))
                    let h0 = inPage << 32 | UInt64(sEnd - sStart), h1 = UInt64(UInt32(bitPattern: cid)) << 32 | UInt64(sStart)
                    for l in 0..<levels { d[l].add(h0); d[l].add(h1) }
                    guard resolve else { continue }
                    let rStart = w.flatRelocationStart[flat], rEnd = w.flatRelocationStart[flat + 1]
                    // The fields `pageKeys` visits: from the first whose field ends after the slice start.
                    var a = rStart, b = rEnd
                    while a < b {
                        let mid = (a + b) / 2
                        if Int(w.flatRelocations[mid].offset) + Int(w.flatRelocations[mid].width) <= sStart { a = mid + 1 } else { b = mid }
                    }
                    var r = a
                    while r < rEnd && Int(w.flatRelocations[r].offset) < sEnd {
                        let rel = w.flatRelocations[r]
                        defer { r += 1 }
                        let F = pc.start + UInt64(rel.offset)
                        var lo = 0, hi = redirectFields.count
                        while lo < hi { let mid = (lo + hi) / 2; if redirectFields[mid] < F { lo = mid + 1 } else { hi = mid } }
                        let redirected = lo < redirectFields.count && redirectFields[lo] == F
                        let S = redirected ? redirectSlots[lo] : resolver.resolve(rel.target)
                        var v = Int64(bitPattern: S) &+ rel.addend
                        if rel.pcRelative { v = v &- Int64(bitPattern: F) }
                        let width = Int(rel.width)
                        let offset = UInt64(Int(rel.offset) - sStart + 8)
                        // Redirected or not: a field keyed by identity is keyed by the target it
                        // reaches (a slot leads to the very target, a pin to its old copy), so
                        // that one field direct in one image and redirected in another agree.
                        let from = identityFrom[Int(fieldClass[r])]
                        for l in 0..<(levels - 1) {
                            if l < from {
                                if width == 8 { d[l].add(offset); d[l].add(UInt64(bitPattern: v)) }
                                else { d[l].add(offset << 32 | (UInt64(bitPattern: v) & ((1 << UInt64(width * 8)) - 1))) }
                            } else {
                                d[l].add(offset); d[l].add(-4); d[l].add(Int(rel.target)); d[l].add(UInt64(bitPattern: rel.addend))
                            }
                        }
                    }
                }
                if writable { d[0].add(-3) }
                let inst = image.instances
                let isPrivate = rule.isPrivate(writable: writable)
                // A page of slots only (no content, no bss) is not counted once the tables are removed.
                let slotsOnly = hasSlots && slices.isEmpty && !writable
                walkedPages += inst
                pageInstances.append(inst)
                for l in 0..<levels {
                    if l == 0 && isPrivate { privateInstances += inst; pageClass.append(-1); continue }
                    if l >= 2 && slotsOnly { pageClass.append(Self.absent); continue }
                    if let c = classIndex[l][d[l]] {
                        mappings[l][Int(c)] += inst; pageClass.append(c)
                    } else {
                        let c = Int32(mappings[l].count)
                        classIndex[l][d[l]] = c; mappings[l].append(inst); pageClass.append(c)
                        if l == levels - 1 { for s in slices { bytesInClasses[Int(s.content)] += s.bytes } }
                    }
                }
            }
        }

        // The counterfactual frame counts.
        let f0 = mappings[0].reduce(0) { $0 + rule.frames(mappings: $1) } + privateInstances
        guard f0 == real.frames, walkedPages == real.totalPages else {
            throw SpacerError.internalInvariant("loss attribution: the chain's walk finds \(f0) frames and \(walkedPages) pages, the simulator \(real.frames) and \(real.totalPages)")
        }
        let f1 = mappings[0].count + privateInstances
        var keyed = [f0, f1]
        for l in 1..<levels { keyed.append(mappings[l].count) }                     // steps 2…7
        let C = ps
        let classBytes = bytesInClasses.reduce(0, +)
        var distinct = 0, copies = 0
        for c in 0..<w.contentCount {
            if kept[c] { distinct += contentSize[c] }
            let dup = max(0, bytesInClasses[c] - (kept[c] ? contentSize[c] : 0))
            copies += min(dup, max(0, bodiesOf[c].count - 1) * contentSize[c])
        }
        let ceilDiv = { (x: Int) in (x + C - 1) / C }
        let b0 = real.lowerBoundFrames
        let b1 = lowerBoundFrames(w, layouts: layouts, options: SimulationOptions(pageSize: ps, dedup: options.dedup, maxPageSharing: Int.max, xrefs: options.xrefs))
        let b2 = ceilDiv(distinct)
        let ksmBound = lowerBoundFrames(w, layouts: layouts, options: SimulationOptions(pageSize: ps, dedup: .ksm, maxPageSharing: Int.max, xrefs: options.xrefs))
        guard b2 == ksmBound, classBytes >= distinct else {
            throw SpacerError.internalInvariant("loss attribution: \(distinct) distinct content bytes (\(b2) frames) against the bound's \(ksmBound), \(classBytes) bytes in page classes")
        }
        let names = ["layout", "no ksm cap", "writable as read-only", "no trampoline tables", "function addresses agree",
                     "calls agree", "data references agree", "bodies keyed by content", "no fill", "one copy per content", "lower bound"]
        let bounds = [b0, b1] + Array(repeating: b2, count: 9)
        let counts = keyed + [ceilDiv(classBytes), ceilDiv(classBytes - copies), b2]
        let steps = zip(names, zip(counts, bounds)).map { LossAttribution.Step(name: $0.0, frames: $0.1.0, bound: $0.1.1) }
        for s in steps where s.frames < s.bound {
            throw SpacerError.internalInvariant("loss attribution: step \"\(s.name)\" counts \(s.frames) frames, below its bound \(s.bound)")
        }
        // Step k's cause and the pages it merges.
        let causeOfStep: [LossCause] = [.ksmCap, .writable, .trampolineTables, .addressDivergence, .callDivergence, .dataDivergence,
                                        .identityDuplication, .padding, .identityDuplication, .imageSetBoundary]
        var frames = [LossCause: Int]()
        var running = steps[0].frames - steps[0].bound
        for k in 1..<steps.count {
            let next = min(running, steps[k].frames - steps[k].bound)
            frames[causeOfStep[k - 1], default: 0] += running - next
            running = next
        }
        // Pages: for the key steps, mappings of the classes that merge two classes of the step before.
        func merged(_ level: Int) -> Int {
            var firstBefore = [Int32](repeating: -1, count: mappings[level].count)
            var multi = [Bool](repeating: false, count: mappings[level].count)
            var gone = 0
            for p in pageInstances.indices {
                let after = pageClass[p * levels + level]
                var before = pageClass[p * levels + level - 1]
                if after == Self.absent { if before != Self.absent { gone += pageInstances[p] }; continue }
                let c = Int(after)
                if before < 0 { before = Int32(-2 - p); if pageInstances[p] > 1 { multi[c] = true } }   // private: one class per instance
                if firstBefore[c] == -1 { firstBefore[c] = before } else if firstBefore[c] != before { multi[c] = true }
            }
            return gone + multi.indices.reduce(0) { $0 + (multi[$1] ? mappings[level][$1] : 0) }
        }
        let capPages = rule.cap == Int.max ? 0 : mappings[0].reduce(0) { $0 + ($1 > rule.cap ? $1 : 0) }
        let pages: [LossCause: Int] = [.ksmCap: capPages, .writable: merged(1), .trampolineTables: merged(2), .addressDivergence: merged(3),
                                       .callDivergence: merged(4), .dataDivergence: merged(5), .identityDuplication: merged(6)]
        let parts = LossCause.allCases.map { LossAttribution.Part(cause: $0, frames: frames[$0] ?? 0, pages: pages[$0]) }
        return LossAttribution(frames: real.frames, lowerBoundFrames: b0, totalPages: real.totalPages, parts: parts, steps: steps, metrics: real)
    }
}
