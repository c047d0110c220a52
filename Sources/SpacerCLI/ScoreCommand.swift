import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator

/// `spacer-sim score`: reads a layout file (docs/formats.md, "Layout file"), checks it with the
/// simulator's layout checks and prints compare's row for it.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Check and score a layout file (written by place --layout-out, compare --layouts-out, or any tool); print compare's row.",
        discussion: """
        Reads the layout file, resolves it against the workload and tables (default: the \
        workload and tables the file records, else compare's defaults), checks it with the \
        simulator's layout checks (every problem listed, up to 50, naming image, entry and \
        problem; exit 65 for an infeasible layout or a file that does not match the tables), \
        simulates it and prints one result row with compare's columns (docs/formats.md, \
        "Result CSV"). strategy, params, solver_status and the solver columns are those the \
        file records; place_seconds is empty (nothing is placed); pages_per_default runs \
        default on the same workload and options, as compare does.

        Examples:
          spacer-sim place --strategy spacer-delta --workload datasets/real/zlib-workload.csv --layout-out /tmp/sd.layout.csv
          spacer-sim score --layout /tmp/sd.layout.csv --format csv
        """)

    @Option(help: ArgumentHelp("The layout file to score (docs/formats.md, \"Layout file\").", valueName: "file"))
    var layout: String

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Function-table CSV files or folders (default: as the layout file records, else datasets/real).", valueName: "path"))
    var tables: [String] = []

    @Option(help: ArgumentHelp("Workload CSV (default: as the layout file records, else datasets/real/default-workload.csv).", valueName: "file"))
    var workload: String?

    @OptionGroup(title: "Run options (as compare)") var runOptions: RunOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    func run() throws { try reportingErrors { try execute() } }

    func execute() throws {
        let parsed = try LayoutFile.parse(path: layout)
        let header = parsed.header
        let workloadPath = workload ?? (header.workload.isEmpty ? nil : header.workload)
        let tablePaths = tables.isEmpty ? header.tables.split(separator: " ").map(String.init) : tables
        let input = try Harness.load(workload: workloadPath, tables: tablePaths)
        let w = input.workload
        let layouts = try LayoutFile.resolve(parsed, workload: w)
        let config = runOptions.config
        if header.pageSize != config.pageSize {
            note("score: note: \(layout) was placed for \(header.pageSize)-byte pages; scoring with --page-size \(config.pageSize)")
        }
        let result = try Harness.score(layouts, header: header, file: layout, workload: w, config: config)
        let reference = try Harness.defaultTotalPages(w, config: config)
        let ctx = ResultSchema.Context(workload: input.workloadPath, tables: input.tablePaths.joined(separator: " "), config: config,
                                       seed: "", images: w.images.count, instances: w.totalInstances, timings: false,
                                       defaultTotalPages: reference, inputDigest: input.digest)
        var options = runOptions.record
        options["layout"] = layout
        options["strategies"] = result.label
        let layoutDigest = try FileDigest.of(file: layout)
        let provenance = Provenance(inputs: input.files + [layoutDigest], inputDigest: input.digest, options: options)
        let format = output.resolved()
        var text = ResultSchema.rendered([result], ctx, format: format)
        if format == .table {
            text = "layout \(layout) (\(header.strategy)) on workload \(input.workloadPath): \(w.images.count) images, \(w.totalInstances) instances; page \(config.pageSize) B, dedup \(config.dedup.rawValue), xrefs \(config.xrefs == .ignore ? "ignore (UPPER BOUND on sharing)" : "resolve"); lower bound \(result.metrics.lowerBoundFrames) frames\n" + text
        }
        try emit(text, to: output.out, rows: 1, provenance: provenance)
    }
}
