import Foundation
import SpacerCore
import SpacerSimulator

/// One strategy's loss attribution (`spacer-sim explain`): the run and where its frames above
/// `lower_bound_frames` go.
public struct ExplainResult: Sendable {
    /// The run (metrics, spec, status), as `compare` reports it.
    public var run: RunResult
    /// The split of `frames − lower_bound_frames` (`Simulator.attributeLoss`).
    public var attribution: LossAttribution
}

/// The experiment side of `explain`: place with each strategy, attribute the loss, and the tidy
/// schema of the output (docs/formats.md, "Explain CSV"): one row per (strategy, cause).
public enum Explain {
    /// Places `workload` with every spec (`jobs` at a time, results in the order given) and
    /// attributes each run's frames above the bound (docs/design.md §4, "Loss attribution").
    /// - Throws: what `Harness.run` throws; `.internalInvariant` naming the strategy when the
    ///   attribution's checks fail.
    public static func run(_ specs: [StrategySpec], workload: Workload, config: RunConfiguration, jobs: Int = 1,
                           progress: (@Sendable (String) -> Void)? = nil,
                           done: @escaping @Sendable (Int, String) -> Void = { _, _ in }) throws -> [ExplainResult] {
        let runs = try Harness.runAll(specs, workload: workload, config: config, jobs: jobs, progress: progress, keepLayouts: true, done: done)
        return try runs.map { r in
            let a: LossAttribution
            do {
                a = try Simulator.attributeLoss(workload, layouts: r.layouts!, options: config.simulation, allowRemoval: r.spec.type.removesEntries)
            } catch let SpacerError.internalInvariant(text) {
                throw SpacerError.internalInvariant("strategy \(r.spec.label): \(text)")
            }
            var run = r
            run.layouts = nil
            return ExplainResult(run: run, attribution: a)
        }
    }

    /// Column names, in output order: the strategy, compare's workload keys, the cause with its
    /// frames and pages, the strategy's frames, bound and mapped pages (so that Σ frames over a
    /// strategy's rows = strategy_frames − lower_bound_frames is checkable), provenance.
    public static let columns = [
        "strategy", "params", "workload", "tables", "images", "instances", "page_size", "dedup", "max_page_sharing", "xrefs", "seed",
        "cause", "frames", "pages", "strategy_frames", "lower_bound_frames", "total_pages",
        "tool_version", "tool_commit", "input_digest",
    ]

    /// Columns whose values are numbers.
    public static let numeric: Set<String> = [
        "images", "instances", "page_size", "max_page_sharing", "seed", "frames", "pages", "strategy_frames", "lower_bound_frames", "total_pages",
    ]

    /// The rows of one result: one per `LossCause`, in chain order.
    public static func values(_ r: ExplainResult, _ c: ResultSchema.Context) -> [[String]] {
        let a = r.attribution
        return a.parts.map { p in
            [r.run.strategy, r.run.params, c.workload, c.tables, String(c.images), String(c.instances), String(c.config.pageSize),
             c.config.dedup.rawValue, String(c.config.maxPageSharing), c.config.xrefsLabel, c.seed,
             p.cause.rawValue, String(p.frames), p.pages.map(String.init) ?? "", String(a.frames), String(a.lowerBoundFrames), String(a.totalPages),
             Tool.version, Tool.commitLabel, c.inputDigest]
        }
    }

    /// The rows as a tidy table.
    public static func table(_ results: [ExplainResult], _ c: ResultSchema.Context) -> TidyTable {
        TidyTable(columns: columns, numeric: numeric, rows: results.flatMap { values($0, c) })
    }

    /// Short headings of the terminal table, one per `LossCause`.
    public static let headings: [LossCause: String] = [
        .ksmCap: "ksm-cap", .writable: "writable", .trampolineTables: "trampolines", .addressDivergence: "addresses",
        .callDivergence: "calls", .dataDivergence: "data", .identityDuplication: "identity", .imageSetBoundary: "boundary",
        .padding: "padding",
    ]

    /// The terminal table: one row per strategy (label with its non-default parameters), its
    /// frames, the bound, frames above it, then the frames of every cause, and a legend.
    public static func text(_ results: [ExplainResult]) -> String {
        let head = ["strategy", "frames", "bound", "above"] + LossCause.allCases.map { headings[$0]! } + ["pages/default"]
        let reference = results.first { $0.run.spec.name == "default" && $0.run.spec.canonical == (try? StrategySpec(name: "default"))?.canonical }
        let body: [[String]] = results.map { r in
            let a = r.attribution
            let ratio = reference.map { ResultSchema.fmt(Double(a.totalPages) / Double(max($0.attribution.totalPages, 1)), 2) } ?? "-"
            return [r.run.label, String(a.frames), String(a.lowerBoundFrames), String(a.frames - a.lowerBoundFrames)]
                + a.parts.map { String($0.frames) } + [ratio]
        }
        let legend = """
        frames above the bound (above = Σ of the causes), by cause: ksm-cap, writable, trampolines = trampoline-tables, \
        addresses = address-divergence (function addresses taken, jump tables), calls = call-divergence, data = data-divergence, \
        identity = identity-duplication, boundary = image-set-boundary, padding (fill, alignment, tails); method: docs/design.md §4

        """
        return TidyTable(columns: head, rows: body).text() + legend
    }

    /// The counterfactual chain as a terminal table: one row per strategy, one column per step
    /// (docs/design.md §4), each `frames/bound`.
    public static func chainText(_ results: [ExplainResult]) -> String {
        guard let first = results.first else { return "" }
        let head = ["strategy"] + first.attribution.steps.indices.map { "\($0)" }
        let body = results.map { r in [r.run.label] + r.attribution.steps.map { "\($0.frames)/\($0.bound)" } }
        let legend = "steps (frames/bound): " + first.attribution.steps.enumerated().map { "\($0.offset) \($0.element.name)" }.joined(separator: ", ") + "\n"
        return TidyTable(columns: head, rows: body).text() + legend
    }

    /// The rendering of `results` in `format` (`table`: `text`).
    public static func rendered(_ results: [ExplainResult], _ c: ResultSchema.Context, format: OutputFormat) -> String {
        format == .table ? text(results) : table(results, c).rendered(format)
    }
}
