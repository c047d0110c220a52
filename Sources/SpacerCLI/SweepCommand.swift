import ArgumentParser
import Foundation
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies
import SpacerSynth

/// `spacer-sim sweep`: the cartesian product of parameter lists, one tidy CSV row per run.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the cartesian product of strategies, page sizes, instances, versions, change rates and seeds; one CSV row per run.",
        discussion: """
        Each grid point generates a preset's history afresh (versions, change rate and seed \
        applied), or selects from tables read once, runs one strategy and scores it. The CSV has \
        the columns of compare, then preset, versions, change_rate, instances_per_image, \
        ideal_shared_bytes, actual_shared_bytes and ideal_sharing_pct (the share of the bytes an \
        ideal placement could share that this placement shares; README, "Ground truth").

        Resumable: rows already in --out are skipped, and the file is rewritten atomically (at \
        most every second and at the end), so an interrupted run loses at most a second of work \
        and never leaves half a row. Run the same command again to finish it.

        Lists: comma-separated; integers also as ranges a..b or a..b:step (2..16,
        1..3).

        Examples:
          spacer-sim sweep --presets paper --versions 2..16 \\
              --change-rates 0.1,0.2,0.4 --seeds 1..3 --jobs 2 \\
              --strategies default,per-occurrence,function-per-page,\\
        content-defined,spacer-delta --out notebooks-out/sweep-paper.csv
          spacer-sim sweep --tables datasets/real \\
              --workload datasets/real/default-workload.csv --versions 2..8
          spacer-sim sweep --presets small --page-sizes 4096,16384 \\
              --instances 1,4 --dedup ksm,loader
          spacer-sim sweep ... --shard 3/8 --out shard-3.csv
          spacer-sim merge shard-*.csv --out sweep.csv
        """)

    @Option(help: ArgumentHelp("Generator presets to sweep over: \(SynthPreset.all.map(\.name).joined(separator: ",")) (default: small, unless --tables).", valueName: "a,b"))
    var presets: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Function-table files or folders instead of presets.", valueName: "path"))
    var tables: [String] = []

    @Option(help: ArgumentHelp("Workload for --tables (default: one image per version).", valueName: "file"))
    var workload: String?

    @Option(help: ArgumentHelp("Comma-separated strategies, each optionally name[k=v;k2=v2] (default: all registered).", valueName: "a,b,c"))
    var strategies: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy parameter, name=value or strategy.name=value. Repeatable.", valueName: "name=value"))
    var params: [String] = []

    @Option(help: ArgumentHelp("Page sizes in bytes (powers of two from 4096 to 2^28).", valueName: "list"))
    var pageSizes = "4096"

    @Option(help: ArgumentHelp("Instances per image (default: as the preset or workload says).", valueName: "list"))
    var instances: String?

    @Option(help: ArgumentHelp("Versions: presets generate this many; with --tables, the first N images of the workload (default: as given).", valueName: "list"))
    var versions: String?

    @Option(help: ArgumentHelp("Overall change rates of the presets (generate --change-rate; default: the preset's).", valueName: "list"))
    var changeRates: String?

    @Option(help: ArgumentHelp("Seeds (generator and strategies).", valueName: "list"))
    var seeds = "1"

    @Option(help: ArgumentHelp("Dedup models: ksm, loader.", valueName: "list"))
    var dedup = "ksm"

    @Option(help: "KSM max_page_sharing.")
    var maxPageSharing = 256

    @Option(help: "resolve, or ignore (an upper bound on sharing, labelled so).")
    var xrefs = "resolve"

    @Option(help: "Seconds a solver may spend per sub-problem.")
    var timeLimit: Double = 10

    @Option(help: ArgumentHelp("Output CSV; a sidecar .json records the command (default: notebooks-out/sweep.csv).", valueName: "path"))
    var out = "notebooks-out/sweep.csv"

    @Option(help: ArgumentHelp("Run only shard i of n (1 ≤ i ≤ n): every n-th dataset (history) of the grid, or every n-th run when there are fewer datasets than shards; join shards with spacer-sim merge.", valueName: "i/n"))
    var shard: String?

    @Option(help: "Threads (datasets run in parallel; place_seconds then include contention).")
    var jobs = 1

    @Option(help: ArgumentHelp("Stop after this many new runs; the same command later resumes.", valueName: "n"))
    var maxRuns: Int?

    @Flag(help: "Leave place_seconds empty so that outputs are byte-identical across runs.")
    var noTimings = false

    @Flag(help: "Print the number of runs this command would do, then stop.")
    var dryRun = false

    func validate() throws {
        _ = try grid()
        _ = try shardPair()
        guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1") }
        if let m = maxRuns, m < 0 { throw ValidationError("--max-runs must be ≥ 0") }
    }

    func shardPair() throws -> (Int, Int) {
        guard let s = shard else { return (1, 1) }
        let p = s.split(separator: "/").map { Int($0) }
        guard p.count == 2, let i = p[0], let n = p[1], n >= 1, (1...n).contains(i) else {
            throw ValidationError("--shard must be i/n with 1 ≤ i ≤ n, found '\(s)'")
        }
        return (i, n)
    }

    /// The grid the options describe.
    func grid() throws -> SweepGrid {
        var sources: [SweepSource] = []
        if !tables.isEmpty {
            guard presets == nil else { throw ValidationError("--presets and --tables exclude each other") }
            sources = [.tables(paths: tables, workload: workload)]
            if changeRates != nil { throw ValidationError("--change-rates applies to presets only") }
        } else {
            if workload != nil { throw ValidationError("--workload needs --tables") }
            for name in (presets ?? "small").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let p = SynthPreset.named(name) else {
                    throw ValidationError("unknown preset '\(name)'; presets: \(SynthPreset.all.map(\.name).joined(separator: ", "))")
                }
                sources.append(.preset(p))
            }
        }
        var g = SweepGrid(sources: sources, strategies: try strategySelection(strategies, params: params))
        g.pageSizes = try integers(pageSizes, "--page-sizes")
        for ps in g.pageSizes { if let problem = AddressMap.pageSizeProblem(ps) { throw ValidationError(problem.replacingOccurrences(of: "--page-size", with: "--page-sizes")) } }
        if let i = instances {
            g.instances = try integers(i, "--instances").map { n -> Int? in
                guard n >= 1 else { throw ValidationError("--instances must be ≥ 1, found \(n)") }
                return n
            }
        }
        if let v = versions {
            g.versions = try integers(v, "--versions").map { n -> Int? in
                guard n >= 1 else { throw ValidationError("--versions must be ≥ 1, found \(n)") }
                return n
            }
        }
        if let r = changeRates {
            g.changeRates = try r.split(separator: ",").map { x -> Double? in
                guard let d = Double(x.trimmingCharacters(in: .whitespaces)), (0...1).contains(d) else {
                    throw ValidationError("--change-rates: expected numbers in [0, 1], found '\(x)'")
                }
                return d
            }
        }
        g.seeds = try integers(seeds, "--seeds").map { n in
            guard n >= 0 else { throw ValidationError("--seeds must be ≥ 0") }
            return UInt64(n)
        }
        g.dedup = try dedup.split(separator: ",").map { x in
            guard let d = DedupModel(rawValue: x.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--dedup: ksm or loader, found '\(x)'") }
            return d
        }
        guard maxPageSharing >= 2 else { throw ValidationError("--max-page-sharing must be ≥ 2") }
        g.maxPageSharing = maxPageSharing
        guard let x = XrefMode(rawValue: xrefs) else { throw ValidationError("--xrefs must be resolve or ignore, found '\(xrefs)'") }
        g.xrefs = x
        guard timeLimit >= 0 else { throw ValidationError("--time-limit must be ≥ 0") }
        g.timeLimit = timeLimit
        return g
    }

    func run() throws {
        try reportingErrors {
            let g = try grid()
            let runner = SweepRunner(grid: g, output: out)
            runner.shard = try shardPair()
            runner.timings = !noTimings
            runner.jobs = jobs
            runner.maxRuns = dryRun ? 0 : maxRuns
            runner.gitCommit = currentGitCommit()
            let tty = isatty(2) != 0
            if tty && !dryRun { runner.progress = ProgressBar().update }
            else if !dryRun { runner.progress = ProgressLines().update }
            let s = try runner.run()
            if tty && !dryRun { FileHandle.standardError.write(Data("\n".utf8)) }
            let points = g.points.count
            if dryRun {
                print("\(points) runs in the grid; this shard \(runner.shard.0)/\(runner.shard.1): \(s.skipped) already in \(out), \(s.remaining) to run")
                return
            }
            let meta = """
            {
              "command": \(jsonString(CommandLine.arguments.joined(separator: " "))),
              "cwd": \(jsonString(FileManager.default.currentDirectoryPath)),
              "tool_version": \(jsonString(spacerSimVersion)),
              "git_commit": \(jsonString(runner.gitCommit)),
              "shard": "\(runner.shard.0)/\(runner.shard.1)",
              "grid_runs": \(points),
              "rows": \(s.rows)
            }

            """
            try FileIO.writeAtomically(meta, to: out + ".json")
            note("sweep: \(s.ran) runs done, \(s.skipped) already in \(out), \(s.remaining) left for a later run; \(s.rows) rows in \(out)")
        }
    }
}

/// Parses `2..16`, `2..16:2`, `1,2,4` or a mix (`2..4,8`) into integers.
/// - Throws: `ValidationError` naming `option` for anything else or an empty list.
func integers(_ text: String, _ option: String) throws -> [Int] {
    var out: [Int] = []
    for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
        if let r = part.range(of: "..") {
            let lo = Int(part[..<r.lowerBound])
            var rest = String(part[r.upperBound...]), step = 1
            if let c = rest.firstIndex(of: ":") { step = Int(rest[rest.index(after: c)...]) ?? 0; rest = String(rest[..<c]) }
            guard let a = lo, let b = Int(rest), a <= b, step >= 1 else {
                throw ValidationError("\(option): expected a..b or a..b:step with a ≤ b, found '\(part)'")
            }
            out += Array(stride(from: a, through: b, by: step))
        } else {
            guard let n = Int(part) else { throw ValidationError("\(option): expected integers, found '\(part)'") }
            out.append(n)
        }
    }
    guard !out.isEmpty else { throw ValidationError("\(option): empty list") }
    return out
}

/// `h:mm:ss` or `m:ss`.
func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

/// A one-line progress bar with ETA on a terminal's stderr, redrawn at most 10 times a second.
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var last = Date.distantPast
    func update(_ done: Int, _ total: Int, _ elapsed: Double, _ what: String) {
        lock.lock(); defer { lock.unlock() }
        guard done == total || Date().timeIntervalSince(last) >= 0.1 else { return }
        last = Date()
        let width = 24
        let filled = total == 0 ? width : width * done / total
        let eta = done == 0 ? 0 : elapsed / Double(done) * Double(total - done)
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let pct = total == 0 ? 100 : 100 * done / total
        FileHandle.standardError.write(Data("\r\u{1B}[K\(bar) \(done)/\(total) \(pct)%  \(clock(elapsed)) elapsed, ETA \(clock(eta))  \(what)".utf8))
    }
}

/// Progress for logs (stderr not a terminal: Slurm, CI): one line at every 10 % of the runs.
final class ProgressLines: @unchecked Sendable {
    private let lock = NSLock()
    private var reported = 0
    func update(_ done: Int, _ total: Int, _ elapsed: Double, _ what: String) {
        lock.lock(); defer { lock.unlock() }
        let decile = total == 0 ? 10 : 10 * done / total
        guard decile > reported else { return }
        reported = decile
        let eta = done == 0 ? 0 : elapsed / Double(done) * Double(total - done)
        note("sweep: \(done)/\(total) runs (\(decile * 10) %), \(clock(elapsed)) elapsed, ETA \(clock(eta))")
    }
}

/// `spacer-sim merge`: joins sweep CSVs (shards) into one, sorted and deduplicated.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join sweep CSVs (for example the shards of one sweep) into one, sorted and deduplicated.",
        discussion: """
        Rows are keyed by their run identity (workload, tables, preset, versions, change_rate, seed, \
        instances_per_image, page_size, dedup, max_page_sharing, xrefs, strategy, params); the first \
        file that has a key wins. The result is sorted exactly as sweep sorts its own output, so \
        merging the shards of a sweep run with --no-timings gives the bytes of the unsharded run.

        Example:
          spacer-sim merge shard-*.csv --out notebooks-out/sweep.csv
        """)

    @Argument(help: ArgumentHelp("Sweep CSV files.", valueName: "csv"))
    var inputs: [String]

    @Option(help: ArgumentHelp("Merged CSV (written atomically; may be one of the inputs).", valueName: "path"))
    var out: String

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one sweep CSV to merge") }
    }

    func run() throws {
        try reportingErrors {
            let files = try inputs.map { try SweepTable.read($0) }
            let m = SweepTable.merge(files)
            try FileIO.writeAtomically(SweepTable.render(m.rows), to: out)
            var line = "merged \(files.reduce(0) { $0 + $1.rows.count }) rows from \(inputs.count) files into \(m.rows.count) rows in \(out)"
            if m.duplicates > 0 { line += "; \(m.duplicates) duplicate rows dropped" }
            if m.conflicts > 0 { line += " (\(m.conflicts) of them differed beyond timings: the first file's row was kept)" }
            note(line)
        }
    }
}
