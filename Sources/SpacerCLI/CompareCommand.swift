import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator
import SpacerStrategies

/// Wall time of a command's phases, for `SPACER_SIM_TIMINGS=1`: one stderr line
/// `timings: load 0.041 s, strategies 0.130 s, output 0.004 s, total 0.175 s` (seconds, three
/// decimals; `load` is reading the workload and its tables, their sha256 digests and
/// `Workload.init`; `strategies` every strategy placed and scored, and the `default` reference).
struct PhaseTimer {
    let enabled: Bool
    private let clock = ContinuousClock()
    private var start: ContinuousClock.Instant
    private var last: ContinuousClock.Instant
    private var laps: [(String, Duration)] = []
    init(enabled: Bool) { self.enabled = enabled; start = clock.now; last = start }
    /// Ends the phase `name` now.
    mutating func lap(_ name: String) {
        guard enabled else { return }
        let now = clock.now
        laps.append((name, now - last)); last = now
    }
    /// Prints the line (when enabled).
    func report() {
        guard enabled else { return }
        func s(_ d: Duration) -> String { String(format: "%.3f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) }
        note("timings: " + (laps.map { "\($0.0) \(s($0.1))" } + ["total \(s(last - start))"]).joined(separator: ", "))
    }
}

/// `spacer-sim compare`: every (or the chosen) strategy on one workload, side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run placement strategies on a workload and compare frames, sharing and fragmentation.",
        discussion: """
        With no options: every registered strategy on datasets/real/default-workload.csv (eight \
        SQLite releases, each image also holding zlib 1.3.1 and Lua 5.4.7), tables from \
        datasets/real/. The table goes to standard output; a tidy CSV (one row per run, the \
        metric names of docs/design.md §4, columns in docs/formats.md) and a provenance sidecar \
        (.json: command, tool commit, sha256 of every input, resolved options) go to \
        notebooks-out/compare-<workload>.csv unless -o or --no-csv.

        Examples:
          spacer-sim compare --strategies default,spacer-delta --page-size 16384
          spacer-sim compare --tables my.csv --workload my-workload.csv -o results.csv
          spacer-sim compare --strategies 'default,spacer-delta[shared-tables=true]'
          spacer-sim compare --xrefs ignore   # an upper bound: no relocation values
        """)

    @OptionGroup(title: "Inputs") var inputs: InputOptions

    @OptionGroup var selection: StrategyOptions

    @OptionGroup(title: "Run options") var runOptions: RunOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @Option(name: .customLong("csv"), help: .hidden)
    var csvAlias: String?

    @Flag(help: "Write no CSV file to notebooks-out/ (when -o is not given).")
    var noCsv = false

    @Flag(help: "Leave place_seconds empty so that outputs are byte-identical across runs.")
    var noTimings = false

    @Option(help: ArgumentHelp("Write each strategy's layout to DIR/<label>.layout.csv (docs/formats.md, \"Layout file\"; the label made file-safe), for spacer-sim score.", valueName: "dir"))
    var layoutsOut: String?

    func validate() throws {
        if let c = csvAlias { try checkedOutputPath(c) }
    }

    func run() throws { try reportingErrors { try execute() } }

    func execute() throws {
        var phases = PhaseTimer(enabled: ProcessInfo.processInfo.environment["SPACER_SIM_TIMINGS"] == "1")
        let input = try Harness.load(workload: inputs.workload, tables: inputs.tables)
        phases.lap("load")
        let w = input.workload
        let config = runOptions.config
        let tty = isatty(2) != 0
        let progress: (@Sendable (String) -> Void)? = tty ? { @Sendable (s: String) in note("  " + s) } : nil
        let specs = try selection.specs()
        let results = try Harness.runAll(specs, workload: w, config: config, jobs: selection.jobs, progress: progress, keepLayouts: layoutsOut != nil) { done, label in
            if tty { note("[\(done)/\(specs.count)] \(label) done") }
        }
        for r in results { for warning in r.warnings { note("warning: \(warning)") } }
        let reference = try Harness.defaultTotalPages(w, config: config, results: results)
        phases.lap("strategies")
        if let dir = layoutsOut { try writeLayouts(results, to: dir, input: input, config: config) }
        let ctx = ResultSchema.Context(workload: input.workloadPath, tables: input.tablePaths.joined(separator: " "), config: config,
                                       seed: "", images: w.images.count, instances: w.totalInstances, timings: !noTimings,
                                       defaultTotalPages: reference, inputDigest: input.digest)
        var options = runOptions.record
        options.merge(selection.record(specs)) { $1 }
        options["timings"] = String(!noTimings)
        let provenance = Provenance(inputs: input.files, options: options)
        let format = output.resolved()
        var text = ResultSchema.rendered(results, ctx, format: format)
        if format == .table {
            let head = workloadSummary(input, config) + "; lower bound \(results.first?.metrics.lowerBoundFrames ?? 0) frames\n"
            text = head + text
        }
        try emit(text, to: output.out, rows: results.count, provenance: provenance)
        // The paper copy: tidy CSV + sidecar in notebooks-out/ (or --csv PATH, the old spelling).
        if output.out == nil && !noCsv {
            let base = ((input.workloadPath as NSString).lastPathComponent as NSString).deletingPathExtension
            let path = csvAlias ?? "notebooks-out/compare-\(base).csv"
            try provenance.write(Data(ResultSchema.table(results, ctx).csv.utf8), to: path, rows: results.count)
            if tty { note("wrote \(path) and \(path).json") }
        } else if let o = output.out, tty {
            note("wrote \(o) and \(o).json")
        }
        phases.lap("output")
        phases.report()
    }

    /// Writes one layout file per run into `dir` (created if missing): `<label>.layout.csv`,
    /// the label made file-safe (`LayoutFile.fileSafe`).
    /// - Throws: `.cantCreate` when `dir` exists and is not a folder, or a file path is refused.
    func writeLayouts(_ results: [RunResult], to dir: String, input: ExperimentInputs, config: RunConfiguration) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw SpacerError.cantCreate(path: dir, reason: "--layouts-out must be a folder") }
        } else {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw SpacerError.cantCreate(path: dir, reason: "\(error.localizedDescription)")
            }
        }
        let tool = "spacer-sim \(Tool.version) (\(Tool.commitLabel))"
        for r in results {
            guard let layouts = r.layouts else { continue }
            let header = r.layoutHeader(pageSize: config.pageSize, workload: input.workloadPath, tables: input.tablePaths.joined(separator: " "))
            let path = (dir as NSString).appendingPathComponent(LayoutFile.fileSafe(r.label) + ".layout.csv")
            try FileIO.writeAtomically(LayoutFile.write(layouts, workload: input.workload, header: header, tool: tool), to: path)
        }
    }
}
