import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
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
        ideal placement could share that this placement shares; docs/formats.md, "Ground truth").

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

    @Option(help: ArgumentHelp("Comma-separated strategies, each optionally name[k=v;k2=v2] (default: every registered strategy but order-file and external).", valueName: "a,b,c"))
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

    @Option(help: ArgumentHelp("Seeds of the generator (no strategy makes a random choice).", valueName: "list"))
    var seeds = "1"

    @Option(help: ArgumentHelp("Dedup models: ksm, loader.", valueName: "list"))
    var dedup = "ksm"

    @Option(help: ArgumentHelp("KSM max_page_sharing, 2 to 2^31.", valueName: "n"))
    var maxPageSharing = 256

    @Option(help: "resolve, or ignore (an upper bound on sharing, labelled so).")
    var xrefs: XrefMode = .resolve

    @Option(help: ArgumentHelp("Seconds a solver may spend per sub-problem: finite, 0 to 86400.", valueName: "seconds"))
    var timeLimit: Double = 10

    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Output CSV, rewritten atomically as runs finish; a provenance sidecar PATH.json records the command, inputs, shard and grid.", valueName: "path"))
    var out = "notebooks-out/sweep.csv"

    @Option(help: ArgumentHelp("Also print the rows on standard output at the end: table, csv or json.", valueName: "format"))
    var format: OutputFormat?

    @Option(help: ArgumentHelp("Run only shard i of n (1 ≤ i ≤ n): every n-th dataset (history) of the grid, or every n-th run when there are fewer datasets than shards; join shards with spacer-sim merge.", valueName: "i/n"))
    var shard: String?

    @Option(help: ArgumentHelp("Threads (datasets run in parallel; place_seconds then include contention), 1 to 64.", valueName: "n"))
    var jobs = 1

    @Option(help: ArgumentHelp("Stop after this many new runs; the same command later resumes.", valueName: "n"))
    var maxRuns: Int?

    @Flag(help: "Leave place_seconds empty so that outputs are byte-identical across runs.")
    var noTimings = false

    @Flag(help: "Print the number of runs this command would do (and how many rows are current or stale), then stop; writes nothing.")
    var dryRun = false

    @Flag(help: "Run a grid of more than 1,000,000 cells, or a preset dataset of more than 10^9 generator steps.")
    var force = false

    func validate() throws {
        let g = try grid()
        _ = try shardPair()
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be from 1 to 64, found \(jobs)") }
        if let m = maxRuns, m < 0 { throw ValidationError("--max-runs must be ≥ 0") }
        try checkedOutputPath(out)
        if !force && !dryRun {
            for case .preset(let p) in g.sources {
                for v in g.versions { for r in g.changeRates {
                    var c = p.config
                    if let v { c.versions = v }
                    if let r { c.setChangeRate(r) }
                    let cost = c.expectedCost
                    if cost.work > SynthConfig.maxWorkWithoutForce {
                        throw ValidationError(String(format: "preset %@ at %d versions, change rate %.3g would take about %.3g generator steps per dataset (more than 1e9; inf: the history grows without bound); narrow --versions/--change-rates or pass --force", p.name, c.versions, c.changeRate, cost.work))
                    }
                } }
            }
        }
        let cells = g.cellCount
        if cells > SweepGrid.maxCellsWithoutForce && !force && !dryRun {
            throw ValidationError("the grid has \(cells) cells, more than \(SweepGrid.maxCellsWithoutForce); narrow it, check with --dry-run, or pass --force")
        }
    }

    func shardPair() throws -> (Int, Int) {
        guard let s = shard else { return (1, 1) }
        let p = s.split(separator: "/").map { Int($0) }
        guard p.count == 2, let i = p[0], let n = p[1], n >= 1, n <= 1 << 20, (1...n).contains(i) else {
            throw ValidationError("--shard must be i/n with 1 ≤ i ≤ n ≤ 2^20, found '\(s)'")
        }
        return (i, n)
    }

    /// The grid the options describe.
    func grid() throws -> SweepGrid {
        do { return try makeGrid() } catch let SpacerError.usage(m) { throw ValidationError(m) }
    }

    func makeGrid() throws -> SweepGrid {
        var sources: [SweepSource] = []
        if !tables.isEmpty {
            guard presets == nil else { throw ValidationError("--presets and --tables exclude each other") }
            sources = [.tables(paths: tables, workload: workload)]
            if changeRates != nil { throw ValidationError("--change-rates applies to presets only") }
        } else {
            if workload != nil { throw ValidationError("--workload needs --tables") }
            for name in (presets ?? "small").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let p = SynthPreset.named(name) else {
                    let hint = Suggest.closest(name, among: SynthPreset.all.map(\.name)).map { "; did you mean '\($0)'?" } ?? ""
                    throw ValidationError("unknown preset '\(name)'\(hint) Presets: \(SynthPreset.all.map(\.name).joined(separator: ", "))")
                }
                sources.append(.preset(p))
            }
        }
        var g = SweepGrid(sources: sources, strategies: try StrategySpec.parseList(strategies, params: params))
        g.pageSizes = try ListSyntax.integers(pageSizes, option: "--page-sizes")
        for ps in g.pageSizes { try RunConfiguration.checkPageSize(ps, option: "--page-sizes") }
        if let i = instances {
            g.instances = try ListSyntax.integers(i, option: "--instances", range: RunConfiguration.instancesRange).map { $0 }
        }
        if let v = versions {
            g.versions = try ListSyntax.integers(v, option: "--versions", range: 1...100_000).map { $0 }
        }
        if let r = changeRates {
            g.changeRates = try ListSyntax.doubles(r, option: "--change-rates", range: 0...1).map { $0 }
        }
        g.seeds = try ListSyntax.integers(seeds, option: "--seeds", range: 0...Int.max).map { UInt64($0) }
        g.dedup = try dedup.split(separator: ",").map { x in
            guard let d = DedupModel(rawValue: x.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--dedup: ksm or loader, found '\(x)'") }
            return d
        }
        g.maxPageSharing = maxPageSharing
        g.xrefs = xrefs
        g.timeLimit = timeLimit
        try RunConfiguration(pageSize: 4096, maxPageSharing: maxPageSharing, xrefs: xrefs, timeLimit: timeLimit).validate()
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
            let tty = isatty(2) != 0
            if tty && !dryRun { runner.progress = ProgressBar().update }
            else if !dryRun { runner.progress = ProgressLines().update }
            let s = try runner.run()
            if tty && !dryRun { FileHandle.standardError.write(Data("\n".utf8)) }
            let points = g.cellCount
            if dryRun {
                try FileIO.writeStandardOutput("\(points) runs in the grid; this shard \(runner.shard.0)/\(runner.shard.1): \(s.skipped) current in \(out), \(s.stale) stale (to recompute), \(s.remaining) to run\n")
                return
            }
            var options: [String: String] = [
                "page_sizes": pageSizes, "seeds": seeds, "dedup": dedup, "max_page_sharing": String(maxPageSharing),
                "xrefs": xrefs.rawValue, "time_limit": String(timeLimit), "strategies": g.strategies.map(\.label).joined(separator: ","),
                "jobs": String(jobs), "timings": String(!noTimings),
            ]
            if let v = presets { options["presets"] = v }
            if !tables.isEmpty { options["tables"] = tables.joined(separator: " ") }
            if let v = workload { options["workload"] = v }
            if let v = instances { options["instances"] = v }
            if let v = versions { options["versions"] = v }
            if let v = changeRates { options["change_rates"] = v }
            var meta = Provenance(inputs: s.inputs, options: options)
            meta.shard = "\(runner.shard.0)/\(runner.shard.1)"
            meta.grid = s.record
            let csv = Data(runner.rendered().utf8)
            meta.outputs = [FileDigest.of(data: csv, path: out, rows: s.rows)]
            try FileIO.writeAtomically(try meta.encoded(), to: out + ".json")
            if let l = s.droppedLine { note("sweep: \(out):\(l): dropped an unterminated last row (cut short by an interrupted write?); it ran again") }
            note("sweep: \(s.ran) runs done (\(s.stale) of them stale rows recomputed: another tool commit or input digest), \(s.skipped) current rows kept, \(s.remaining) left for a later run; \(s.rows) rows in \(out)")
            if let f = format {
                let file = try SweepTable.read(out)
                try FileIO.writeStandardOutput(TidyTable(columns: SweepTable.columns, numeric: SweepTable.numericColumns, rows: file.rows).rendered(f))
            }
        }
    }
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

/// `spacer-sim merge`: joins sweep CSVs (shards) into one, sorted and deduplicated, and refuses
/// an incomplete set of shards.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join sweep CSVs (for example the shards of one sweep) into one, sorted and deduplicated.",
        discussion: """
        Rows are keyed by their run identity (workload, tables, preset, versions, change_rate, seed, \
        instances_per_image, page_size, dedup, max_page_sharing, xrefs, strategy, params); the first \
        file that has a key wins. The result is sorted exactly as sweep sorts its own output, so \
        merging the shards of a sweep run with --no-timings gives the bytes of the unsharded run.

        Completeness: each input's sidecar (FILE.json, written by sweep) names its shard i/n and \
        the cells of that shard. merge refuses (exit 65) a set in which a shard of 1..n is missing, \
        or a cell of a present shard has no row, naming what is missing, unless --allow-partial; \
        an input without a sidecar counts as incomplete for the same reason.

        Example:
          spacer-sim merge shard-*.csv -o notebooks-out/sweep.csv
        """)

    @Argument(help: ArgumentHelp("Sweep CSV files (each with its FILE.json sidecar).", valueName: "csv"))
    var inputs: [String] = []

    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Merged CSV (written atomically, with a sidecar; may be one of the inputs).", valueName: "path"))
    var out: String

    @Option(help: ArgumentHelp("Also print the merged rows on standard output: table, csv or json.", valueName: "format"))
    var format: OutputFormat?

    @Flag(help: "Merge even when shards or cells are missing (they are listed as a warning).")
    var allowPartial = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one sweep CSV to merge") }
        try checkedOutputPath(out)
    }

    func run() throws {
        try reportingErrors {
            let files = try inputs.map { try SweepTable.read($0) }
            let m = SweepTable.merge(files)
            let missing = try missingParts(merged: m.rows)
            if !missing.isEmpty {
                let text = missing.prefix(12).joined(separator: "\n  ") + (missing.count > 12 ? "\n  … and \(missing.count - 12) more" : "")
                guard allowPartial else {
                    throw SpacerError.data(file: inputs.joined(separator: " "), location: "",
                                           expected: "a complete set of shards (or --allow-partial)", found: "missing:\n  " + text)
                }
                note("merge: WARNING, partial result; missing:\n  " + text)
            }
            let csv = SweepTable.render(m.rows)
            let digests = try inputs.map(FileDigest.of(file:))
            var meta = Provenance(inputs: digests, options: ["allow_partial": String(allowPartial)])
            meta.outputs = [FileDigest.of(data: Data(csv.utf8), path: out, rows: m.rows.count)]
            try FileIO.commit([(out, Data(csv.utf8)), (out + ".json", try meta.encoded())])
            var line = "merged \(files.reduce(0) { $0 + $1.rows.count }) rows from \(inputs.count) files into \(m.rows.count) rows in \(out)"
            if m.duplicates > 0 { line += "; \(m.duplicates) duplicate rows dropped" }
            if m.conflicts > 0 { line += " (\(m.conflicts) of them differed beyond timings: the first file's row was kept)" }
            note(line)
            if let f = format {
                try FileIO.writeStandardOutput(TidyTable(columns: SweepTable.columns, numeric: SweepTable.numericColumns, rows: m.rows).rendered(f))
            }
        }
    }

    /// What a complete merge would hold but `merged` lacks: inputs without a sidecar, shards of
    /// 1..n not given, cells of the given shards without a row. Empty when complete.
    func missingParts(merged: [[String]]) throws -> [String] {
        var out: [String] = []
        var shards: [Int: SweepGridRecord] = [:]
        var counts = Set<Int>()
        for f in inputs {
            let side = f + ".json"
            guard FileManager.default.fileExists(atPath: side) else { out.append("\(f): no sidecar \(side), its shard cannot be checked"); continue }
            guard let g = try Provenance.read(side).grid else { out.append("\(side): no sweep grid recorded"); continue }
            shards[g.shard] = g
            counts.insert(g.shards)
        }
        guard out.isEmpty else { return out }
        if counts.count > 1 { return ["the inputs are shards of different counts: \(counts.sorted().map(String.init).joined(separator: ", "))"] }
        guard let n = counts.first else { return out }
        for i in 1...n where shards[i] == nil { out.append("shard \(i)/\(n)") }
        let have = Set(merged.map(SweepTable.identityValues))
        for i in shards.keys.sorted() {
            for cell in shards[i]!.shardCells where !have.contains(cell) {
                out.append("cell of shard \(i)/\(n): " + zip(SweepTable.identity, cell).filter { !$0.1.isEmpty }.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            }
        }
        return out
    }
}
