import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator

extension DedupModel: ExpressibleByArgument {}
extension XrefMode: ExpressibleByArgument {}
extension OutputFormat: ExpressibleByArgument {}

/// Runs `body`, turning a `SpacerError.usage` into ArgumentParser's `ValidationError` (exit 64
/// with the command's usage line), for `validate()` methods that call the harness's checks.
func usage(_ body: () throws -> Void) throws {
    do { try body() } catch let SpacerError.usage(message) { throw ValidationError(message) }
}

/// The run options every command that places and simulates shares (compare, place), checked by
/// `RunConfiguration.validate()` — the one place their ranges live.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Page size in bytes: a power of two from 4096 to 2^28 (268435456; the address zones are 256 MiB).", valueName: "bytes"))
    var pageSize = 4096

    @Option(help: "Dedup model: ksm (every page may merge, at most --max-page-sharing sharers per frame) or loader (read-only pages from a shared pool without cap; writable pages private).")
    var dedup: DedupModel = .ksm

    @Option(help: ArgumentHelp("KSM max_page_sharing: sharers per frame before another frame is needed, 2 to 2^31 (ignored by loader).", valueName: "n"))
    var maxPageSharing = 256

    @Option(help: "resolve: relocation values are part of page content; ignore: an upper bound on sharing, labelled so in every output.")
    var xrefs: XrefMode = .resolve

    @Option(help: ArgumentHelp("Seconds a solver may spend per sub-problem (and in a solver strategy's whole run unless its budget parameter says otherwise): finite, 0 to 86400.", valueName: "seconds"))
    var timeLimit: Double = 10

    /// The validated configuration these options describe.
    var config: RunConfiguration {
        RunConfiguration(pageSize: pageSize, dedup: dedup, maxPageSharing: maxPageSharing, xrefs: xrefs, timeLimit: timeLimit)
    }

    func validate() throws { try usage { try config.validate() } }

    /// The resolved options for a provenance sidecar.
    var record: [String: String] {
        ["page_size": String(pageSize), "dedup": dedup.rawValue, "max_page_sharing": String(maxPageSharing),
         "xrefs": config.xrefsLabel, "time_limit": String(timeLimit)]
    }
}

/// The strategies to run and how many at once (compare, explain): `name[k=v;…]` specs checked
/// against the registry by `StrategySpec.parseList`, the one parser of that syntax.
struct StrategyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated strategies, each optionally name[k=v;k2=v2] (default: every registered strategy but order-file and external, which need a parameter; see spacer-sim strategies --verbose).", valueName: "a,b,c"))
    var strategies: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy parameter, name=value (every strategy that declares it) or strategy.name=value. Repeatable.", valueName: "name=value"))
    var params: [String] = []

    @Option(help: ArgumentHelp("Strategies run in parallel, 1 to 64 (default: the active processors; results are the same for any value; timings are noisier above 1).", valueName: "n"))
    var jobs = Harness.defaultJobs

    /// The requested strategies, in the order given (the registry's default run when none).
    /// - Throws: `ValidationError` (exit 64) for an unknown strategy or parameter, a value out of
    ///   range or a strategy listed twice (the message of `StrategySpec.parseList`).
    func specs() throws -> [StrategySpec] {
        do { return try StrategySpec.parseList(strategies, params: params) } catch let SpacerError.usage(m) { throw ValidationError(m) }
    }

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be from 1 to 64, found \(jobs)") }
        _ = try specs()
    }

    /// The resolved options for a provenance sidecar (`strategies` as labels, `jobs`).
    func record(_ specs: [StrategySpec]) -> [String: String] {
        ["strategies": specs.map(\.label).joined(separator: ","), "jobs": String(jobs)]
    }
}

/// The first line of a terminal table about a workload (compare, explain): its path, images,
/// instances and tables, and the run options that change frames.
func workloadSummary(_ input: ExperimentInputs, _ config: RunConfiguration) -> String {
    let w = input.workload
    return "workload \(input.workloadPath): \(w.images.count) images, \(w.totalInstances) instances, \(w.tables.count) tables; "
        + "page \(config.pageSize) B, dedup \(config.dedup.rawValue), max_page_sharing \(config.maxPageSharing), "
        + "xrefs \(config.xrefs == .ignore ? "ignore (UPPER BOUND on sharing)" : "resolve")"
}

/// Where a workload and its tables come from (compare, place).
struct InputOptions: ParsableArguments {
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Function-table CSV files or folders (default: datasets/real).", valueName: "path"))
    var tables: [String] = []

    @Option(help: ArgumentHelp("Workload CSV: image,library,version[,instances][,roots] (default: datasets/real/default-workload.csv).", valueName: "file"))
    var workload: String?
}

/// `-o/--out` and `--format`, the one output convention of every command that writes results.
///
/// Without `-o`, results go to standard output in `--format` (the command's default when not
/// given). With `-o PATH`, they go to PATH (format from `--format`, else from the extension:
/// `.csv`, `.json`; else the command's file default), written atomically together with a
/// provenance sidecar `PATH.json`.
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Write the results to this file (atomically, with a provenance sidecar PATH.json) instead of standard output.", valueName: "path"))
    var out: String?

    @Option(help: ArgumentHelp("Output format: table, csv or json (default: table on standard output, else from the file's extension, else csv).", valueName: "format"))
    var format: OutputFormat?

    /// The format to write: `--format`, else the extension of `-o`, else `fileDefault` for a
    /// file and `stdoutDefault` for standard output.
    func resolved(stdoutDefault: OutputFormat = .table, fileDefault: OutputFormat = .csv) -> OutputFormat {
        if let format { return format }
        if let out { return OutputFormat.implied(by: out) ?? fileDefault }
        return stdoutDefault
    }

    func validate() throws {
        if let out { try checkedOutputPath(out) }
    }
}

/// `FileIO.checkOutputPath` at parse time: a path the output policy refuses (a folder, symlink,
/// device, FIFO) exits 73 with the reason before any work starts.
func checkedOutputPath(_ path: String) throws {
    do { try FileIO.checkOutputPath(path) } catch let e as SpacerError {
        FileHandle.standardError.write(Data("spacer-sim: \(e)\n".utf8))
        throw ExitCode(e.exitCode)
    }
}

/// Writes a command's rendered results: to `-o PATH` with a sidecar, or to standard output
/// (checked: a failed write is exit 74).
/// - Parameters:
///   - rows: data rows, recorded in the sidecar.
///   - provenance: the sidecar (its `outputs` are filled in here).
func emit(_ text: String, to out: String?, rows: Int?, provenance: @autoclosure () throws -> Provenance) throws {
    if let out {
        try provenance().write(Data(text.utf8), to: out, rows: rows)
    } else {
        try FileIO.writeStandardOutput(text)
    }
}
