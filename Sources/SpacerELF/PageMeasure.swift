import Foundation
import SpacerCore

/// Real page sharing of linked ELF images: loadable segments cut into pages by virtual address,
/// pages deduplicated by their bytes (DESIGN.md §4 metrics, the simulator's definitions).
///
/// A page is the `pageSize`-byte window `[n × pageSize, (n + 1) × pageSize)` of an image's address
/// space that some `PT_LOAD` segment overlaps. Its bytes are the segments' file bytes where they
/// cover it and zero elsewhere (the zero-filled tail of `p_memsz`, and any part no segment
/// covers). A page is writable when a writable segment (`PF_W`) overlaps it. Two pages take one
/// frame when their bytes are equal and both are writable or both read-only (as the simulator's
/// page key carries a writable flag). Each file is one image with one instance.
public enum PageMeasure {
    /// Which pages may share a frame; the simulator's `DedupModel`, restated so that this module
    /// does not depend on the simulator.
    public enum Dedup: String, Sendable, CaseIterable {
        /// Every page may merge, at most `maxPageSharing` pages per frame.
        case ksm
        /// Only read-only pages merge (no cap); each writable page is a private frame.
        case loader
    }

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

    /// Measures `images` (each parsed with `ELFExecutable`).
    /// - Parameters:
    ///   - pageSize: bytes per page, a power of two ≥ 4096.
    ///   - ranges: when non-empty, only pages whose start address lies in one of these ranges count.
    /// - Complexity: O(total mapped bytes); one pass of a 128-bit hash over each page, and a byte
    ///   comparison against the first page of equal hash (so equal hashes never merge unequal pages).
    public static func measure(_ images: [ELFExecutable], pageSize: Int = 4096, dedup: Dedup = .ksm, maxPageSharing: Int = 256,
                               ranges: [Range<UInt64>] = []) -> Result {
        let ps = UInt64(pageSize)
        var result = Result()
        // Distinct contents: key -> indices into `reps` (more than one only on a hash collision).
        var index: [Key: [Int]] = [:]
        var reps: [(image: Int, page: [UInt8]?, offset: Int)] = []
        var counts: [Int] = []
        var repWritable: [Bool] = []
        var privateWritable = 0
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { page.deallocate() }
        for (img, elf) in images.enumerated() {
            let segs = elf.loadSegments.filter { $0.memSize > 0 }.sorted { $0.vaddr < $1.vaddr }
            // Page numbers, in order, each with the segments overlapping it.
            var numbers: [UInt64] = []
            for s in segs {
                var n = s.vaddr / ps
                let end = s.vaddr + s.memSize
                while n * ps < end { numbers.append(n); n += 1 }
            }
            numbers.sort()
            var unique: [UInt64] = []
            for n in numbers where unique.last != n { unique.append(n) }
            if !ranges.isEmpty { unique = unique.filter { n in ranges.contains { $0.contains(n * ps) } } }
            result.pagesPerImage.append(unique.count)
            var first = 0
            elf.bytes.withUnsafeBufferPointer { file in
                for n in unique {
                    let pStart = n * ps, pEnd = pStart + ps
                    while first < segs.count && segs[first].vaddr + segs[first].memSize <= pStart && segs[first].vaddr < pStart { first += 1 }
                    var writable = false
                    // Fast path: one segment's file bytes cover the whole page.
                    var direct: Int? = nil
                    var covering = 0
                    var j = max(first - 1, 0)
                    while j < segs.count && segs[j].vaddr < pEnd {
                        let s = segs[j]; j += 1
                        if s.vaddr + s.memSize <= pStart { continue }
                        covering += 1
                        if s.isWritable { writable = true }
                        if s.vaddr <= pStart && s.vaddr + UInt64(s.fileSize) >= pEnd { direct = s.offset + Int(pStart - s.vaddr) }
                    }
                    let bytes: UnsafeRawBufferPointer
                    var assembled = false
                    if let d = direct, covering == 1 {
                        bytes = UnsafeRawBufferPointer(start: file.baseAddress! + d, count: pageSize)
                    } else {
                        page.initializeMemory(as: UInt8.self, repeating: 0)
                        var k = max(first - 1, 0)
                        while k < segs.count && segs[k].vaddr < pEnd {
                            let s = segs[k]; k += 1
                            let fEnd = s.vaddr + UInt64(s.fileSize)
                            let lo = max(pStart, s.vaddr), hi = min(pEnd, fEnd)
                            guard lo < hi else { continue }
                            let src = s.offset + Int(lo - s.vaddr)
                            for i in 0..<Int(hi - lo) { page[Int(lo - pStart) + i] = file[src + i] }
                        }
                        bytes = UnsafeRawBufferPointer(page)
                        assembled = true
                    }
                    var cls = writable ? result.writable : result.readOnly
                    cls.totalPages += 1
                    let (h1, h2, zero) = hash(bytes)
                    if zero { cls.zeroPages += 1 }
                    if writable { result.writable = cls } else { result.readOnly = cls }
                    if writable && dedup == .loader { privateWritable += 1; continue }
                    let key = Key(h1: h1, h2: h2, writable: writable)
                    var found: Int? = nil
                    for c in index[key] ?? [] {
                        let rep = reps[c]
                        let same: Bool
                        if let p = rep.page {
                            same = p.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, pageSize) == 0 }
                        } else {
                            same = images[rep.image].bytes.withUnsafeBytes { memcmp($0.baseAddress! + rep.offset, bytes.baseAddress!, pageSize) == 0 }
                        }
                        if same { found = c; break }
                    }
                    if let c = found { counts[c] += 1; continue }
                    index[key, default: []].append(reps.count)
                    if assembled || direct == nil { reps.append((img, [UInt8](bytes), 0)) } else { reps.append((img, nil, direct!)) }
                    counts.append(1)
                    repWritable.append(writable)
                }
            }
        }
        let cap = dedup == .ksm ? max(maxPageSharing, 1) : Int.max
        for (c, n) in counts.enumerated() {
            let f = (n - 1) / cap + 1
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
