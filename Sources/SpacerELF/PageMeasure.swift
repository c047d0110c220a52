import Foundation
import SpacerCore

/// Real page sharing of linked ELF images: loadable segments cut into pages by virtual address,
/// pages deduplicated by their bytes (docs/design.md §4 metrics, the simulator's definitions).
///
/// A page is the `pageSize`-byte window `[n × pageSize, (n + 1) × pageSize)` of an image's address
/// space that some `PT_LOAD` segment overlaps. Its bytes are the segments' file bytes where they
/// cover it and zero elsewhere (the zero-filled tail of `p_memsz`, and any part no segment
/// covers). A page is writable when a writable segment (`PF_W`) overlaps it. Two pages take one
/// frame when their bytes are equal and both are writable or both read-only (as the simulator's
/// page key carries a writable flag). Each file is one image with one instance.
public enum PageMeasure {
    /// Which pages may share a frame: the simulator's `DedupModel`, counted by the same
    /// `FrameRule`.
    public typealias Dedup = DedupModel

    /// Counts for one class of pages (all, read-only or writable).
    public struct Counts: Sendable, Hashable {
        /// Mapped pages.
        public var totalPages = 0
        /// Distinct page contents; with `ksm`, Σ ceil(count / maxPageSharing); with `loader`, plus
        /// one frame per writable page.
        public var frames = 0
        /// Contents seen at least twice.
        public var pagesShared = 0
        /// Pages whose content is seen at least twice.
        public var pagesSharing = 0
        /// Pages whose bytes are all zero.
        public var zeroPages = 0
        /// 100 × pagesSharing / totalPages.
        public var sharingPct: Double { totalPages == 0 ? 0 : 100 * Double(pagesSharing) / Double(totalPages) }
        public init() {}
    }

    /// What `measure` reports: every page, and read-only and writable pages apart.
    public struct Result: Sendable, Hashable {
        public var all = Counts(), readOnly = Counts(), writable = Counts()
        /// Pages per image, in input order.
        public var pagesPerImage: [Int] = []
    }

    /// Page sizes `measure` accepts: powers of two from 4096 to 2^30 (as `compare`).
    public static let pageSizes = 4096...(1 << 30)

    /// The most bytes of address space one image may map, counted in whole pages: 4 GiB. A
    /// unikernel image maps a few MiB; the limit keeps a hostile header (`p_memsz` 2^40) from
    /// making `measure` hash terabytes of zero pages.
    public static let maxSpanBytes: UInt64 = 1 << 32

    /// How many distinct `pageSize` pages the loadable segments of `elf` map (what `measure`
    /// would walk), without reading any page.
    /// - Throws: `SpacerError.data` naming the file beyond `maxSpanBytes`; `.usage` for a page
    ///   size outside `pageSizes`.
    public static func mappedPages(_ elf: ELFExecutable, pageSize: Int) throws -> UInt64 {
        guard pageSizes.contains(pageSize), pageSize & (pageSize - 1) == 0 else {
            throw SpacerError.usage("--page-size must be a power of two from 4096 to 2^30, found \(pageSize)")
        }
        return try layout(elf, pageSize: UInt64(pageSize)).pages
    }

    /// The loadable segments of `elf` with memory, each with its index in the program header
    /// table, sorted by address (stable), and the number of distinct pages they map.
    /// - Throws: `SpacerError.data` naming the file when the pages span more than `maxSpanBytes`.
    static func layout(_ elf: ELFExecutable, pageSize ps: UInt64) throws -> (segs: [(k: Int, s: ELFSegment)], pages: UInt64) {
        let segs = elf.loadSegments.enumerated().filter { $0.element.memSize > 0 }.map { (k: $0.offset, s: $0.element) }
            .sorted { ($0.s.vaddr, $0.k) < ($1.s.vaddr, $1.k) }
        // Page intervals [first, end) merged; ELFExecutable keeps vaddr + memSize ≤ maxLoadEnd.
        var total: UInt64 = 0
        var cur: (UInt64, UInt64)? = nil
        for (_, seg) in segs {
            let first = seg.vaddr / ps, end = (seg.vaddr + seg.memSize - 1) / ps + 1
            if let c = cur, first <= c.1 { cur = (c.0, max(c.1, end)) } else {
                if let c = cur { total += c.1 - c.0 }
                cur = (first, end)
            }
        }
        if let c = cur { total += c.1 - c.0 }
        guard total <= maxSpanBytes / ps else {
            throw SpacerError.data(file: elf.file, location: "", expected: "loadable segments that map at most \(maxSpanBytes) bytes (4 GiB) per image",
                                   found: "\(total) pages of \(ps) bytes")
        }
        return (segs, total)
    }

    /// Writes the bytes of page `pStart..<pStart+ps` into `out`, as the kernel maps overlapping
    /// segments: in program-header order, each segment's range `[p_vaddr, p_vaddr + p_memsz)`
    /// replaces what earlier segments put there (its file bytes, then zeros for the rest of
    /// `p_memsz`); bytes no segment covers are zero. `segs` overlap the page.
    static func assemble(_ file: UnsafeBufferPointer<UInt8>, _ segs: [(k: Int, s: ELFSegment)], pStart: UInt64, ps: UInt64,
                         into out: UnsafeMutableRawBufferPointer) {
        let pEnd = pStart + ps
        out.initializeMemory(as: UInt8.self, repeating: 0)
        for (_, sg) in segs.sorted(by: { $0.k < $1.k }) {
            let lo = max(pStart, sg.vaddr), hi = min(pEnd, sg.vaddr + sg.memSize)
            guard lo < hi else { continue }
            let fEnd = min(hi, sg.vaddr + UInt64(sg.fileSize))
            var a = lo
            if a < fEnd {
                let src = sg.offset + Int(a - sg.vaddr)
                UnsafeMutableRawBufferPointer(rebasing: out[Int(a - pStart)..<Int(fEnd - pStart)])
                    .copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: file[src..<(src + Int(fEnd - a))])))
                a = fEnd
            }
            if a < hi { UnsafeMutableRawBufferPointer(rebasing: out[Int(a - pStart)..<Int(hi - pStart)]).initializeMemory(as: UInt8.self, repeating: 0) }
        }
    }

    /// One page of an image as the loader maps it (issue 13's `spacer-sim run`).
    public struct Page: Sendable, Hashable {
        /// The page's start address.
        public var address: UInt64
        /// Whether a writable segment overlaps it.
        public var writable: Bool
        /// Its `pageSize` bytes, assembled as `measure` assembles them.
        public var bytes: [UInt8]
    }

    /// Every page of `elf` in address order, with the bytes `measure` hashes for it: what
    /// tools/spacer-loader copies into memory, so `run` can compare live pages with them.
    /// - Throws: as `mappedPages`.
    public static func pages(_ elf: ELFExecutable, pageSize: Int = 4096) throws -> [Page] {
        _ = try mappedPages(elf, pageSize: pageSize)
        let ps = UInt64(pageSize)
        let segs = try layout(elf, pageSize: ps).segs
        var numbers: [UInt64] = []
        for (_, sg) in segs {
            var n = max(sg.vaddr / ps, numbers.last.map { $0 + 1 } ?? 0)
            let last = (sg.vaddr + sg.memSize - 1) / ps
            while n <= last { numbers.append(n); n += 1 }
        }
        var out: [Page] = []
        out.reserveCapacity(numbers.count)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { buffer.deallocate() }
        elf.bytes.withUnsafeBufferPointer { file in
            for n in numbers {
                let at = n * ps
                let over = segs.filter { $0.s.vaddr < at + ps && $0.s.vaddr + $0.s.memSize > at }
                assemble(file, over, pStart: at, ps: ps, into: buffer)
                out.append(Page(address: at, writable: over.contains { $0.s.isWritable }, bytes: Array(UnsafeRawBufferPointer(buffer))))
            }
        }
        return out
    }

    /// Measures `images` (each parsed with `ELFExecutable`).
    ///
    /// Where `PT_LOAD` segments overlap, a byte is the one of the last segment in program-header
    /// order that covers it (the kernel maps segments in that order, a later mapping replacing an
    /// earlier one), and the page is writable when any segment overlapping it is writable.
    /// - Parameters:
    ///   - pageSize: bytes per page, a power of two from 4096 to 2^30 (`pageSizes`).
    ///   - ranges: when non-empty, only pages whose start address lies in one of these ranges count.
    /// - Throws: `SpacerError.usage` for a page size outside `pageSizes`; `.data` naming the file
    ///   for an image whose segments map more than `maxSpanBytes` (4 GiB).
    /// - Complexity: O(total mapped bytes); one pass of a 128-bit hash over each page, and a byte
    ///   comparison against the first page of equal hash (so equal hashes never merge unequal pages).
    ///   Memory: the files, two page buffers and one page number per distinct content.
    public static func measure(_ images: [ELFExecutable], pageSize: Int = 4096, dedup: Dedup = .ksm, maxPageSharing: Int = 256,
                               ranges: [Range<UInt64>] = []) throws -> Result {
        guard pageSizes.contains(pageSize), pageSize & (pageSize - 1) == 0 else {
            throw SpacerError.usage("--page-size must be a power of two from 4096 to 2^30, found \(pageSize)")
        }
        let ps = UInt64(pageSize)
        let rule = FrameRule(dedup: dedup, maxPageSharing: maxPageSharing)
        let layouts = try images.map { try layout($0, pageSize: ps) }
        var result = Result()
        // Distinct contents: key -> indices into `reps` (more than one only on a hash collision).
        // A representative is a page of an image: its bytes in the file (`offset`), or, when it
        // was assembled from several segments or zero fill, its start address (`assembled`),
        // assembled again for a comparison.
        var index: [Key: [Int]] = [:]
        var reps: [(image: Int, assembled: UInt64?, offset: Int)] = []
        var counts: [Int] = []
        var repWritable: [Bool] = []
        var privateWritable = 0
        var pageBuffer: UnsafeMutableRawBufferPointer? = nil, otherBuffer: UnsafeMutableRawBufferPointer? = nil
        defer { pageBuffer?.deallocate(); otherBuffer?.deallocate() }
        for (img, elf) in images.enumerated() {
            let segs = layouts[img].segs
            // Page numbers in order (the intervals of the segments, merged).
            var unique: [UInt64] = []
            unique.reserveCapacity(Int(layouts[img].pages))
            for (_, sg) in segs {
                var n = max(sg.vaddr / ps, unique.last.map { $0 + 1 } ?? 0)
                let last = (sg.vaddr + sg.memSize - 1) / ps
                while n <= last { unique.append(n); n += 1 }
            }
            if !ranges.isEmpty { unique = unique.filter { n in ranges.contains { $0.contains(n * ps) } } }
            result.pagesPerImage.append(unique.count)
            var first = 0
            elf.bytes.withUnsafeBufferPointer { file in
                for n in unique {
                    let pStart = n * ps, pEnd = pStart + ps
                    while first < segs.count && segs[first].s.vaddr + segs[first].s.memSize <= pStart && segs[first].s.vaddr < pStart { first += 1 }
                    var writable = false
                    // Fast path: one segment's file bytes cover the whole page.
                    var direct: Int? = nil
                    var over: [(k: Int, s: ELFSegment)] = []
                    var j = max(first - 1, 0)
                    while j < segs.count && segs[j].s.vaddr < pEnd {
                        let sg = segs[j]; j += 1
                        if sg.s.vaddr + sg.s.memSize <= pStart { continue }
                        over.append(sg)
                        if sg.s.isWritable { writable = true }
                        if sg.s.vaddr <= pStart && sg.s.vaddr + UInt64(sg.s.fileSize) >= pEnd { direct = sg.s.offset + Int(pStart - sg.s.vaddr) }
                    }
                    let bytes: UnsafeRawBufferPointer
                    var assembled = false
                    if let d = direct, over.count == 1 {
                        bytes = UnsafeRawBufferPointer(start: file.baseAddress! + d, count: pageSize)
                    } else {
                        if pageBuffer == nil { pageBuffer = .allocate(byteCount: pageSize, alignment: 16) }
                        assemble(file, over, pStart: pStart, ps: ps, into: pageBuffer!)
                        bytes = UnsafeRawBufferPointer(pageBuffer!)
                        assembled = true
                    }
                    var cls = writable ? result.writable : result.readOnly
                    cls.totalPages += 1
                    let (h1, h2, zero) = hash(bytes)
                    if zero { cls.zeroPages += 1 }
                    if writable { result.writable = cls } else { result.readOnly = cls }
                    if rule.isPrivate(writable: writable) { privateWritable += 1; continue }
                    let key = Key(h1: h1, h2: h2, writable: writable)
                    var found: Int? = nil
                    for c in index[key] ?? [] {
                        let rep = reps[c]
                        let same: Bool
                        if let at = rep.assembled {
                            if otherBuffer == nil { otherBuffer = .allocate(byteCount: pageSize, alignment: 16) }
                            let rs = layouts[rep.image].segs.filter { $0.s.vaddr < at + ps && $0.s.vaddr + $0.s.memSize > at }
                            images[rep.image].bytes.withUnsafeBufferPointer { assemble($0, rs, pStart: at, ps: ps, into: otherBuffer!) }
                            same = memcmp(otherBuffer!.baseAddress!, bytes.baseAddress!, pageSize) == 0
                        } else {
                            same = images[rep.image].bytes.withUnsafeBytes { memcmp($0.baseAddress! + rep.offset, bytes.baseAddress!, pageSize) == 0 }
                        }
                        if same { found = c; break }
                    }
                    if let c = found { counts[c] += 1; continue }
                    index[key, default: []].append(reps.count)
                    if assembled { reps.append((img, pStart, 0)) } else { reps.append((img, nil, direct!)) }
                    counts.append(1)
                    repWritable.append(writable)
                }
            }
        }
        for (c, n) in counts.enumerated() {
            let f = rule.frames(mappings: n)
            if repWritable[c] { result.writable.frames += f } else { result.readOnly.frames += f }
            if n >= 2 {
                if repWritable[c] { result.writable.pagesShared += 1; result.writable.pagesSharing += n }
                else { result.readOnly.pagesShared += 1; result.readOnly.pagesSharing += n }
            }
        }
        result.writable.frames += privateWritable
        for c in [result.readOnly, result.writable] {
            result.all.totalPages += c.totalPages; result.all.frames += c.frames; result.all.pagesShared += c.pagesShared
            result.all.pagesSharing += c.pagesSharing; result.all.zeroPages += c.zeroPages
        }
        return result
    }

    struct Key: Hashable { var h1: UInt64; var h2: UInt64; var writable: Bool }

    /// Two independent 64-bit lanes over the page's 8-byte words, and whether every byte is zero.
    @inline(__always) static func hash(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64, Bool) {
        // Four independent lanes per lane set (the multiplications pipeline), folded at the end.
        var a0: UInt64 = 0x9E37_79B9_7F4A_7C15, a1: UInt64 = 0xC2B2_AE3D_27D4_EB4F, a2: UInt64 = 0x1656_67B1_9E37_79F9, a3: UInt64 = 0x27D4_EB2F_1656_67C5
        var or: UInt64 = 0
        let words = b.count / 8
        var i = 0
        while i + 4 <= words {
            let w0 = b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self), w1 = b.loadUnaligned(fromByteOffset: i * 8 + 8, as: UInt64.self)
            let w2 = b.loadUnaligned(fromByteOffset: i * 8 + 16, as: UInt64.self), w3 = b.loadUnaligned(fromByteOffset: i * 8 + 24, as: UInt64.self)
            or |= w0 | w1 | w2 | w3
            a0 = ((a0 ^ w0) &* 0xFF51_AFD7_ED55_8CCD) ^ (a0 >> 31)
            a1 = ((a1 ^ w1) &* 0xC4CE_B9FE_1A85_EC53) ^ (a1 >> 29)
            a2 = ((a2 ^ w2) &* 0x9E37_79B9_7F4A_7C15) ^ (a2 >> 27)
            a3 = ((a3 ^ w3) &* 0x100_0000_01B3) ^ (a3 >> 33)
            i += 4
        }
        while i < words { let w = b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self); or |= w; a0 = ((a0 ^ w) &* 0xFF51_AFD7_ED55_8CCD) ^ (a0 >> 31); i += 1 }
        let h1 = (a0 &* 0x9E37_79B9_7F4A_7C15) ^ (a1 &+ (a2 << 17 | a2 >> 47)) ^ (a3 >> 7)
        let h2 = (a1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (a3 &+ (a0 << 23 | a0 >> 41)) ^ (a2 >> 11)
        return (h1, h2, or == 0)
    }

    /// Reads and parses ELF files.
    /// - Throws: `SpacerError.noInput` for a missing file; `.data` from `ELFExecutable`.
    public static func load(paths: [String]) throws -> [ELFExecutable] {
        try paths.map { p in try ELFExecutable(bytes: try readFile(p), file: p) }
    }

    /// The bytes of file `path` (`InputFile.read`: a regular file, checked before `open`, of
    /// at most 256 MiB).
    static func readFile(_ path: String) throws -> [UInt8] {
        try InputFile.read(path)
    }
}
