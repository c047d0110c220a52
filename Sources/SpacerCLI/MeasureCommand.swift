import ArgumentParser
import Foundation
import SpacerCore
import SpacerELF
import SpacerExperiments
import SpacerIO

/// `spacer-sim measure`: real page sharing of linked ELF executables.
struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Measure real page sharing across linked ELF executables (loadable segments cut into pages).",
        discussion: """
        Each ELF is one image with one instance. Its PT_LOAD segments are cut into page-aligned \
        pages by virtual address (bytes no segment's file part covers are zero); a page is writable \
        when a writable segment overlaps it. Pages with equal bytes (and the same writable flag) take \
        one frame. Metrics are the simulator's: total_pages, frames (KSM: Σ ceil(count / \
        max_page_sharing); loader: read-only pages shared without cap, writable pages private), \
        pages_shared, pages_sharing, sharing_pct, zero_pages (pages whose bytes are all zero). \
        One row for all pages, one for read-only and one for writable pages; the CSV also carries \
        tool_version, tool_commit and input_digest (sha256 over the images' sha256), and -o \
        writes a provenance sidecar beside it.

        Examples:
          spacer-sim measure build/sqlite-*.elf
          spacer-sim measure --format csv --range 0x100000-0x40000000 img1 img2   # the code zone only
          spacer-sim measure build/*.elf -o notebooks-out/measured.csv
        """)

    @Argument(help: ArgumentHelp("Linked x86-64 ELF64 executables (ET_EXEC or ET_DYN).", valueName: "ELF"))
    var files: [String] = []

    /// The spelling before `--format csv`.
    @Flag(name: .customLong("csv"), help: .hidden)
    var csv = false

    @OptionGroup(title: "Output") var output: OutputOptions

    @Option(help: ArgumentHelp("Page size in bytes: a power of two from 4096 to 2^30.", valueName: "bytes"))
    var pageSize = 4096

    @Option(help: "Dedup model: ksm or loader.")
    var dedup: DedupModel = .ksm

    @Option(help: ArgumentHelp("KSM max_page_sharing, 2 to 2^31.", valueName: "n"))
    var maxPageSharing = 256

    @Option(name: .customLong("range"), help: ArgumentHelp("Count only pages starting in LO-HI (hex or decimal, HI exclusive). Repeatable.", valueName: "LO-HI"))
    var ranges: [String] = []

    @Option(help: ArgumentHelp("Threads hashing pages and files, 1 to 64 (results are the same for any value).", valueName: "n"))
    var jobs = 1

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give the linked executables to measure") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be from 1 to 64, found \(jobs)") }
        try usage {
            try RunConfiguration.checkPageSize(pageSize, option: "--page-size", max: 1 << 30)  // measure places nothing: up to 1 GiB
            try RunConfiguration.check(maxPageSharing, in: RunConfiguration.maxPageSharingRange, option: "--max-page-sharing")
        }
        _ = try parsedRanges()
    }

    func parsedRanges() throws -> [Range<UInt64>] {
        try ranges.map { r in
            let p = r.split(separator: "-", maxSplits: 1).map(String.init)
            guard p.count == 2, let lo = parseAddress(p[0]), let hi = parseAddress(p[1]), lo < hi else {
                throw ValidationError("--range '\(r)': expected LO-HI with LO < HI, e.g. 0x100000-0x40000000")
            }
            return lo..<hi
        }
    }

    func run() throws {
        try reportingErrors {
            let images = try PageMeasure.load(paths: files)
            let r = try PageMeasure.measure(images, pageSize: pageSize, dedup: dedup, maxPageSharing: maxPageSharing, ranges: try parsedRanges(), jobs: jobs)
            let format = csv ? .csv : output.resolved()
            // The inputs' SHA-256 feed the input_digest column (csv, json) and the sidecar (-o);
            // the terminal table on standard output shows neither, so it skips them.
            let needsDigests = format != .table || output.out != nil
            let digests = needsDigests ? MeasureCommand.digests(images, jobs: jobs) : []
            let table = MeasureCommand.table(r, images: files.count, pageSize: pageSize, dedup: dedup.rawValue,
                                             range: ranges.joined(separator: " "), inputDigest: needsDigests ? FileDigest.combined(digests) : "")
            var text = table.rendered(format)
            if format == .table {
                text = "\(files.count) image\(files.count == 1 ? "" : "s"), page \(pageSize) B, dedup \(dedup.rawValue)\(ranges.isEmpty ? "" : ", range \(ranges.joined(separator: " "))")\n"
                    + TidyTable(columns: Array(table.columns.prefix(11)), rows: table.rows.map { Array($0.prefix(11)) }).text()
            }
            try emit(text, to: output.out, rows: table.rows.count,
                     provenance: Provenance(inputs: digests, options: ["page_size": String(pageSize), "dedup": dedup.rawValue,
                                                                       "max_page_sharing": String(maxPageSharing), "range": ranges.joined(separator: " "),
                                                                       "jobs": String(jobs)]))
        }
    }

    /// The SHA-256 of every image's file, from the bytes already mapped (`FileDigest.of(data:)`,
    /// the digest `FileDigest.of(file:)` gives), in input order; `jobs` files at a time.
    static func digests(_ images: [ELFExecutable], jobs: Int) -> [FileDigest] {
        /// The next file to hash and the digests so far, shared by the threads.
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var out: [FileDigest?]
            init(_ n: Int) { out = Array(repeating: nil, count: n) }
        }
        let box = Box(images.count)
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                box.lock.lock()
                let i = box.next; box.next += 1
                box.lock.unlock()
                guard i < images.count else { return }
                let d = images[i].withUnsafeBytes { raw in
                    FileDigest.of(data: raw.isEmpty ? Data() : Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: raw.baseAddress!), count: raw.count, deallocator: .none),
                                  path: images[i].file)
                }
                box.lock.lock(); box.out[i] = d; box.lock.unlock()
            }
        }
        if jobs <= 1 || images.count <= 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: min(jobs, images.count), execute: work) }
        return box.out.map { $0! }
    }

    /// The measure rows: one per class (`all`, `read-only`, `writable`), columns `class, images,
    /// page_size, dedup, range, total_pages, frames, pages_shared, pages_sharing, sharing_pct,
    /// zero_pages, tool_version, tool_commit, input_digest` (docs/formats.md).
    static func table(_ r: PageMeasure.Result, images: Int, pageSize: Int, dedup: String, range: String, inputDigest: String) -> TidyTable {
        let rows: [(String, PageMeasure.Counts)] = [("all", r.all), ("read-only", r.readOnly), ("writable", r.writable)]
        return TidyTable(
            columns: ["class", "images", "page_size", "dedup", "range", "total_pages", "frames", "pages_shared", "pages_sharing",
                      "sharing_pct", "zero_pages", "tool_version", "tool_commit", "input_digest"],
            numeric: ["images", "page_size", "total_pages", "frames", "pages_shared", "pages_sharing", "sharing_pct", "zero_pages"],
            rows: rows.map { name, c in
                [name, String(images), String(pageSize), dedup, range, String(c.totalPages), String(c.frames), String(c.pagesShared),
                 String(c.pagesSharing), String(format: "%.3f", c.sharingPct), String(c.zeroPages), Tool.version, Tool.commitLabel, inputDigest]
            })
    }
}

/// `0x…` hex or decimal.
func parseAddress(_ s: String) -> UInt64? {
    let t = s.trimmingCharacters(in: .whitespaces)
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
    return UInt64(t)
}
