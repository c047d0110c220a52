import ArgumentParser
import Foundation
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies

extension DedupModel: ExpressibleByArgument {}
extension XrefMode: ExpressibleByArgument {}

/// Output formats of `compare`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

/// `spacer-sim compare`: every (or the chosen) strategy on one workload, side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run placement strategies on a workload and compare frames, sharing and fragmentation.",
        discussion: """
        With no options: every registered strategy on datasets/real/default-workload.csv (eight \
        SQLite releases, each image also holding zlib 1.3.1 and Lua 5.4.7), tables from \
        datasets/real/. The table goes to stdout; a tidy CSV (one row per run, DESIGN.md §4 metric \
        names) and a sidecar JSON with the exact command go to notebooks-out/.

        Examples:
          spacer-sim compare --strategies default,spacer-delta --page-size 16384
          spacer-sim compare --tables my.csv --workload my-workload.csv --format csv
          spacer-sim compare --strategies 'default,spacer-delta[shared-tables=true]'
          spacer-sim compare --xrefs ignore   # an upper bound: no relocation values
        """)

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Function-table CSV files or folders (default: datasets/real).", valueName: "path"))
    var tables: [String] = []

    @Option(help: ArgumentHelp("Workload CSV: image,library,version[,instances] (default: datasets/real/default-workload.csv).", valueName: "file"))
    var workload: String?

    @Option(help: ArgumentHelp("Comma-separated strategies, each optionally name[k=v;k2=v2] (default: all registered).", valueName: "a,b,c"))
    var strategies: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy parameter, name=value (every strategy that declares it) or strategy.name=value. Repeatable.", valueName: "name=value"))
    var params: [String] = []

    @Option(help: "Page size in bytes, a power of two from 4096 to 2^28 (268435456).")
    var pageSize = 4096

    @Option(help: "Dedup model: ksm (every page may merge) or loader (read-only pages from a shared pool).")
    var dedup: DedupModel = .ksm

    @Option(help: "KSM max_page_sharing: sharers per frame before another frame is needed.")
    var maxPageSharing = 256

    @Option(help: "resolve: relocation values are part of page content; ignore: an upper bound, labelled so.")
    var xrefs: XrefMode = .resolve

    @Option(help: "Seed for randomised strategies.")
    var seed: UInt64 = 1

    @Option(help: "Seconds a solver may spend per sub-problem, and in the whole run of a solver strategy unless its budget parameter says otherwise.")
    var timeLimit: Double = 10

    @Option(help: "Strategies run in parallel (results and outputs are the same for any value; timings are noisier above 1).")
    var jobs = 1

    @Option(help: "Output on stdout: table, csv or json.")
    var format: OutputFormat = .table

    @Option(help: ArgumentHelp("Where to write the tidy CSV (a sidecar .json beside it) (default: notebooks-out/compare-<workload>.csv).", valueName: "path"))
    var csv: String?

    @Flag(help: "Write no CSV file.")
    var noCsv = false

    @Flag(help: "Leave place_seconds empty so that outputs are byte-identical across runs.")
    var noTimings = false

    func validate() throws {
        if let problem = AddressMap.pageSizeProblem(pageSize) { throw ValidationError(problem) }
        guard maxPageSharing >= 2 else { throw ValidationError("--max-page-sharing must be ≥ 2, found \(maxPageSharing)") }
        guard timeLimit >= 0 else { throw ValidationError("--time-limit must be ≥ 0") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1, found \(jobs)") }
        _ = try selection()
    }

    /// (name, parameters) per requested strategy, checked against the registry.
    func selection() throws -> [(String, [String: String])] {
        try strategySelection(strategies, params: params)
    }

    func run() throws {
        try reportingErrors { try execute() }
    }

    func execute() throws {
        do {
            guard let wpath = workload ?? Runner.locate("datasets/real/default-workload.csv") else {
                throw SpacerError.noInput(path: "datasets/real/default-workload.csv (run from the repository root, or pass --workload and --tables)")
            }
            var tpaths = tables
            if tpaths.isEmpty {
                guard let d = Runner.locate("datasets/real") else { throw SpacerError.noInput(path: "datasets/real (pass --tables)") }
                tpaths = [d]
            }
            let rows = try WorkloadCSV.read(path: wpath)
            let loaded = try Runner.loadTables(tpaths)
            let w = try Workload(rows: rows, tables: loaded, source: wpath)
            let options = SimulationOptions(pageSize: pageSize, dedup: dedup, maxPageSharing: maxPageSharing, xrefs: xrefs)
            let tty = isatty(2) != 0
            var progress: (@Sendable (String) -> Void)? = nil
            if tty { progress = { (s: String) in note("  " + s) } }
            let context = PlacementContext(pageSize: pageSize, seed: seed, timeLimit: timeLimit, progress: progress)
            let picked = try selection()
            let runs = try picked.map { name, given in
                (try StrategyRegistry.make(name, parameters: given),
                 try StrategyParameters(given, specs: StrategyRegistry.named(name)!.parameters, strategy: name).canonical)
            }
            let results = try Runner.runAll(runs, workload: w, context: context, options: options, jobs: jobs) { done, name in
                if tty { note("[\(done)/\(runs.count)] \(name) done") }
            }
            // The reference of pages_per_default: default's mapped pages (run here if not selected).
            let reference = try results.first(where: { $0.strategy == DefaultStrategy.name })?.metrics.totalPages
                ?? Runner.run(DefaultStrategy(parameters: StrategyParameters([:], specs: [], strategy: "default")),
                              workload: w, context: context, options: options, params: "").metrics.totalPages
            let ctx = ResultTable.Context(workload: wpath, tables: tpaths.joined(separator: " "), options: options, seed: seed,
                                          images: w.images.count, instances: w.totalInstances, timings: !noTimings,
                                          toolVersion: spacerSimVersion, gitCommit: currentGitCommit(), defaultTotalPages: reference)
            switch format {
            case .table:
                print("workload \(wpath): \(w.images.count) images, \(w.totalInstances) instances, \(w.tables.count) tables; page \(pageSize) B, dedup \(dedup.rawValue), xrefs \(xrefs == .ignore ? "ignore (UPPER BOUND on sharing)" : "resolve"); lower bound \(results.first?.metrics.lowerBoundFrames ?? 0) frames")
                print(ResultTable.text(results, ctx), terminator: "")
            case .csv: print(ResultTable.csv(results, ctx), terminator: "")
            case .json: print(ResultTable.json(results, ctx), terminator: "")
            }
            if !noCsv {
                let base = ((wpath as NSString).lastPathComponent as NSString).deletingPathExtension
                let out = csv ?? "notebooks-out/compare-\(base).csv"
                try FileIO.writeAtomically(ResultTable.csv(results, ctx), to: out)
                let meta = """
                {
                  "command": \(jsonString(CommandLine.arguments.joined(separator: " "))),
                  "cwd": \(jsonString(FileManager.default.currentDirectoryPath)),
                  "tool_version": \(jsonString(spacerSimVersion)),
                  "git_commit": \(jsonString(ctx.gitCommit)),
                  "workload": \(jsonString(wpath)),
                  "tables": [\(tpaths.map(jsonString).joined(separator: ", "))],
                  "rows": \(results.count)
                }

                """
                try FileIO.writeAtomically(meta, to: out + ".json")
                if tty { note("wrote \(out) and \(out).json") }
            }
        }
    }
}

/// (name, parameters) per strategy of a `--strategies` list (each `name` or `name[k=v;k2=v2]`;
/// nil means every registered strategy) with the `--param name=value` /
/// `--param strategy.name=value` settings applied to the strategies that declare them.
/// - Throws: `ValidationError` for an unknown strategy, a malformed parameter, a `--param` that no
///   selected strategy declares, or an empty list.
func strategySelection(_ strategies: String?, params: [String]) throws -> [(String, [String: String])] {
    var picked: [(String, [String: String])] = []
    let list = strategies.map(splitTopLevel) ?? StrategyRegistry.all.map { $0.name }
    for item in list where !item.isEmpty {
        var name = item, given: [String: String] = [:]
        if let open = item.firstIndex(of: "["), item.hasSuffix("]") {
            name = String(item[..<open])
            for kv in item[item.index(after: open)..<item.index(before: item.endIndex)].split(separator: ";") {
                let p = kv.split(separator: "=", maxSplits: 1)
                guard p.count == 2 else { throw ValidationError("strategy parameter '\(kv)' in '\(item)': expected name=value") }
                given[String(p[0])] = String(p[1])
            }
        }
        guard let type = StrategyRegistry.named(name) else {
            throw ValidationError("unknown strategy '\(name)'; registered: \(StrategyRegistry.all.map { $0.name }.joined(separator: ", "))")
        }
        for p in params {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw ValidationError("--param '\(p)': expected name=value or strategy.name=value") }
            if let dot = kv[0].firstIndex(of: "."), StrategyRegistry.named(String(kv[0][..<dot])) != nil {
                if kv[0][..<dot] == name { given[String(kv[0][kv[0].index(after: dot)...])] = kv[1] }
            } else if type.parameters.contains(where: { $0.name == kv[0] }) {
                given[kv[0]] = kv[1]
            }
        }
        picked.append((name, given))
    }
    for p in params {
        let key = String(p.split(separator: "=", maxSplits: 1).first ?? "")
        let declared = picked.contains { n, _ in
            let t = StrategyRegistry.named(n)!
            if let dot = key.firstIndex(of: "."), key[..<dot] == n { return t.parameters.contains { $0.name == key[key.index(after: dot)...] } }
            return t.parameters.contains { $0.name == key }
        }
        guard declared else { throw ValidationError("--param '\(p)': no selected strategy declares '\(key)' (see spacer-sim strategies --verbose)") }
    }
    guard !picked.isEmpty else { throw ValidationError("--strategies names no strategy") }
    return picked
}

/// Splits `a,b[x=1,y=2],c` at commas outside brackets.
func splitTopLevel(_ s: String) -> [String] {
    var out: [String] = [], cur = "", depth = 0
    for ch in s {
        if ch == "[" { depth += 1 } else if ch == "]" { depth -= 1 }
        if ch == "," && depth == 0 { out.append(cur); cur = "" } else { cur.append(ch) }
    }
    out.append(cur)
    return out.map { $0.trimmingCharacters(in: .whitespaces) }
}
