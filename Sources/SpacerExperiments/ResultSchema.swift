import Foundation
import SpacerCore
import SpacerSimulator

/// The tidy result schema of `compare` (and the first columns of `sweep`): one row per run, the
/// key columns, the metric names of docs/design.md §4, solver columns, then provenance.
/// docs/formats.md describes every column.
public enum ResultSchema {
    /// What every row of one output shares.
    public struct Context: Sendable {
        /// The `workload` column (a path, `preset:NAME` or `chain`).
        public var workload: String
        /// The `tables` column (paths joined by spaces, or `generated`).
        public var tables: String
        /// The run options.
        public var config: RunConfiguration
        /// The `seed` column: the generator's seed in a sweep; empty in compare (no strategy
        /// makes a random choice).
        public var seed: String
        /// Images of the workload.
        public var images: Int
        /// Instances of the workload (Σ over images).
        public var instances: Int
        /// Write `place_seconds` (false: empty, so outputs are byte-identical across runs).
        public var timings: Bool
        /// `total_pages` of `default` under the same options: the reference of
        /// `pages_per_default`; 0 when unknown (the column is then empty).
        public var defaultTotalPages: Int
        /// The `input_digest` column.
        public var inputDigest: String

        /// The context of one output's rows.
        public init(workload: String, tables: String, config: RunConfiguration, seed: String, images: Int, instances: Int,
                    timings: Bool, defaultTotalPages: Int, inputDigest: String) {
            self.workload = workload; self.tables = tables; self.config = config; self.seed = seed; self.images = images
            self.instances = instances; self.timings = timings; self.defaultTotalPages = defaultTotalPages; self.inputDigest = inputDigest
        }
    }

    /// Column names, in output order.
    public static let columns = [
        "strategy", "params", "workload", "tables", "images", "instances", "page_size", "dedup", "max_page_sharing", "xrefs", "seed",
        "total_pages", "frames", "pages_shared", "pages_sharing", "sharing_pct", "zero_pages", "memory_mib",
        "padding_bytes", "fragmentation_pct", "image_bytes", "private_pages", "lower_bound_frames", "gap_pct",
        "frames_per_bound", "pages_per_default",
        "place_seconds", "solver_status", "solver_unit", "solver_objective", "solver_bound", "solver_gap_pct",
        "tool_version", "tool_commit", "input_digest",
    ]

    /// Columns whose values are numbers.
    public static let numeric: Set<String> = [
        "images", "instances", "page_size", "max_page_sharing", "seed", "total_pages", "frames", "pages_shared", "pages_sharing",
        "sharing_pct", "zero_pages", "memory_mib", "padding_bytes", "fragmentation_pct", "image_bytes", "private_pages",
        "lower_bound_frames", "gap_pct", "place_seconds", "frames_per_bound", "pages_per_default",
        "solver_objective", "solver_bound", "solver_gap_pct",
    ]

    static func fmt(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }

    /// The values of one row, in `columns` order.
    public static func values(_ r: RunResult, _ c: Context) -> [String] {
        let m = r.metrics
        return [r.strategy, r.params, c.workload, c.tables, String(c.images), String(c.instances), String(c.config.pageSize),
                c.config.dedup.rawValue, String(c.config.maxPageSharing), c.config.xrefsLabel, c.seed,
                String(m.totalPages), String(m.frames), String(m.pagesShared), String(m.pagesSharing), fmt(m.sharingPct),
                String(m.zeroPages), fmt(m.memoryMiB), String(m.paddingBytes), fmt(m.fragmentationPct), String(m.imageBytes),
                String(m.privatePages), String(m.lowerBoundFrames), fmt(m.gapPct),
                m.lowerBoundFrames > 0 ? fmt(Double(m.frames) / Double(m.lowerBoundFrames), 4) : "",
                c.defaultTotalPages > 0 ? fmt(Double(m.totalPages) / Double(c.defaultTotalPages), 4) : "",
                c.timings ? fmt(r.placeSeconds, 4) : "", r.status.rawValue, r.solverUnit,
                r.solverObjective.map(String.init) ?? "", r.solverBound.map(String.init) ?? "", r.solverGapPct.map { fmt($0) } ?? "",
                Tool.version, Tool.commitLabel, c.inputDigest]
    }

    /// The rows as a tidy table.
    public static func table(_ rows: [RunResult], _ c: Context) -> TidyTable {
        TidyTable(columns: columns, numeric: numeric, rows: rows.map { values($0, c) })
    }

    /// The terminal table: strategy (with non-default parameters), frames, memory MiB, sharing %,
    /// fragmentation %, image bytes, gap to the lower bound, frames/LB, pages/default, seconds,
    /// solver status, the solver model's objective / proven bound (with unit) and their gap.
    public static func text(_ rows: [RunResult], _ c: Context) -> String {
        let head = ["strategy", "frames", "memory MiB", "sharing %", "fragmentation %", "image bytes", "gap to LB %",
                    "frames/LB", "pages/default", "seconds", "status", "solver objective / bound", "solver gap %"]
        let body: [[String]] = rows.map { r in
            let m = r.metrics
            let model = r.solverObjective.map { o in "\(o) / \(r.solverBound.map(String.init) ?? "-") \(r.solverUnit)" } ?? "-"
            return [r.label, String(m.frames), fmt(m.memoryMiB, 2), fmt(m.sharingPct, 1), fmt(m.fragmentationPct, 1),
                    String(m.imageBytes), fmt(m.gapPct, 1),
                    m.lowerBoundFrames > 0 ? fmt(Double(m.frames) / Double(m.lowerBoundFrames), 2) : "-",
                    c.defaultTotalPages > 0 ? fmt(Double(m.totalPages) / Double(c.defaultTotalPages), 2) : "-",
                    c.timings ? fmt(r.placeSeconds, 3) : "-", r.status.rawValue,
                    model, r.solverGapPct.map { fmt($0, 1) } ?? "-"]
        }
        return TidyTable(columns: head, rows: body).text()
    }

    /// The rendering of `rows` in `format` (`table`: `text`).
    public static func rendered(_ rows: [RunResult], _ c: Context, format: OutputFormat) -> String {
        format == .table ? text(rows, c) : table(rows, c).rendered(format)
    }
}
