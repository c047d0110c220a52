import Dispatch
import SpacerCore

/// Whether relocation values are part of page content.
public enum XrefMode: String, CaseIterable, Sendable, Codable {
    /// Resolve every relocation against the image's layout (the honest model).
    case resolve
    /// Ignore relocation values: an upper bound on sharing, labelled as such in every output.
    case ignore
}

/// Parameters of one simulation.
public struct SimulationOptions: Sendable, Hashable, Codable {
    /// Page size in bytes, a power of two from 4096 to 2^30 (page keys pack in-page offsets into
    /// 32 bits).
    public var pageSize: Int
    /// Which pages may merge (`ksm`: all; `loader`: read-only ones).
    public var dedup: DedupModel
    /// KSM's `max_page_sharing`: sharers per frame before a second frame is needed (≥ 2).
    public var maxPageSharing: Int
    /// Whether relocation values are part of page content (`ignore` is an upper bound on sharing).
    public var xrefs: XrefMode
    public init(pageSize: Int = 4096, dedup: DedupModel = .ksm, maxPageSharing: Int = 256, xrefs: XrefMode = .resolve) {
        self.pageSize = pageSize; self.dedup = dedup; self.maxPageSharing = maxPageSharing; self.xrefs = xrefs
    }
    /// The frame-counting rule of these options (dedup model and KSM cap).
    public var frameRule: FrameRule { FrameRule(dedup: dedup, maxPageSharing: maxPageSharing) }
}

/// The metrics of docs/design.md §4 for one placement of one workload. Counts are pages of
/// `pageSize` bytes; "per instance" means a page mapped by an image with 3 instances counts 3.
public struct Metrics: Sendable, Hashable {
    /// Mapped pages, counted per instance.
    public var totalPages = 0
    /// Physical frames after deduplication: under `ksm`, Σ over page content keys of
    /// ceil(count / max_page_sharing); under `loader`, one frame per read-only key (the pool has no
    /// cap) plus one frame per instance for each writable page.
    public var frames = 0
    /// Page content keys seen at least twice.
    public var pagesShared = 0
    /// Pages whose key is seen at least twice.
    public var pagesSharing = 0
    /// 100 × pagesSharing / totalPages.
    public var sharingPct = 0.0
    /// Mapped pages (per instance) holding no function, data or slot bytes.
    public var zeroPages = 0
    /// frames × page size, in MiB.
    public var memoryMiB = 0.0
    /// Mapped bytes (per instance) that hold no function, data or slot byte.
    public var paddingBytes = 0
    /// 100 × paddingBytes / mapped bytes.
    public var fragmentationPct = 0.0
    /// Σ over images (not instances) of mapped pages × page size.
    public var imageBytes = 0
    /// Pages that only one instance maps (key count 1), plus loader-private writable pages.
    public var privatePages = 0
    /// A lower bound on frames valid for every layout of the workload (see
    /// `Simulator.lowerBoundFrames(_:layouts:options:)`): at least ceil(distinct content bytes /
    /// page size), more under `loader` or when instances exceed `max_page_sharing`.
    public var lowerBoundFrames = 0
    /// 100 × (frames / lowerBoundFrames − 1).
    public var gapPct = 0.0
    public init() {}
}

/// Simulates the pages of placed images exactly and counts frames (docs/design.md §4).
///
/// Page content key: for each piece of an entry overlapping the page, in address order, the
/// offset in the page, the entry's content id, the slice of the content, and the resolved value of
/// every relocation field overlapping the slice (`S + A − P` or `S + A`, truncated to the field
/// width; `S` is the trampoline slot when the field is redirected). Trampoline pages are keyed by
/// their slot targets and, unless the table is content-keyed, by the image (private). Pages with
/// writable entries carry a writable flag. Fill bytes are one fixed value (zero, as the emitted
/// linker scripts fill), so positions decide; bss slices are zero bytes too and add nothing.
public enum Simulator {
    /// Simulates `layouts` (one per image of `workload`).
    ///
    /// - Parameters:
    ///   - allowRemoval: whether entries may be unplaced (a DCE strategy).
    ///   - pageRanges: when non-empty, only pages whose start address lies in one of these ranges
    ///     are counted (for comparing one address zone with `measure --range`); the lower bound
    ///     still covers the whole workload.
    ///   - jobs: images scored in parallel (≥ 1; more than the images' chunks of
    ///     `imagesPerChunk` are not used). The metrics and any error are the same for every value.
    /// - Returns: every metric of docs/design.md §4 except timing and solver status.
    /// - Throws: `SpacerError.usage` for a page size outside 4096…2^28 (`AddressMap.pageSizeProblem`);
    ///   `.data` naming the image and zone when a piece lies outside the zones its kind may use
    ///   (`LayoutCheck.zoneError`: the layout overflows its zone); `.internalInvariant` listing
    ///   the layout's problems when it is otherwise infeasible (overlap, misalignment, a piece
    ///   outside the mapped regions …).
    /// - Complexity: O(P + R + E log E) per image for P mapped pages, R relocations, E pieces;
    ///   memory O(distinct page keys × workers) besides the layouts.
    public static func simulate(_ workload: Workload, layouts: [ImageLayout], options: SimulationOptions,
                                allowRemoval: Bool = false, pageRanges: [Range<UInt64>] = [], jobs: Int = 1) throws -> Metrics {
        if let problem = AddressMap.pageSizeProblem(options.pageSize) { throw SpacerError.usage(problem) }
        guard layouts.count == workload.images.count else {
            throw SpacerError.internalInvariant("infeasible layout:\n  \(layouts.count) layouts for \(workload.images.count) images")
        }
        let ps = options.pageSize
        let rule = options.frameRule
        let n = workload.images.count
        let workers = max(1, min(jobs, (n + imagesPerChunk - 1) / imagesPerChunk))
        // Every image is scored on its own (checked, then keyed): sums of per-image counts and
        // one table of key counts per worker, merged at the end, so the result is the same for
        // any number of workers. Errors are replayed in image order below.
        let parts: [ScoreTally]
        if workers == 1 {
            var t = ScoreTally()
            for i in 0..<n {
                score(workload, image: i, layout: layouts[i], options: options, allowRemoval: allowRemoval, pageRanges: pageRanges, into: &t)
                // As before: stop at a layout that overflows its zone, or once 20 problems are listed.
                if t.outcomes.last?.zone != nil || t.problemCount >= 20 { break }
            }
            parts = [t]
        } else {
            let out = TallySlots(count: workers)
            DispatchQueue.concurrentPerform(iterations: workers) { k in
                var t = ScoreTally()
                var c = k * imagesPerChunk
                while c < n {
                    for i in c..<min(n, c + imagesPerChunk) {
                        score(workload, image: i, layout: layouts[i], options: options, allowRemoval: allowRemoval, pageRanges: pageRanges, into: &t)
                    }
                    c += workers * imagesPerChunk
                }
                out.set(k, t)
            }
            parts = out.take()
        }
        // Problems in image order: a zone error throws at its image (images before it that only
        // had other problems do not matter), at most 20 problems are listed.
        var outcomes = parts.flatMap(\.outcomes)
        if !outcomes.isEmpty {
            outcomes.sort { $0.image < $1.image }
            var problems: [String] = []
            for o in outcomes where problems.count < 20 {
                if let e = o.zone { throw e }
                problems += o.problems.prefix(20 - problems.count)
            }
            throw SpacerError.internalInvariant("infeasible layout:\n  " + problems.joined(separator: "\n  "))
        }
        var total = parts[0]
        for p in parts.dropFirst() { total.add(p) }
        var m = Metrics()
        m.imageBytes = total.imageBytes
        m.totalPages = total.totalPages
        m.zeroPages = total.zeroPages
        total.counts.forEachCount { c in
            m.frames += rule.frames(mappings: c)
            if c >= 2 { m.pagesShared += 1; m.pagesSharing += c } else { m.privatePages += 1 }
        }
        m.frames += total.loaderPrivate
        m.privatePages += total.loaderPrivate
        let mapped = m.totalPages * ps
        m.paddingBytes = mapped - total.usedBytes
        m.sharingPct = m.totalPages == 0 ? 0 : 100 * Double(m.pagesSharing) / Double(m.totalPages)
        m.fragmentationPct = mapped == 0 ? 0 : 100 * Double(m.paddingBytes) / Double(mapped)
        m.memoryMiB = Double(m.frames) * Double(ps) / 1_048_576
        m.lowerBoundFrames = lowerBoundFrames(workload, layouts: layouts, options: options)
        m.gapPct = m.lowerBoundFrames == 0 ? 0 : 100 * (Double(m.frames) / Double(m.lowerBoundFrames) - 1)
        return m
    }

    /// Images a worker of `simulate(jobs:)` takes at a time (workers take chunks in turn).
    static let imagesPerChunk = 8

    /// What scoring some images adds up to: per-instance sums, the key counts, and the problems
    /// of every image that had any.
    struct ScoreTally {
        var imageBytes = 0, totalPages = 0, usedBytes = 0, zeroPages = 0, loaderPrivate = 0
        var counts = PageCounter()
        var outcomes: [(image: Int, zone: SpacerError?, problems: [String])] = []
        var problemCount = 0
        mutating func add(_ o: ScoreTally) {
            imageBytes += o.imageBytes; totalPages += o.totalPages; usedBytes += o.usedBytes
            zeroPages += o.zeroPages; loaderPrivate += o.loaderPrivate
            if o.counts.count > counts.count { let mine = counts; counts = o.counts; counts.merge(mine) } else { counts.merge(o.counts) }
            outcomes += o.outcomes; problemCount += o.problemCount
        }
    }

    /// One result slot per worker of `simulate(jobs:)`; each worker writes only its own slot,
    /// and the slots are read after every worker has finished.
    private final class TallySlots: @unchecked Sendable {
        private let slots: UnsafeMutablePointer<ScoreTally?>
        private let count: Int
        init(count: Int) {
            self.count = count
            slots = .allocate(capacity: count)
            slots.initialize(repeating: nil, count: count)
        }
        func set(_ k: Int, _ t: ScoreTally) { slots[k] = t }
        func take() -> [ScoreTally] { (0..<count).map { slots[$0]! } }
        deinit { slots.deinitialize(count: count); slots.deallocate() }
    }

    /// Checks image `i`'s layout and, when it is feasible, adds its pages to `t`; otherwise
    /// records its zone error or problems (at most 20) and keys nothing.
    static func score(_ workload: Workload, image i: Int, layout: ImageLayout, options: SimulationOptions,
                      allowRemoval: Bool, pageRanges: [Range<UInt64>], into t: inout ScoreTally) {
        let ps = options.pageSize
        let rule = options.frameRule
        let pieces = LayoutCheck.pieces(workload: workload, image: i, layout: layout)
        // A layout that runs out of its zone is the workload's size meeting the strategy's
        // rule (a data error naming image and zone), not a bug.
        if let e = LayoutCheck.zoneError(workload: workload, image: i, pieces: pieces, pageSize: ps) {
            t.outcomes.append((i, e, [])); return
        }
        let redirects = layout.redirects.sorted()
        let problems = LayoutCheck.problems(workload: workload, image: i, layout: layout, pieces: pieces, redirects: redirects,
                                            pageSize: ps, allowRemoval: allowRemoval, limit: 20)
        guard problems.isEmpty else { t.outcomes.append((i, nil, problems)); t.problemCount += problems.count; return }
        let inst = workload.images[i].instances
        var pages = 0, used = 0, zero = 0, priv = 0
        walkPages(workload, image: i, layout: layout, options: options, pieces: pieces, redirects: redirects) { number, key, writable, usedBytes in
            if !pageRanges.isEmpty && !pageRanges.contains(where: { $0.contains(number * UInt64(ps)) }) { return }
            pages += 1
            used += usedBytes
            if usedBytes == 0 { zero += 1 }
            if rule.isPrivate(writable: writable) { priv += 1 } else { t.counts.add(key, inst) }
        }
        t.imageBytes += pages * ps
        t.totalPages += pages * inst
        t.usedBytes += used * inst
        t.zeroPages += zero * inst
        t.loaderPrivate += priv * inst
    }

    /// One mapped page of one image.
    public struct Page: Sendable, Hashable {
        /// Page number (address / page size).
        public var number: UInt64
        public var key: PageDigest
        public var writable: Bool
        /// Bytes of the page that hold entry or slot bytes.
        public var usedBytes: Int
    }

    /// The mapped pages of image `image`, in address order, with their content keys.
    /// The layout must be feasible (see `LayoutCheck`).
    public static func pageKeys(_ workload: Workload, image: Int, layout: ImageLayout, options: SimulationOptions) -> [Page] {
        pageKeys(workload, image: image, layout: layout, options: options,
                 pieces: LayoutCheck.pieces(workload: workload, image: image, layout: layout), redirects: layout.redirects.sorted())
    }

    /// `pageKeys` with the image's pieces (`LayoutCheck.pieces`) and sorted redirects already computed.
    static func pageKeys(_ workload: Workload, image: Int, layout: ImageLayout, options: SimulationOptions, pieces: [LayoutCheck.Piece],
                         redirects: (fields: [UInt64], slots: [UInt64])) -> [Page] {
        var out: [Page] = []
        walkPages(workload, image: image, layout: layout, options: options, pieces: pieces, redirects: redirects) { n, d, writable, used in
            out.append(Page(number: n, key: d, writable: writable, usedBytes: used))
        }
        return out
    }

    /// Calls `page(number, key, writable, usedBytes)` for every mapped page of the image, in
    /// address order (see `pageKeys`).
    /// - Complexity: O(P + R + E + G log G) for P pages, R relocation fields visited, E pieces and
    ///   G regions: pieces, fields and redirects are all walked in address order (redirects by a cursor).
    @inline(__always)
    static func walkPages(_ workload: Workload, image: Int, layout: ImageLayout, options: SimulationOptions, pieces: [LayoutCheck.Piece],
                          redirects: (fields: [UInt64], slots: [UInt64]),
                          _ page: (_ number: UInt64, _ key: PageDigest, _ writable: Bool, _ usedBytes: Int) -> Void) {
        let ps = UInt64(options.pageSize)
        let resolver = SymbolResolver(workload: workload, image: image, layout: layout)
        let (redirectFields, redirectSlots) = redirects
        var rc = 0                      // cursor into redirectFields: fields are visited in ascending order
        let entryBase = workload.entryBase, contentIDs = workload.flatContentIDs, writableEntry = workload.flatWritable
        let relocStart = workload.flatRelocationStart, allRelocs = workload.flatRelocations
        // Mapped page numbers: the union of the regions' pages, plus any page a piece touches, as
        // sorted disjoint runs [first, last] (both lists sorted by start, merged).
        var regionPages: [(UInt64, UInt64)] = []
        regionPages.reserveCapacity(layout.regions.count)
        for r in layout.regions where r.size > 0 { regionPages.append((r.start / ps, (r.end - 1) / ps)) }
        if zip(regionPages, regionPages.dropFirst()).contains(where: { $0.0 > $1.0 }) { regionPages.sort { $0.0 < $1.0 } }
        var runs: [(first: UInt64, last: UInt64)] = []
        do {
            var ri = 0, pi = 0
            while ri < regionPages.count || pi < pieces.count {
                let lo: UInt64, hi: UInt64
                if pi < pieces.count && pieces[pi].size == 0 { pi += 1; continue }
                if pi < pieces.count && (ri == regionPages.count || pieces[pi].start / ps < regionPages[ri].0) {
                    lo = pieces[pi].start / ps; hi = (pieces[pi].end - 1) / ps; pi += 1
                } else {
                    (lo, hi) = regionPages[ri]; ri += 1
                }
                if let last = runs.last, lo <= last.last &+ 1 { runs[runs.count - 1].last = max(last.last, hi) }
                else { runs.append((lo, hi)) }
            }
        }

        // The walk reads these arrays millions of times; every index below is in bounds by
        // construction, so it reads them through buffer pointers (no per-access checks).
        allRelocs.withUnsafeBufferPointer { allRelocs in
        redirectFields.withUnsafeBufferPointer { redirectFields in
        redirectSlots.withUnsafeBufferPointer { redirectSlots in
        pieces.withUnsafeBufferPointer { pieces in
        var first = 0
        for run in runs {
        var n = run.first
        while true {
            defer { n &+= 1 }
            let pStart = n * ps, pEnd = pStart + ps
            while first < pieces.count && (pieces[first].end <= pStart || pieces[first].size == 0) { first += 1 }
            var d = PageDigest()
            var writable = false
            var used = 0
            var j = first
            while j < pieces.count && pieces[j].start < pEnd {
                let pc = pieces[j]; j += 1
                if pc.size == 0 || pc.end <= pStart { continue }
                let sStart = Int(max(pStart, pc.start) - pc.start)
                let sEnd = Int(min(pEnd, pc.end) - pc.start)
                let inPage = max(pStart, pc.start) - pStart
                used += sEnd - sStart
                // bss bytes are zero, like fill: a bss slice adds nothing to the key, so that pages
                // holding only bss and fill are equal however the bss pieces are cut (as the real
                // pages are, byte for byte; measured on the linked SQLite images).
                let flat = pc.table >= 0 ? entryBase[pc.table] + pc.entry : -1
                if flat >= 0 && contentIDs[flat] == Workload.zeroContent {
                    if writableEntry[flat] { writable = true }
                    continue
                }
                if pc.table < 0 {
                    let tt = layout.trampolines[pc.entry]
                    d.add(inPage)
                    d.add(-2)
                    if !tt.contentKeyed { d.add(-1000 - image) }
                    d.add(sStart); d.add(sEnd - sStart)
                    if options.xrefs == .resolve, tt.slotSize > 0 {
                        var k = sStart / tt.slotSize
                        while k < tt.slots.count && k * tt.slotSize < sEnd {
                            let s = tt.slots[k]
                            d.add(k); d.add(UInt64(bitPattern: Int64(bitPattern: resolver.resolve(s.target)) &+ s.addend))
                            k += 1
                        }
                    }
                    continue
                }
                if writableEntry[flat] { writable = true }
                let cid = contentIDs[flat]
                // A piece: (offset in page, slice length) and (content id, slice start), two words
                // each packing two 32-bit values (offsets and lengths are below the page size,
                // ≤ 2^32 here), so that equal keys still mean equal pieces.
                d.add(inPage << 32 | UInt64(sEnd - sStart))
                d.add(UInt64(UInt32(bitPattern: cid)) << 32 | UInt64(sStart))
                guard options.xrefs == .resolve else { continue }
                // First relocation whose field ends after the slice start (relocs sorted by offset).
                let rEnd = relocStart[flat + 1]
                var lo = relocStart[flat], hi = rEnd
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Int(allRelocs[mid].offset) + Int(allRelocs[mid].width) <= sStart { lo = mid + 1 } else { hi = mid }
                }
                var r = lo
                while r < rEnd && Int(allRelocs[r].offset) < sEnd {
                    let rel = allRelocs[r]
                    let P = pc.start + UInt64(rel.offset)
                    if rc > 0 && redirectFields[rc - 1] >= P {          // a step back (overlapping fields): search again
                        var a = 0, b = rc
                        while a < b { let mid = (a + b) / 2; if redirectFields[mid] < P { a = mid + 1 } else { b = mid } }
                        rc = a
                    }
                    while rc < redirectFields.count && redirectFields[rc] < P { rc += 1 }
                    let S = rc < redirectFields.count && redirectFields[rc] == P ? redirectSlots[rc] : resolver.resolve(rel.target)
                    var v = Int64(bitPattern: S) &+ rel.addend
                    if rel.pcRelative { v = v &- Int64(bitPattern: P) }
                    // (field offset in the slice, value): one word for fields of up to 4 bytes
                    // (the offset fits 32 bits: it may be negative by < 8 for a field that starts
                    // before the slice, so it is biased by 8), two for 8-byte fields.
                    let w = Int(rel.width)
                    let offset = UInt64(Int(rel.offset) - sStart + 8)
                    if w == 8 { d.add(offset); d.add(UInt64(bitPattern: v)) }
                    else { d.add(offset << 32 | (UInt64(bitPattern: v) & ((1 << UInt64(w * 8)) - 1))) }
                    r += 1
                }
            }
            if writable { d.add(-3) }
            page(n, d, writable, used)
            if n == run.last { break }
        }
        }
        }
        }
        }
        }
    }

    /// ceil(distinct content bytes placed / page size): each distinct content (function, rodata or
    /// data bytes; bss excluded) must sit in full in at least one frame, and a frame holds at most
    /// one page of bytes. Computed over the entries the layouts keep, so it stays valid for a
    /// strategy that removes dead code; for every other strategy it is the workload's bound.
    public static func lowerBoundFrames(_ workload: Workload, layouts: [ImageLayout], pageSize: Int) -> Int {
        lowerBoundFrames(workload, layouts: layouts, options: SimulationOptions(pageSize: pageSize, dedup: .ksm, maxPageSharing: Int.max))
    }

    /// A lower bound on `frames` that holds for every layout of the kept entries, whatever the
    /// strategy (extra copies, straddling, trampolines, any addresses), under `options`.
    ///
    /// Let C be the page size, cap = `max_page_sharing`, and for each distinct content c
    /// (function, rodata or data bytes) n(c) the instances whose image keeps an entry with c.
    /// - Every byte β of c must be mapped by each of those n(c) instance-pages, and a physical
    ///   frame serves at most cap of them, so at least ⌈n(c)/cap⌉ frames hold (c, β); a frame
    ///   holds at most C such pairs. Hence frames ≥ ⌈Σ_c size(c)·⌈n(c)/cap⌉ / C⌉ — the plain
    ///   ⌈distinct bytes / C⌉ while instances stay below cap.
    /// - Under `loader`, a page holding a writable entry (data or bss) is private to one
    ///   instance: with W_i the writable bytes image i keeps and k_i its instances, the writable
    ///   pages alone need Σ_i k_i·⌈W_i/C⌉ frames, and all bytes together (read-only pairs as above
    ///   plus Σ_i k_i·W_i writable bytes, each instance's in frames of its own) need
    ///   ⌈(R + Σ_i k_i·W_i) / C⌉; the bound is the larger of the two.
    ///
    /// Why not Martello–Toth's L2 per image or per image-set group, as bin-packing proves: L2
    /// assumes no item straddles a page, which only bin-packing promises. Three 2100-byte functions
    /// of one image have L2 = 3, yet `default` packs them contiguously in 2 pages (2 frames). Those
    /// bounds belong to the strategy's own model and are reported as `solver_bound`.
    /// - Complexity: O(entries kept).
    public static func lowerBoundFrames(_ workload: Workload, layouts: [ImageLayout], options: SimulationOptions) -> Int {
        let C = options.pageSize
        let rule = options.frameRule
        var holders = [Int](repeating: 0, count: workload.contentCount)
        var size = [Int](repeating: 0, count: workload.contentCount)
        var lastImage = [Int](repeating: -1, count: workload.contentCount)
        var writablePerInstance = 0, writablePages = 0
        let contentIDs = workload.flatContentIDs, writable = workload.flatWritable, sizes = workload.flatSizes
        for (i, image) in workload.images.enumerated() {
            var w = 0
            for (k, t) in image.tables.enumerated() {
                let base = workload.entryBase[t]
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed {
                    let f = base + e
                    if rule.isPrivate(writable: writable[f]) { w += sizes[f]; continue }
                    let c = contentIDs[f]
                    guard c >= 0, lastImage[Int(c)] != i else { continue }
                    lastImage[Int(c)] = i
                    holders[Int(c)] += image.instances
                    size[Int(c)] = sizes[f]
                }
            }
            writablePerInstance += image.instances * w
            writablePages += image.instances * ((w + C - 1) / C)
        }
        var pairs = writablePerInstance
        for c in 0..<holders.count where holders[c] > 0 { pairs += size[c] * rule.frames(mappings: holders[c]) }
        return max(writablePages, (pairs + C - 1) / C)
    }
}
