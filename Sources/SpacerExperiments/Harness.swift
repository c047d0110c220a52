import Foundation
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies

/// One run of one strategy on one workload: what was asked, what the simulator measured.
public struct RunResult: Sendable {
    /// The strategy as asked for (name and every parameter).
    public var spec: StrategySpec
    /// The simulator's metrics (docs/design.md §4).
    public var metrics: Metrics
    /// The strategy's solver status (`ok` for heuristics).
    public var status: SolverStatus
    /// Wall seconds of `place` (not of scoring).
    public var placeSeconds: Double
    /// The strategy's own model objective, in `solverUnit` (nil: no model).
    public var solverObjective: Int? = nil
    /// The lower bound the strategy proved on its objective, in `solverUnit` (nil: none).
    public var solverBound: Int? = nil
    /// Unit of the solver columns (`pages`, `bytes`); empty without a model.
    public var solverUnit: String = ""
    /// 100 × (objective / bound − 1), nil without both.
    public var solverGapPct: Double? {
        guard let o = solverObjective, let b = solverBound, b > 0 else { return nil }
        return 100 * (Double(o) / Double(b) - 1)
    }
    /// The ground truth and the share of it this placement reaches, when asked for
    /// (`Harness.run(..., idealSharing: true)`; sweep's `ideal_sharing_pct`).
    public var bodySharing: Simulator.BodySharing? = nil
    /// The strategy's warnings (`PlacementResult.warnings`), printed by `compare` on stderr.
    public var warnings: [String] = []
    /// The layouts the strategy returned, one per image, when asked for
    /// (`Harness.run(..., keepLayouts: true)`, for `compare --layouts-out`); nil otherwise.
    public var layouts: [ImageLayout]? = nil
    /// For a run scored from a layout file (`Harness.score`): the `strategy` and `params`
    /// columns as the file records them; nil: from `spec`.
    public var recordedStrategy: String? = nil
    /// The `params` column a layout file records (`Harness.score`); nil: from `spec`.
    public var recordedParams: String? = nil
    /// The `strategy` column: the registry name (or the name a layout file records).
    public var strategy: String { recordedStrategy ?? spec.name }
    /// The canonical `params` column.
    public var params: String { recordedParams ?? spec.canonical }
    /// The name with its non-default parameters, as `--strategies` takes it (a layout file's
    /// strategy that is not registered: `name[params]`).
    public var label: String {
        guard let name = recordedStrategy, name != spec.name || params != spec.canonical else { return spec.label }
        return params.isEmpty ? name : "\(name)[\(params)]"
    }
    /// What a layout file of this run records besides the layouts.
    /// - Parameters: `workload`, `tables`: the paths as given (informational).
    public func layoutHeader(pageSize: Int, workload: String, tables: String) -> LayoutFileHeader {
        LayoutFileHeader(strategy: strategy, params: params, pageSize: pageSize, removesEntries: spec.type.removesEntries,
                         solverStatus: status, solverUnit: solverUnit, solverObjective: solverObjective, solverBound: solverBound,
                         workload: workload, tables: tables)
    }
}

/// A workload with its tables, read from files, and the digests of every file read.
public struct ExperimentInputs: Sendable {
    /// The interned workload.
    public var workload: Workload
    /// The workload file as given (the `workload` column).
    public var workloadPath: String
    /// The table paths as given (files or folders; the `tables` column joins them by spaces).
    public var tablePaths: [String]
    /// Every file read, workload first, then tables in load order.
    public var files: [FileDigest]
    /// `FileDigest.combined(files)`: the `input_digest` column.
    public var digest: String { FileDigest.combined(files) }
}

/// The experiment harness: load inputs, place with strategies, simulate, and the reference run
/// of `pages_per_default`. Shared by the CLI's commands, the benchmarks, the fuzzers and tests,
/// so that place → simulate → report exists once.
public enum Harness {
    /// The files a list of table paths names: files as given, a folder's `*.csv` and `*.csv.gz`
    /// whose names do not contain `workload`, in name order.
    /// - Throws: `.noInput` for a missing path.
    public static func tableFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw SpacerError.noInput(path: p) }
            if isDir.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: p)) ?? []
                files += names.filter { ($0.hasSuffix(".csv") || $0.hasSuffix(".csv.gz")) && !$0.contains("workload") }
                    .sorted().map { (p as NSString).appendingPathComponent($0) }
            } else { files.append(p) }
        }
        return files
    }

    /// Function tables from files and folders (`tableFiles`).
    /// - Throws: `.noInput` for a missing path; `.data` from the table reader; `.data` at the
    ///   first row of a (library, version) that an earlier file already defines.
    public static func loadTables(_ paths: [String]) throws -> [FunctionTable] {
        try loadTablesWithFiles(paths).tables
    }

    /// `loadTables` plus the files it read, in order. The files are parsed in parallel
    /// (`parallelMap`); the tables, and the first error in file order, are those of reading them
    /// one after the other.
    public static func loadTablesWithFiles(_ paths: [String]) throws -> (tables: [FunctionTable], files: [String]) {
        let files = try tableFiles(paths)
        let parsed = parallelMap(files.count) { try TableCSV.readWithLines(path: files[$0]) }
        var tables: [FunctionTable] = []
        var origin: [String: String] = [:]
        for (f, result) in zip(files, parsed) {
            for (t, line) in try result.get() {
                let key = "\(t.library) \(t.version)"
                if let first = origin[key] {
                    throw SpacerError.data(file: f, location: "\(line)", expected: "each library version in one file only", found: "\(key), also in \(first)")
                }
                origin[key] = "\(f):\(line)"
                tables.append(t)
            }
        }
        return (tables, files)
    }

    /// The strategies `compare` and `explain` run at once by default: the machine's active
    /// processors, 1 to 64 (results are the same for any number).
    public static var defaultJobs: Int { min(64, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// `body(0) … body(n − 1)` on up to `defaultJobs` threads at once, results in index order
    /// (each a value or the error `body` threw for that index).
    static func parallelMap<T>(_ n: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>] {
        let box = ResultSlots<T>(n)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = defaultJobs
        for i in 0..<n {
            queue.addOperation {
                let r = Result { try body(i) }
                box.lock.lock(); box.results[i] = r; box.lock.unlock()
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        return box.results.map { $0! }
    }

    /// Reads a workload and its tables. Without a workload path, the committed default
    /// (`datasets/real/default-workload.csv`); without table paths, `datasets/real`.
    /// - Throws: `.noInput` when a default cannot be found (run from the repository root) or a
    ///   file is missing; `.data` from the readers or the workload check.
    public static func load(workload: String?, tables: [String]) throws -> ExperimentInputs {
        guard let wpath = workload ?? locate("datasets/real/default-workload.csv") else {
            throw SpacerError.noInput(path: "datasets/real/default-workload.csv (run from the repository root, or pass --workload and --tables)")
        }
        var tpaths = tables
        if tpaths.isEmpty {
            guard let d = locate("datasets/real") else { throw SpacerError.noInput(path: "datasets/real (pass --tables)") }
            tpaths = [d]
        }
        let rows = try WorkloadCSV.read(path: wpath)
        let (loaded, files) = try loadTablesWithFiles(tpaths)
        // The digests (sha256 of every input file) are taken while the workload is built.
        let read = [wpath] + files
        final class Digests: @unchecked Sendable { var value: [Result<FileDigest, Error>] = [] }
        let box = Digests(), group = DispatchGroup()
        DispatchQueue.global().async(group: group) { box.value = parallelMap(read.count) { try FileDigest.of(file: read[$0]) } }
        let w: Workload
        do { w = try Workload(rows: rows, tables: loaded, source: wpath) } catch { group.wait(); throw error }
        group.wait()
        let digests = try box.value.map { try $0.get() }
        return ExperimentInputs(workload: w, workloadPath: wpath, tablePaths: tpaths, files: digests)
    }

    /// Finds `relative` in the current folder or above the executable (so that the README's
    /// commands work from the repository root and from a build folder alike).
    public static func locate(_ relative: String) -> String? {
        let fm = FileManager.default
        if fm.fileExists(atPath: relative) { return relative }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(relative).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// Places `workload` with `spec` under `config` and simulates the result.
    /// - Parameters:
    ///   - seed: passed to the strategy's context (a sweep's generator seed).
    ///   - idealSharing: also measure `Simulator.bodySharing` (one more page walk).
    ///   - keepLayouts: keep the strategy's layouts in `RunResult.layouts`.
    /// - Throws: what the strategy throws; `.internalInvariant` naming the strategy for an
    ///   infeasible layout.
    public static func run(_ spec: StrategySpec, workload: Workload, config: RunConfiguration, seed: UInt64 = 1,
                           progress: (@Sendable (String) -> Void)? = nil, idealSharing: Bool = false,
                           keepLayouts: Bool = false) throws -> RunResult {
        let strategy = try spec.make()
        let clock = ContinuousClock()
        var result: PlacementResult!
        let context = config.context(seed: seed, progress: progress)
        let elapsed = try clock.measure { result = try strategy.place(workload, context: context) }
        let options = config.simulation
        let metrics: Metrics
        do {
            metrics = try Simulator.simulate(workload, layouts: result.layouts, options: options, allowRemoval: spec.type.removesEntries)
        } catch let SpacerError.internalInvariant(text) {
            throw SpacerError.internalInvariant("strategy \(spec.label): \(text)")
        }
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var run = RunResult(spec: spec, metrics: metrics, status: result.status, placeSeconds: secs,
                            solverObjective: result.objective, solverBound: result.provenBound, solverUnit: result.objectiveUnit)
        if idealSharing { run.bodySharing = Simulator.bodySharing(workload, layouts: result.layouts, options: options) }
        if keepLayouts { run.layouts = result.layouts }
        run.warnings = result.warnings
        return run
    }

    /// The most layout problems `score` lists before it stops looking.
    public static let scoreProblemLimit = 50

    /// Scores layouts read from a layout file: checks them with the simulator's layout checks
    /// (`LayoutCheck.problems`, removal allowed when the header says `removes_entries: true`),
    /// simulates them under `config` and returns a row with the file's strategy and params,
    /// solver status and solver columns as recorded, and `placeSeconds` 0 (nothing was placed;
    /// write the row without timings).
    /// - Parameter file: the layout file's name, for errors.
    /// - Throws: `.data` naming the file and listing every problem (image, entry and problem; at
    ///   most `scoreProblemLimit`) for an infeasible layout.
    public static func score(_ layouts: [ImageLayout], header: LayoutFileHeader, file: String, workload: Workload,
                             config: RunConfiguration) throws -> RunResult {
        let problems = LayoutCheck.problems(workload: workload, layouts: layouts, pageSize: config.pageSize,
                                            allowRemoval: header.removesEntries, limit: scoreProblemLimit)
        guard problems.isEmpty else {
            let count = problems.count >= scoreProblemLimit ? "at least \(scoreProblemLimit) problems (the first \(scoreProblemLimit) listed)"
                : "\(problems.count) problem\(problems.count == 1 ? "" : "s")"
            throw SpacerError.data(file: file, location: "", expected: "a feasible layout", found: "\(count):\n  " + problems.joined(separator: "\n  "))
        }
        let metrics: Metrics
        do {
            metrics = try Simulator.simulate(workload, layouts: layouts, options: config.simulation, allowRemoval: header.removesEntries)
        } catch let SpacerError.internalInvariant(text) {
            throw SpacerError.data(file: file, location: "", expected: "a feasible layout", found: text)
        }
        var given: [String: String] = [:]
        for kv in header.params.split(separator: ";") {
            let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
            if p.count == 2, given[p[0]] == nil { given[p[0]] = p[1] }
        }
        let spec = (try? StrategySpec(name: header.strategy, given: given)) ?? (try! StrategySpec(name: DefaultStrategy.name))
        var run = RunResult(spec: spec, metrics: metrics, status: header.solverStatus, placeSeconds: 0,
                            solverObjective: header.solverObjective, solverBound: header.solverBound, solverUnit: header.solverUnit)
        run.recordedStrategy = header.strategy
        run.recordedParams = header.params
        return run
    }

    /// Runs every spec, `jobs` at a time, and returns the results in the order given, whatever
    /// `jobs` is. `done(k, label)` is called after each finished run (from any thread).
    ///
    /// Start order: runs of strategies that declare a solver `budget` (they may search up to it)
    /// start first, the others after them, each in the order given, so that with several jobs a
    /// long solve does not begin only when the short runs are done. Results do not depend on it.
    /// - Throws: the first error in the given order.
    public static func runAll(_ specs: [StrategySpec], workload: Workload, config: RunConfiguration, jobs: Int,
                              progress: (@Sendable (String) -> Void)? = nil, keepLayouts: Bool = false,
                              done: @escaping @Sendable (Int, String) -> Void = { _, _ in }) throws -> [RunResult] {
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var results: [Result<RunResult, Error>?]
            var finished = 0
            init(_ n: Int) { results = Array(repeating: nil, count: n) }
        }
        let box = Box(specs.count)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, jobs)
        let mayRunLong = specs.map { spec in spec.type.parameters.contains { $0.name == StrategySupport.budgetParameter.name } }
        for i in specs.indices.sorted(by: { (mayRunLong[$0] ? 0 : 1, $0) < (mayRunLong[$1] ? 0 : 1, $1) }) {
            let spec = specs[i]
            queue.addOperation {
                let r = Result { try run(spec, workload: workload, config: config, progress: progress, keepLayouts: keepLayouts) }
                box.lock.lock()
                box.results[i] = r
                box.finished += 1
                let k = box.finished
                box.lock.unlock()
                done(k, spec.label)
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        return try box.results.map { try $0!.get() }
    }

    /// `total_pages` of `default` on `workload` under `config`: the reference of
    /// `pages_per_default`. Taken from `results` when they hold a default run with its default
    /// parameters, else run here.
    /// - Throws: what `run` throws.
    public static func defaultTotalPages(_ workload: Workload, config: RunConfiguration, results: [RunResult] = [], seed: UInt64 = 1) throws -> Int {
        let reference = try StrategySpec(name: DefaultStrategy.name)
        if let r = results.first(where: { $0.spec.name == reference.name && $0.spec.canonical == reference.canonical }) { return r.metrics.totalPages }
        return try run(reference, workload: workload, config: config, seed: seed).metrics.totalPages
    }
}

/// Result slots that worker threads fill under a lock (`Harness.parallelMap`).
private final class ResultSlots<T>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Result<T, Error>?]
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}
