import SpacerCore

/// Which pages the host may merge (DESIGN.md §2).
public enum DedupModel: String, CaseIterable, Sendable {
    /// Every mapped page may merge with identical ones, at most `maxPageSharing` sharers a frame.
    case ksm
    /// A load-time loader maps read-only pages (code, rodata, trampolines) from a shared pool;
    /// writable pages are private to each instance.
    case loader
}

/// Whether relocation values are part of page content.
public enum XrefMode: String, CaseIterable, Sendable {
    /// Resolve every relocation against the image's layout (the honest model).
    case resolve
    /// Ignore relocation values: an upper bound on sharing, labelled as such in every output.
    case ignore
}

/// Parameters of one simulation.
public struct SimulationOptions: Sendable, Hashable {
    /// Page size in bytes, a power of two ≥ 4096.
    public var pageSize: Int
    public var dedup: DedupModel
    /// KSM's `max_page_sharing`: sharers per frame before a second frame is needed (≥ 2).
    public var maxPageSharing: Int
    public var xrefs: XrefMode
    public init(pageSize: Int = 4096, dedup: DedupModel = .ksm, maxPageSharing: Int = 256, xrefs: XrefMode = .resolve) {
        self.pageSize = pageSize; self.dedup = dedup; self.maxPageSharing = maxPageSharing; self.xrefs = xrefs
    }
}

/// The metrics of DESIGN.md §4 for one placement of one workload. Counts are pages of
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
    /// A valid lower bound on frames: ceil(distinct content bytes placed / page size).
    public var lowerBoundFrames = 0
    /// 100 × (frames / lowerBoundFrames − 1).
    public var gapPct = 0.0
    public init() {}
}

/// Simulates the pages of placed images exactly and counts frames (DESIGN.md §4).
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
    /// - Returns: every metric of DESIGN.md §4 except timing and solver status.
    /// - Throws: `SpacerError.internalInvariant` listing the layout's problems when it is
    ///   infeasible (overlap, misalignment, a piece outside the mapped regions …).
    /// - Complexity: O(P + R + E log E) per image for P mapped pages, R relocations, E pieces.
    public static func simulate(_ workload: Workload, layouts: [ImageLayout], options: SimulationOptions,
                                allowRemoval: Bool = false, pageRanges: [Range<UInt64>] = []) throws -> Metrics {
        let problems = LayoutCheck.problems(workload: workload, layouts: layouts, pageSize: options.pageSize, allowRemoval: allowRemoval)
        guard problems.isEmpty else {
            throw SpacerError.internalInvariant("infeasible layout:\n  " + problems.joined(separator: "\n  "))
        }
        let ps = options.pageSize
        var counts: [PageDigest: Int] = [:]
        var m = Metrics()
        var loaderPrivate = 0
        var usedBytes = 0
        for (i, image) in workload.images.enumerated() {
            var pages = pageKeys(workload, image: i, layout: layouts[i], options: options)
            if !pageRanges.isEmpty { pages = pages.filter { p in pageRanges.contains { $0.contains(p.number * UInt64(ps)) } } }
            let inst = image.instances
            m.imageBytes += pages.count * ps
            m.totalPages += pages.count * inst
            for p in pages {
                usedBytes += p.usedBytes * inst
                if p.usedBytes == 0 { m.zeroPages += inst }
                if p.writable && options.dedup == .loader {
                    loaderPrivate += inst
                } else {
                    counts[p.key, default: 0] += inst
                }
            }
        }
        let cap = options.dedup == .ksm ? max(options.maxPageSharing, 1) : Int.max
        for c in counts.values {
            m.frames += (c - 1) / cap + 1
            if c >= 2 { m.pagesShared += 1; m.pagesSharing += c } else { m.privatePages += 1 }
        }
        m.frames += loaderPrivate
        m.privatePages += loaderPrivate
        let mapped = m.totalPages * ps
        m.paddingBytes = mapped - usedBytes
        m.sharingPct = m.totalPages == 0 ? 0 : 100 * Double(m.pagesSharing) / Double(m.totalPages)
        m.fragmentationPct = mapped == 0 ? 0 : 100 * Double(m.paddingBytes) / Double(mapped)
        m.memoryMiB = Double(m.frames) * Double(ps) / 1_048_576
        m.lowerBoundFrames = lowerBoundFrames(workload, layouts: layouts, pageSize: ps)
        m.gapPct = m.lowerBoundFrames == 0 ? 0 : 100 * (Double(m.frames) / Double(m.lowerBoundFrames) - 1)
        return m
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
        let ps = UInt64(options.pageSize)
        let pieces = LayoutCheck.pieces(workload: workload, image: image, layout: layout)
        let resolver = SymbolResolver(workload: workload, image: image, layout: layout)
        // Mapped page numbers: the union of the regions' pages, plus any page a piece touches.
        var numbers: [UInt64] = []
        for r in layout.regions where r.size > 0 {
            var p = r.start / ps
            while p * ps < r.end { numbers.append(p); p += 1 }
        }
        for pc in pieces where pc.size > 0 {
            var p = pc.start / ps
            while p * ps < pc.end { numbers.append(p); p += 1 }
        }
        numbers.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(numbers.count)
        for n in numbers where unique.last != n { unique.append(n) }

        var out: [Page] = []
        out.reserveCapacity(unique.count)
        var first = 0
        for n in unique {
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
                used += sEnd - sStart
                // bss bytes are zero, like fill: a bss slice adds nothing to the key, so that pages
                // holding only bss and fill are equal however the bss pieces are cut (as the real
                // pages are, byte for byte; measured on the linked SQLite images).
                if pc.table >= 0, workload.contentIDs[pc.table][pc.entry] == Workload.zeroContent {
                    if workload.tables[pc.table].entries[pc.entry].kind.isWritable { writable = true }
                    continue
                }
                d.add(Int(max(pStart, pc.start) - pStart))
                if pc.table < 0 {
                    let tt = layout.trampolines[pc.entry]
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
                let entry = workload.tables[pc.table].entries[pc.entry]
                if entry.kind.isWritable { writable = true }
                let cid = workload.contentIDs[pc.table][pc.entry]
                d.add(Int(cid))
                if cid == Workload.zeroContent { d.add(sEnd - sStart); continue }
                d.add(sStart); d.add(sEnd - sStart)
                guard options.xrefs == .resolve else { continue }
                let relocs = entry.relocations
                let targets = workload.targetSymbols[pc.table][pc.entry]
                // First relocation whose field ends after the slice start (relocs sorted by offset).
                var lo = 0, hi = relocs.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if relocs[mid].offset + relocs[mid].type.width <= sStart { lo = mid + 1 } else { hi = mid }
                }
                var r = lo
                while r < relocs.count && relocs[r].offset < sEnd {
                    let rel = relocs[r]
                    let P = pc.start + UInt64(rel.offset)
                    let S = layout.redirects[P] ?? resolver.resolve(targets[r])
                    var v = Int64(bitPattern: S) &+ rel.addend
                    if rel.type.isPCRelative { v = v &- Int64(bitPattern: P) }
                    let w = rel.type.width
                    let value = w == 8 ? UInt64(bitPattern: v) : UInt64(bitPattern: v) & ((1 << UInt64(w * 8)) - 1)
                    d.add(rel.offset - sStart); d.add(value)
                    r += 1
                }
            }
            if writable { d.add(-3) }
            out.append(Page(number: n, key: d, writable: writable, usedBytes: used))
        }
        return out
    }

    /// ceil(distinct content bytes placed / page size): each distinct content (function, rodata or
    /// data bytes; bss excluded) must sit in full in at least one frame, and a frame holds at most
    /// one page of bytes. Computed over the entries the layouts keep, so it stays valid for a
    /// strategy that removes dead code; for every other strategy it is the workload's bound.
    public static func lowerBoundFrames(_ workload: Workload, layouts: [ImageLayout], pageSize: Int) -> Int {
        var seen = [Bool](repeating: false, count: workload.contentCount)
        var bytes = 0
        for (i, image) in workload.images.enumerated() {
            for (k, t) in image.tables.enumerated() {
                let cids = workload.contentIDs[t]
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed {
                    let c = cids[e]
                    if c >= 0 && !seen[Int(c)] { seen[Int(c)] = true; bytes += workload.tables[t].entries[e].size }
                }
            }
        }
        return (bytes + pageSize - 1) / pageSize
    }
}
