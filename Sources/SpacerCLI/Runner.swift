import Foundation
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies

/// One run of one strategy on one workload: what was asked, what the simulator measured.
public struct RunResult: Sendable {
    public var strategy: String
    public var params: String
    public var metrics: Metrics
    public var status: SolverStatus
    public var placeSeconds: Double
    /// The strategy's own model objective and proven bound, in `solverUnit` (nil: no model).
    public var solverObjective: Int? = nil
    public var solverBound: Int? = nil
    public var solverUnit: String = ""
    /// 100 × (objective / bound − 1), nil without both.
    public var solverGapPct: Double? {
        guard let o = solverObjective, let b = solverBound, b > 0 else { return nil }
        return 100 * (Double(o) / Double(b) - 1)
    }
    /// The ground truth and the share of it this placement achieves, when asked for
    /// (`Runner.run(..., idealSharing: true)`; sweep's `ideal_sharing_pct`).
    public var bodySharing: Simulator.BodySharing? = nil
}

/// Loads inputs and runs strategies through the simulator; shared by `compare` and tests.
public enum Runner {
    /// Function tables from files and folders (a folder contributes its `*.csv` and `*.csv.gz`
    /// files whose names do not contain `workload`, in name order).
    /// - Throws: `.noInput` for a missing path; `.data` from the table reader; `.data` at the
    ///   first row of a (library, version) that an earlier file already defines.
    public static func loadTables(_ paths: [String]) throws -> [FunctionTable] {
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
        var tables: [FunctionTable] = []
        var origin: [String: String] = [:]
        for f in files {
            for (t, line) in try TableCSV.readWithLines(path: f) {
                let key = "\(t.library) \(t.version)"
                if let first = origin[key] {
                    throw SpacerError.data(file: f, location: "\(line)", expected: "each library version in one file only", found: "\(key), also in \(first)")
                }
                origin[key] = "\(f):\(line)"
                tables.append(t)
            }
        }
        return tables
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

    /// Runs every (strategy, canonical params) pair, `jobs` at a time, and returns the results in
    /// the order given, whatever `jobs` is. `done(k, name)` is called after each finished run.
    /// - Throws: the first error in the given order.
    public static func runAll(_ runs: [(any PlacementStrategy, String)], workload: Workload, context: PlacementContext,
                              options: SimulationOptions, jobs: Int,
                              done: @escaping @Sendable (Int, String) -> Void = { _, _ in }) throws -> [RunResult] {
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var results: [Result<RunResult, Error>?]
            var finished = 0
            init(_ n: Int) { results = Array(repeating: nil, count: n) }
        }
        let box = Box(runs.count)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, jobs)
        for (i, (strategy, params)) in runs.enumerated() {
            queue.addOperation {
                let r = Result { try run(strategy, workload: workload, context: context, options: options, params: params) }
                box.lock.lock()
                box.results[i] = r
                box.finished += 1
                let k = box.finished
                box.lock.unlock()
                done(k, type(of: strategy).name)
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        return try box.results.map { try $0!.get() }
    }

    /// Places `workload` with `strategy` and simulates the result.
    /// - Parameter idealSharing: also measure `Simulator.bodySharing` (one more page walk).
    /// - Throws: what the strategy throws; `.internalInvariant` for an infeasible layout.
    public static func run(_ strategy: any PlacementStrategy, workload: Workload, context: PlacementContext,
                           options: SimulationOptions, params: String, idealSharing: Bool = false) throws -> RunResult {
        let type = type(of: strategy)
        let clock = ContinuousClock()
        var result: PlacementResult!
        let elapsed = try clock.measure { result = try strategy.place(workload, context: context) }
        let metrics: Metrics
        do {
            metrics = try Simulator.simulate(workload, layouts: result.layouts, options: options, allowRemoval: type.removesEntries)
        } catch let SpacerError.internalInvariant(text) {
            throw SpacerError.internalInvariant("strategy \(type.name): \(text)")
        }
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var run = RunResult(strategy: type.name, params: params, metrics: metrics, status: result.status, placeSeconds: secs,
                            solverObjective: result.objective, solverBound: result.provenBound, solverUnit: result.objectiveUnit)
        if idealSharing { run.bodySharing = Simulator.bodySharing(workload, layouts: result.layouts, options: options) }
        return run
    }
}
