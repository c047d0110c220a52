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
    static func assemble(_ file: UnsafeRawBufferPointer, _ segs: [(k: Int, s: ELFSegment)], pStart: UInt64, ps: UInt64,
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
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: file[src..<(src + Int(fEnd - a))]))
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
        elf.withUnsafeBytes { file in
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
    ///
    /// Three passes: the page list (serial, in input and address order); hashing every page,
    /// spread over `jobs` threads in chunks of pages, each page's hash written to its own slot;
    /// then, in page order on one thread, grouping pages by (hash, writable), and, over `jobs`
    /// threads again, checking every page's bytes against the first page of its group. Only
    /// that check depends on the threads, and it only confirms: the result is the same for
    /// every `jobs`. Should two unequal pages ever share a 128-bit hash, the grouping is redone
    /// on one thread with byte comparisons against every candidate (the exact path).
    /// - Parameters:
    ///   - pageSize: bytes per page, a power of two from 4096 to 2^30 (`pageSizes`).
    ///   - ranges: when non-empty, only pages whose start address lies in one of these ranges count.
    ///   - jobs: threads hashing and comparing pages, at least 1 (the result does not depend on it).
    /// - Throws: `SpacerError.usage` for a page size outside `pageSizes` or `jobs` below 1; `.data`
    ///   naming the file for an image whose segments map more than `maxSpanBytes` (4 GiB).
    /// - Complexity: O(total mapped bytes); one pass of a 128-bit hash over each page, and a byte
    ///   comparison against the first page of equal hash (so equal hashes never merge unequal pages).
    ///   Memory: the files (mapped or in arrays), 40 bytes per page and one buffer of `pageSize`
    ///   bytes per thread.
    public static func measure(_ images: [ELFExecutable], pageSize: Int = 4096, dedup: Dedup = .ksm, maxPageSharing: Int = 256,
                               ranges: [Range<UInt64>] = [], jobs: Int = 1) throws -> Result {
        try measure(images, pageSize: pageSize, dedup: dedup, maxPageSharing: maxPageSharing, ranges: ranges, jobs: jobs, hashMask: ~0)
    }

    /// `measure` with each page hash ANDed with `hashMask` (tests: 0 makes every page of a class
    /// collide, which must send the grouping down the exact path with the same result).
    static func measure(_ images: [ELFExecutable], pageSize: Int, dedup: Dedup, maxPageSharing: Int,
                        ranges: [Range<UInt64>], jobs: Int, hashMask: UInt64) throws -> Result {
        guard pageSizes.contains(pageSize), pageSize & (pageSize - 1) == 0 else {
            throw SpacerError.usage("--page-size must be a power of two from 4096 to 2^30, found \(pageSize)")
        }
        guard jobs >= 1 else { throw SpacerError.usage("--jobs must be at least 1, found \(jobs)") }
        let ps = UInt64(pageSize)
        let rule = FrameRule(dedup: dedup, maxPageSharing: maxPageSharing)
        let layouts = try images.map { try layout($0, pageSize: ps) }
        var result = Result()

        // Pass 1: every counted page, in input order then address order, with the index of the
        // first segment that may overlap it (segments before it end at or before its start).
        var pageImage: [Int32] = [], pageNumber: [UInt64] = [], pageFirst: [Int32] = []
        for (img, lay) in layouts.enumerated() {
            let segs = lay.segs
            var unique: [UInt64] = []
            unique.reserveCapacity(Int(lay.pages))
            for (_, sg) in segs {
                var n = max(sg.vaddr / ps, unique.last.map { $0 + 1 } ?? 0)
                let last = (sg.vaddr + sg.memSize - 1) / ps
                while n <= last { unique.append(n); n += 1 }
            }
            if !ranges.isEmpty { unique = unique.filter { n in ranges.contains { $0.contains(n * ps) } } }
            result.pagesPerImage.append(unique.count)
            var first = 0
            for n in unique {
                let pStart = n * ps
                while first < segs.count && segs[first].s.vaddr + segs[first].s.memSize <= pStart && segs[first].s.vaddr < pStart { first += 1 }
                pageImage.append(Int32(img)); pageNumber.append(n); pageFirst.append(Int32(max(first - 1, 0)))
            }
        }
        let count = pageNumber.count

        // Pass 2 (parallel): each page's hash, zero and writable flags, and where its bytes are.
        var h1s = [UInt64](repeating: 0, count: count), h2s = [UInt64](repeating: 0, count: count)
        var flags = [UInt8](repeating: 0, count: count)  // bit 0 writable, bit 1 all zero
        var direct = [Int](repeating: -1, count: count)  // file offset when one segment's file bytes cover the page, else -1
        let views = PageViews(images: images, layouts: layouts, pageSize: pageSize)
        h1s.withUnsafeMutableBufferPointer { h1 in h2s.withUnsafeMutableBufferPointer { h2 in
            flags.withUnsafeMutableBufferPointer { fl in direct.withUnsafeMutableBufferPointer { dir in
                parallelChunks(count, jobs: jobs, bufferSize: pageSize) { range, buffer in
                    for i in range {
                        let img = Int(pageImage[i])
                        let page = views.page(img, number: pageNumber[i], first: Int(pageFirst[i]), buffer: buffer)
                        let (a, b, zero) = hash(page.bytes)
                        h1[i] = a & hashMask; h2[i] = b & hashMask
                        fl[i] = (page.writable ? 1 : 0) | (zero ? 2 : 0)
                        dir[i] = page.direct ?? -1
                    }
                }
            } }
        } }

        // Pass 3 (page order, one thread): group pages by (hash, writable); `rep[i]` is the first
        // page of page i's group (i itself for a group's first page, -1 for a private page).
        var index: [Key: Int32] = [:]
        index.reserveCapacity(count)
        var rep = [Int32](repeating: -1, count: count)
        var privateWritable = 0
        for i in 0..<count {
            let writable = flags[i] & 1 != 0
            if writable { result.writable.totalPages += 1 } else { result.readOnly.totalPages += 1 }
            if flags[i] & 2 != 0 { if writable { result.writable.zeroPages += 1 } else { result.readOnly.zeroPages += 1 } }
            if rule.isPrivate(writable: writable) { privateWritable += 1; continue }
            let key = Key(h1: h1s[i], h2: h2s[i], writable: writable)
            if let r = index[key] { rep[i] = r } else { index[key] = Int32(i); rep[i] = Int32(i) }
        }
        // Pass 4 (parallel): every page equals the first page of its group, byte for byte.
        let collided = Flag()
        parallelChunks(count, jobs: jobs, bufferSize: pageSize) { range, buffer in
            let other = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
            defer { other.deallocate() }
            for i in range where rep[i] >= 0 && Int(rep[i]) != i {
                let r = Int(rep[i])
                if !views.same(image: Int(pageImage[i]), number: pageNumber[i], first: Int(pageFirst[i]), direct: direct[i],
                               asImage: Int(pageImage[r]), number: pageNumber[r], first: Int(pageFirst[r]), direct: direct[r],
                               buffers: (buffer, other)) {
                    collided.set()
                    return
                }
            }
        }
        // Mappings per distinct content, in order of first appearance.
        var counts: [Int] = [], repWritable: [Bool] = []
        if !collided.isSet {
            var slot = [Int32](repeating: -1, count: count)
            for i in 0..<count where rep[i] >= 0 {
                let r = Int(rep[i])
                if r == i { slot[i] = Int32(counts.count); counts.append(1); repWritable.append(flags[i] & 1 != 0) }
                else { counts[Int(slot[r])] += 1 }
            }
        } else {
            // The exact path: candidates per hash, compared byte for byte in page order.
            var candidates: [Key: [Int]] = [:]
            var reps: [Int] = []
            let a = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
            defer { a.deallocate(); b.deallocate() }
            for i in 0..<count where rep[i] >= 0 {
                let key = Key(h1: h1s[i], h2: h2s[i], writable: flags[i] & 1 != 0)
                var found: Int? = nil
                for c in candidates[key] ?? [] {
                    let r = reps[c]
                    if views.same(image: Int(pageImage[i]), number: pageNumber[i], first: Int(pageFirst[i]), direct: direct[i],
                                  asImage: Int(pageImage[r]), number: pageNumber[r], first: Int(pageFirst[r]), direct: direct[r], buffers: (a, b)) {
                        found = c; break
                    }
                }
                if let c = found { counts[c] += 1; continue }
                candidates[key, default: []].append(reps.count)
                reps.append(i); counts.append(1); repWritable.append(flags[i] & 1 != 0)
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

    /// The pages of a set of images, read where they lie: one segment's file bytes in place, or
    /// assembled into a caller's buffer. Immutable, so threads share it; it keeps the images
    /// (and so their bytes) alive.
    struct PageViews: @unchecked Sendable {
        let images: [ELFExecutable]
        let layouts: [(segs: [(k: Int, s: ELFSegment)], pages: UInt64)]
        let pageSize: Int

        /// Page `number` of image `img`: its bytes (valid while `images` and `buffer` live),
        /// whether it is writable, and its file offset when one segment's file bytes cover it.
        /// `first` is the index of the first segment that may overlap it.
        func page(_ img: Int, number: UInt64, first: Int, buffer: UnsafeMutableRawBufferPointer)
            -> (bytes: UnsafeRawBufferPointer, writable: Bool, direct: Int?) {
            let segs = layouts[img].segs
            let ps = UInt64(pageSize)
            let pStart = number * ps, pEnd = pStart + ps
            var writable = false, direct: Int? = nil, overlapping = 0
            var j = first
            while j < segs.count && segs[j].s.vaddr < pEnd {
                let sg = segs[j]; j += 1
                if sg.s.vaddr + sg.s.memSize <= pStart { continue }
                overlapping += 1
                if sg.s.isWritable { writable = true }
                if sg.s.vaddr <= pStart && sg.s.vaddr + UInt64(sg.s.fileSize) >= pEnd { direct = sg.s.offset + Int(pStart - sg.s.vaddr) }
            }
            let file = images[img].unsafeBytes
            if let d = direct, overlapping == 1 {
                return (UnsafeRawBufferPointer(rebasing: file[d..<(d + pageSize)]), writable, d)
            }
            let over = segs[first..<j].filter { $0.s.vaddr < pEnd && $0.s.vaddr + $0.s.memSize > pStart }
            assemble(file, Array(over), pStart: pStart, ps: ps, into: buffer)
            return (UnsafeRawBufferPointer(buffer), writable, nil)
        }

        /// Whether two pages hold the same bytes (`direct` as `page` returns it, or -1).
        func same(image a: Int, number na: UInt64, first fa: Int, direct da: Int,
                  asImage b: Int, number nb: UInt64, first fb: Int, direct db: Int,
                  buffers: (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer)) -> Bool {
            let pa = da >= 0 ? UnsafeRawBufferPointer(rebasing: images[a].unsafeBytes[da..<(da + pageSize)])
                             : page(a, number: na, first: fa, buffer: buffers.0).bytes
            let pb = db >= 0 ? UnsafeRawBufferPointer(rebasing: images[b].unsafeBytes[db..<(db + pageSize)])
                             : page(b, number: nb, first: fb, buffer: buffers.1).bytes
            return memcmp(pa.baseAddress!, pb.baseAddress!, pageSize) == 0
        }
    }

    /// A flag threads may set and read.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    /// Runs `body` over `0..<count` in chunks of `chunk` indices on `jobs` threads (on the
    /// calling thread alone when `jobs` is 1 or there is one chunk). Threads take the chunks in
    /// order from a shared counter; each gets its own scratch buffer of `bufferSize` bytes.
    /// `body` must write only slots of the range it is given.
    static func parallelChunks(_ count: Int, jobs: Int, chunk: Int = 256, bufferSize: Int,
                               _ body: (Range<Int>, UnsafeMutableRawBufferPointer) -> Void) {
        let chunks = (count + chunk - 1) / chunk
        /// The chunk counter and `body`, shared by the threads (each chunk is taken once).
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            let body: (Range<Int>, UnsafeMutableRawBufferPointer) -> Void
            init(_ body: @escaping (Range<Int>, UnsafeMutableRawBufferPointer) -> Void) { self.body = body }
        }
        withoutActuallyEscaping(body) { body in
            let shared = Shared(body)
            let work: @Sendable (Int) -> Void = { _ in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    shared.lock.lock()
                    let c = shared.next; shared.next += 1
                    shared.lock.unlock()
                    guard c < chunks else { return }
                    shared.body((c * chunk)..<min(count, (c + 1) * chunk), buffer)
                }
            }
            if jobs <= 1 || chunks <= 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: min(jobs, chunks), execute: work) }
        }
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

    /// Maps (`MappedFile`: the checks of `InputFile.read`, no copy) and parses ELF files.
    /// - Throws: `SpacerError.noInput` for a missing file or one that is not a regular file;
    ///   `.data` for a file over 256 MiB and from `ELFExecutable`; `.io` when `mmap` fails.
    public static func load(paths: [String]) throws -> [ELFExecutable] {
        try paths.map { p in try ELFExecutable(mapped: MappedFile(path: p)) }
    }
}
