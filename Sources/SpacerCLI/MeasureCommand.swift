import ArgumentParser
import Foundation
import SpacerCore
import SpacerELF
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
        One row for all pages, one for read-only and one for writable pages.

        Examples:
          spacer-sim measure build/sqlite-*.elf
          spacer-sim measure --csv --range 0x100000-0x40000000 img1 img2   # the code zone only
        """)

    @Argument(help: ArgumentHelp("Linked x86-64 ELF64 executables (ET_EXEC or ET_DYN).", valueName: "ELF"))
    var files: [String]

    @Flag(help: "Print CSV (header and one row per class) instead of a table.")
    var csv = false

    @Option(help: "Page size in bytes, a power of two from 4096 to 2^30.")
    var pageSize = 4096

    @Option(help: "Dedup model: ksm or loader.")
    var dedup: String = "ksm"

    @Option(help: "KSM max_page_sharing.")
    var maxPageSharing = 256

    @Option(name: .customLong("range"), help: ArgumentHelp("Count only pages starting in LO-HI (hex or decimal, HI exclusive). Repeatable.", valueName: "LO-HI"))
    var ranges: [String] = []

    func validate() throws {
        guard pageSize >= 4096, pageSize & (pageSize - 1) == 0 else { throw ValidationError("--page-size must be a power of two ≥ 4096, found \(pageSize)") }
        guard PageMeasure.Dedup(rawValue: dedup) != nil else { throw ValidationError("--dedup must be ksm or loader, found '\(dedup)'") }
        guard maxPageSharing >= 2 else { throw ValidationError("--max-page-sharing must be ≥ 2") }
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
            let r = try PageMeasure.measure(images, pageSize: pageSize, dedup: PageMeasure.Dedup(rawValue: dedup)!,
                                        maxPageSharing: maxPageSharing, ranges: try parsedRanges())
            print(MeasureCommand.render(r, csv: csv, images: files.count, pageSize: pageSize, dedup: dedup, range: ranges.joined(separator: " ")), terminator: "")
        }
    }

    /// The measure output: CSV (`class,images,page_size,dedup,range,total_pages,frames,pages_shared,
    /// pages_sharing,sharing_pct,zero_pages`) or an aligned table.
    static func render(_ r: PageMeasure.Result, csv: Bool, images: Int, pageSize: Int, dedup: String, range: String) -> String {
        let rows: [(String, PageMeasure.Counts)] = [("all", r.all), ("read-only", r.readOnly), ("writable", r.writable)]
        if csv {
            var out = "class,images,page_size,dedup,range,total_pages,frames,pages_shared,pages_sharing,sharing_pct,zero_pages\n"
            for (name, c) in rows {
                out += [name, String(images), String(pageSize), dedup, range, String(c.totalPages), String(c.frames), String(c.pagesShared),
                        String(c.pagesSharing), String(format: "%.3f", c.sharingPct), String(c.zeroPages)].map(csvField).joined(separator: ",") + "\n"
            }
            return out
        }
        var out = "\(images) image\(images == 1 ? "" : "s"), page \(pageSize) B, dedup \(dedup)\(range.isEmpty ? "" : ", range \(range)")\n"
        out += "class      total_pages  frames  pages_shared  pages_sharing  sharing %  zero_pages\n"
        for (name, c) in rows {
            out += name.padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(format: "  %11d  %6d  %12d  %13d  %9.1f  %10d\n", c.totalPages, c.frames, c.pagesShared, c.pagesSharing, c.sharingPct, c.zeroPages)
        }
        return out
    }
}

/// `0x…` hex or decimal.
func parseAddress(_ s: String) -> UInt64? {
    let t = s.trimmingCharacters(in: .whitespaces)
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
    return UInt64(t)
}
