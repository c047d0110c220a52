import Foundation
import SpacerCore
import SpacerIO
import SpacerSimulator

/// The tidy result schema: one row per run, key columns, the DESIGN.md §4 metric names, provenance.
public enum ResultTable {
    /// Run-independent context written on every row.
    public struct Context: Sendable {
        public var workload: String
        public var tables: String
        public var options: SimulationOptions
        public var seed: UInt64
        public var images: Int
        public var instances: Int
        public var timings: Bool
        public var toolVersion: String
        public var gitCommit: String
    }

    /// Column names, in output order.
    public static let columns = [
        "strategy", "params", "workload", "tables", "images", "instances", "page_size", "dedup", "max_page_sharing", "xrefs", "seed",
        "total_pages", "frames", "pages_shared", "pages_sharing", "sharing_pct", "zero_pages", "memory_mib",
        "padding_bytes", "fragmentation_pct", "image_bytes", "private_pages", "lower_bound_frames", "gap_pct",
        "place_seconds", "solver_status", "tool_version", "git_commit",
    ]

    static func fmt(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }

    /// The values of one row, in `columns` order.
    public static func values(_ r: RunResult, _ c: Context) -> [String] {
        let m = r.metrics
        return [r.strategy, r.params, c.workload, c.tables, String(c.images), String(c.instances), String(c.options.pageSize),
                c.options.dedup.rawValue, String(c.options.maxPageSharing),
                c.options.xrefs == .resolve ? "resolve" : "ignore (upper bound)", String(c.seed),
                String(m.totalPages), String(m.frames), String(m.pagesShared), String(m.pagesSharing), fmt(m.sharingPct),
                String(m.zeroPages), fmt(m.memoryMiB), String(m.paddingBytes), fmt(m.fragmentationPct), String(m.imageBytes),
                String(m.privatePages), String(m.lowerBoundFrames), fmt(m.gapPct),
                c.timings ? fmt(r.placeSeconds, 4) : "", r.status.rawValue, c.toolVersion, c.gitCommit]
    }

    /// RFC 4180 CSV: header then one row per run.
    public static func csv(_ rows: [RunResult], _ c: Context) -> String {
        var out = columns.joined(separator: ",") + "\n"
        for r in rows { out += values(r, c).map(csvField).joined(separator: ",") + "\n" }
        return out
    }

    /// A JSON array of objects with the CSV columns as keys (numbers as numbers).
    public static func json(_ rows: [RunResult], _ c: Context) -> String {
        let numeric: Set<String> = ["images", "instances", "page_size", "max_page_sharing", "seed", "total_pages", "frames",
                                    "pages_shared", "pages_sharing", "sharing_pct", "zero_pages", "memory_mib", "padding_bytes",
                                    "fragmentation_pct", "image_bytes", "private_pages", "lower_bound_frames", "gap_pct", "place_seconds"]
        let objects = rows.map { r -> String in
            let v = values(r, c)
            let fields = zip(columns, v).map { k, x in
                "    \(jsonString(k)): " + (numeric.contains(k) && !x.isEmpty ? x : jsonString(x))
            }
            return "  {\n" + fields.joined(separator: ",\n") + "\n  }"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// The terminal table: strategy, frames, memory MiB, sharing %, fragmentation %, image bytes,
    /// gap to the lower bound, seconds; aligned columns. A strategy that runs more than once
    /// (variants such as `name[k=v]`) is labelled with its parameters so the rows can be told apart.
    public static func text(_ rows: [RunResult], _ c: Context) -> String {
        let head = ["strategy", "frames", "memory MiB", "sharing %", "fragmentation %", "image bytes", "gap to LB %", "seconds", "status"]
        let runs = Dictionary(rows.map { ($0.strategy, 1) }, uniquingKeysWith: +)
        var body: [[String]] = rows.map { r in
            let m = r.metrics
            let label = runs[r.strategy, default: 0] > 1 && !r.params.isEmpty ? "\(r.strategy)[\(r.params)]" : r.strategy
            return [label, String(m.frames), fmt(m.memoryMiB, 2), fmt(m.sharingPct, 1), fmt(m.fragmentationPct, 1),
                    String(m.imageBytes), fmt(m.gapPct, 1), c.timings ? fmt(r.placeSeconds, 3) : "-", r.status.rawValue]
        }
        body.insert(head, at: 0)
        let widths = head.indices.map { j in body.map { $0[j].count }.max()! }
        var out = ""
        for (n, row) in body.enumerated() {
            let cells = row.enumerated().map { j, s in
                j == 0 ? s.padding(toLength: widths[j], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[j] - s.count) + s
            }
            out += cells.joined(separator: "  ") + "\n"
            if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// The git commit of the working directory's repository (short), `unknown` outside one.
func currentGitCommit() -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "rev-parse", "--short=12", "HEAD"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return "unknown" }
    p.waitUntilExit()
    let s = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    return p.terminationStatus == 0 && !s.isEmpty ? s : "unknown"
}
