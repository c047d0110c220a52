import Foundation
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies
import SpacerSynth

/// The tidy sweep schema: the columns of `compare` (`ResultSchema.columns`), then the sweep keys
/// and the ideal-sharing columns.
public enum SweepTable {
    /// Sweep keys: `preset` (empty for tables), `versions` (versions generated, or images taken
    /// from a tables workload; empty when not swept), `change_rate` (preset's overall rate; empty
    /// for tables), `instances_per_image` (empty: as the workload says).
    public static let keyColumns = ["preset", "versions", "change_rate", "instances_per_image"]
    /// `ideal_shared_bytes` (ground truth: Σ over image pairs of the bytes of the body instances
    /// both hold, `IdealSharing.shareableBytes`), `actual_shared_bytes` (the part of it this
    /// placement shares, `Simulator.bodySharing`), `ideal_sharing_pct` = 100 × actual / ideal.
    public static let idealColumns = ["ideal_shared_bytes", "actual_shared_bytes", "ideal_sharing_pct"]
    /// Every column, in output order.
    public static let columns = ResultSchema.columns + keyColumns + idealColumns
    /// Columns whose values are numbers (for JSON output).
    public static let numericColumns: Set<String> = ResultSchema.numeric.union(["versions", "change_rate", "instances_per_image",
                                                                               "ideal_shared_bytes", "actual_shared_bytes", "ideal_sharing_pct"])

    /// Columns that identify a grid cell (a row): `merge` keeps one row per identity, and a
    /// resumed sweep skips a cell whose row is present and current (`isCurrent`). Nothing in
    /// them depends on the shard count.
    public static let identity = ["workload", "tables", "preset", "versions", "change_rate", "seed", "instances_per_image",
                                  "page_size", "dedup", "max_page_sharing", "xrefs", "strategy", "params"]
    /// Identity columns compared as numbers when sorting (empty sorts first).
    static let numeric: Set<String> = ["versions", "change_rate", "seed", "instances_per_image", "page_size", "max_page_sharing"]
    /// Columns allowed to differ between two runs of one identity (timings).
    static let volatile: Set<String> = ["place_seconds"]

    /// A parsed sweep CSV: its rows as field arrays in `columns` order.
    public struct File: Sendable {
        /// Data rows (header excluded), each `columns.count` fields.
        public var rows: [[String]]
        /// The line of an unterminated last row that was dropped (`CSVReader.UnterminatedLast`).
        public var droppedLine: Int? = nil
    }

    /// The identity string of `row` (fields joined by U+0001).
    public static func key(_ row: [String]) -> String {
        identity.map { row[index[$0]!] }.joined(separator: "\u{1}")
    }

    /// The identity fields of `row`, in `identity` order.
    public static func identityValues(_ row: [String]) -> [String] { identity.map { row[index[$0]!] } }

    /// Whether a row of a cell is current: made by this tool build (`tool_commit`) from inputs
    /// with this `input_digest`. A resumed sweep recomputes rows that are not.
    public static func isCurrent(_ row: [String], inputDigest: String) -> Bool {
        row[index["tool_commit"]!] == Tool.commitLabel && row[index["input_digest"]!] == inputDigest
    }
    /// The position of each column.
    public static let index: [String: Int] = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })

    /// Whether row `a` sorts before row `b`: by the identity columns in order, numbers as numbers.
    public static func before(_ a: [String], _ b: [String]) -> Bool {
        for c in identity {
            let i = index[c]!
            let x = a[i], y = b[i]
            if x == y { continue }
            if numeric.contains(c) {
                switch (Double(x), Double(y)) {
                case let (p?, q?) where p != q: return p < q
                case (nil, _?): return true
                case (_?, nil): return false
                default: break
                }
            }
            return x < y
        }
        return false
    }

    /// CSV text of `rows` (header first), sorted by `before`.
    public static func render(_ rows: [[String]]) -> String {
        var out = columns.joined(separator: ",") + "\n"
        for r in rows.sorted(by: before) { out += r.map(csvField).joined(separator: ",") + "\n" }
        return out
    }

    /// Reads a sweep CSV.
    /// - Returns: the rows, and whether an unterminated last line was dropped.
    /// - Throws: `.noInput` when missing; `.data` naming the file and line when the header is not
    ///   exactly `columns` or a row has another number of fields.
    ///   With `unterminated: .refuse` (the default, `merge`), `.data` at the line of a last row
    ///   with no line break; `.drop` (a resumed sweep) drops that row instead (`droppedLine`).
    public static func read(_ path: String, unterminated: CSVReader.UnterminatedLast = .refuse) throws -> File {
        var csv = try CSVReader(text: FileIO.readText(path), file: path)
        let dropped = try csv.apply(unterminated, file: path)
        guard let header = csv.records.first else { return File(rows: [], droppedLine: dropped) }
        guard header.fields == columns else {
            throw SpacerError.data(file: path, location: "\(header.line)", expected: "the sweep header (\(columns.count) columns: \(columns.prefix(3).joined(separator: ","))…\(columns.suffix(3).joined(separator: ",")); write to a new --out for another schema)",
                                   found: "\(header.fields.count) columns: \(header.fields.prefix(3).joined(separator: ","))…")
        }
        var rows: [[String]] = []
        for r in csv.records.dropFirst() {
            guard r.fields.count == columns.count else {
                throw SpacerError.data(file: path, location: "\(r.line)", expected: "\(columns.count) fields", found: "\(r.fields.count)")
            }
            rows.append(r.fields)
        }
        return File(rows: rows, droppedLine: dropped)
    }

    /// Joins sweep files: one row per identity (the first file that has it wins), sorted.
    /// - Returns: the rows and the number of duplicate rows dropped, and how many of those differed
    ///   from the kept row in a column other than the timings.
    public static func merge(_ files: [File]) -> (rows: [[String]], duplicates: Int, conflicts: Int) {
        var seen: [String: Int] = [:]
        var rows: [[String]] = []
        var duplicates = 0, conflicts = 0
        let compare = columns.indices.filter { !volatile.contains(columns[$0]) }
        for f in files {
            for r in f.rows {
                let k = key(r)
                if let i = seen[k] {
                    duplicates += 1
                    if compare.contains(where: { rows[i][$0] != r[$0] }) { conflicts += 1 }
                } else { seen[k] = rows.count; rows.append(r) }
            }
        }
        return (rows.sorted(by: before), duplicates, conflicts)
    }
}

/// Where the tables of a sweep come from.
public enum SweepSource: Sendable {
    /// A generator preset, generated afresh at every grid point.
    case preset(SynthPreset)
    /// Tables and a workload read from files (workload nil: one image per version, `chain`).
    case tables(paths: [String], workload: String?)
}

/// The grid of a sweep: the cartesian product of its lists.
public struct SweepGrid: Sendable {
    /// Presets or table sets, outermost axis.
    public var sources: [SweepSource]
    /// The strategies (`StrategySpec.parseList`).
    public var strategies: [StrategySpec]
    /// Page sizes in bytes (powers of two, 4096 … 2^28, `AddressMap.maxPlacementPageSize`).
    public var pageSizes: [Int] = [4096]
    /// Instances per image; nil: as the preset or workload says.
    public var instances: [Int?] = [nil]
    /// Versions (presets: versions generated; tables: first N images); nil: as given.
    public var versions: [Int?] = [nil]
    /// Overall change rates (presets only); nil: the preset's.
    public var changeRates: [Double?] = [nil]
    /// Seeds: of the generator (presets) and of every strategy.
    public var seeds: [UInt64] = [1]
    /// Dedup models.
    public var dedup: [DedupModel] = [.ksm]
    /// KSM's max_page_sharing, one value for the whole grid.
    public var maxPageSharing = 256
    /// Whether relocation values are part of page content, one value for the whole grid.
    public var xrefs: XrefMode = .resolve
    /// Seconds a solver may spend per sub-problem.
    public var timeLimit: Double = 10

    /// A grid of `sources` × `strategies`, every other axis at its single default.
    public init(sources: [SweepSource], strategies: [StrategySpec]) {
        self.sources = sources; self.strategies = strategies
    }

    /// One run: a dataset (source, versions, rate, seed, instances) and what to run on it.
    public struct Point: Sendable {
        /// Index into `sources`.
        public var source: Int
        /// Axis values (nil: as the source says).
        public var versions: Int?
        public var changeRate: Double?
        public var seed: UInt64
        public var instances: Int?
        public var pageSize: Int
        public var dedup: DedupModel
        /// Index into `strategies`.
        public var strategy: Int
        /// Index of the dataset (source, versions, rate, seed, instances) the point runs on.
        public var dataset: Int
    }

    /// The number of grid points, computed without listing them (saturating at `Int.max`).
    public var cellCount: Int {
        var n = 0
        for s in sources {
            var k = 1
            let rates: Int
            if case .tables = s { rates = 1 } else { rates = changeRates.count }
            for f in [versions.count, rates, seeds.count, instances.count, pageSizes.count, dedup.count, strategies.count] {
                let (m, o) = k.multipliedReportingOverflow(by: f)
                k = o ? Int.max : m
            }
            let (t, o) = n.addingReportingOverflow(k)
            n = o ? Int.max : t
        }
        return n
    }

    /// The most grid points a sweep runs without `--force` (each is a placement and a
    /// simulation; a million is about a day on two cores at the paper preset's size).
    public static let maxCellsWithoutForce = 1_000_000

    /// The run options of point `p`.
    public func config(_ p: Point) -> RunConfiguration {
        RunConfiguration(pageSize: p.pageSize, dedup: p.dedup, maxPageSharing: maxPageSharing, xrefs: xrefs, timeLimit: timeLimit)
    }

    /// Every grid point in a fixed order (sources, versions, change rates, seeds, instances, page
    /// sizes, dedup models, strategies, innermost last); see `SweepRunner.shard` for `--shard`.
    public var points: [Point] {
        var out: [Point] = []
        var dataset = 0
        for s in sources.indices {
            let rates: [Double?]
            if case .tables = sources[s] { rates = [nil] } else { rates = changeRates }
            for v in versions { for r in rates { for seed in seeds { for inst in instances {
                for ps in pageSizes { for d in dedup { for st in strategies.indices {
                    out.append(Point(source: s, versions: v, changeRate: r, seed: seed, instances: inst, pageSize: ps, dedup: d, strategy: st, dataset: dataset))
                } } }
                dataset += 1
            } } } }
        }
        return out
    }
}

/// What a sweep's sidecar records of its grid, so that `merge` can tell which cells a complete
/// set of shards must hold: the shard count and, per shard, the identities of its cells.
public struct SweepGridRecord: Sendable, Codable, Hashable {
    /// Grid points over all shards.
    public var cells: Int
    /// n of `--shard i/n`.
    public var shards: Int
    /// i of `--shard i/n`.
    public var shard: Int
    /// The identity values (`SweepTable.identity` order) of every cell of this shard.
    public var shardCells: [[String]]

    enum CodingKeys: String, CodingKey { case cells, shards, shard, shardCells = "shard_cells" }
}

/// Runs a sweep grid into a tidy CSV: resumable, shardable, optionally on several threads.
///
/// Resuming: a cell whose row is in the output and current (same `tool_commit`, same
/// `input_digest`) is skipped; a row of the cell that is not current is *stale* and recomputed.
/// The output is rewritten atomically (temporary file + rename) at most every `flushSeconds`
/// and at the end, so an interrupted run leaves only whole rows.
public final class SweepRunner: @unchecked Sendable {
    /// What to run.
    public let grid: SweepGrid
    /// Output CSV path.
    public let output: String
    /// `(i, n)`: run only shard i of n (`SweepRunner.shard`), i in 1...n.
    public var shard: (Int, Int) = (1, 1)

    /// The points of shard `(i, n)`: those whose dataset number ≡ i − 1 (mod n) when the grid has
    /// at least n datasets (so each history is generated by one shard only), else those whose
    /// index ≡ i − 1 (mod n). Every shard computes the same rule from the same grid.
    public static func shard(_ points: [SweepGrid.Point], _ s: (Int, Int)) -> [SweepGrid.Point] {
        let datasets = Set(points.map(\.dataset)).count
        return points.enumerated().filter { (datasets >= s.1 ? $0.element.dataset : $0.offset) % s.1 == s.0 - 1 }.map(\.element)
    }
    /// Write `place_seconds` (false: empty, so outputs are byte-identical across runs).
    public var timings = true
    /// Stop after this many new runs (the rest is left for a later, resumed run); nil: all.
    public var maxRuns: Int?
    /// Threads running datasets in parallel.
    public var jobs = 1
    /// Least seconds between two rewrites of the output while running.
    public var flushSeconds = 1.0
    /// Called after every run with (runs done, runs to do, elapsed seconds, what just ran).
    public var progress: (@Sendable (Int, Int, Double, String) -> Void)?

    private let lock = NSLock()
    private var rows: [[String]] = []
    private var done = 0
    private var lastFlush = Date.distantPast
    private var failure: Error?
    private var nextGroup = 0
    private var tablesRead: [Int: (tables: [FunctionTable], rows: [WorkloadRow], name: String, files: [FileDigest])] = [:]

    /// A runner of `grid` into the CSV at `output` (created, or resumed when it exists).
    public init(grid: SweepGrid, output: String) { self.grid = grid; self.output = output }

    /// What `run()` did.
    public struct Summary: Sendable {
        /// Runs done by this call (stale ones included).
        public var ran: Int
        /// Runs of this shard skipped because the output held a current row.
        public var skipped: Int
        /// Runs of this shard whose row was stale (another tool commit or input digest) and was
        /// (or, with `maxRuns`, will be) recomputed.
        public var stale: Int
        /// Runs of this shard left for a later call (`maxRuns`).
        public var remaining: Int
        /// Rows in the output now.
        public var rows: Int
        /// The line of a truncated last row of the checkpoint that was dropped (and run again).
        public var droppedLine: Int?
        /// Every input file read (tables and workloads), for the sidecar.
        public var inputs: [FileDigest]
        /// The grid record of this shard, for the sidecar.
        public var record: SweepGridRecord
    }

    /// Runs the points of this shard that the output does not hold current rows for.
    /// - Throws: `.data` for an output CSV with another schema; what loading, generation, a
    ///   strategy or the simulator throws (rows finished before the error are written).
    public func run() throws -> Summary {
        var existing = SweepTable.File(rows: [])
        if FileManager.default.fileExists(atPath: output) { existing = try SweepTable.read(output, unterminated: .drop) }
        var byKey: [String: Int] = [:]
        for (i, r) in existing.rows.enumerated() { byKey[SweepTable.key(r)] = i }
        let points = grid.points
        let mine = SweepRunner.shard(points, shard)
        // Tables sources are read (and hashed) once.
        for (s, src) in grid.sources.enumerated() {
            if case let .tables(paths, workload) = src {
                let (tables, files) = try Harness.loadTablesWithFiles(paths)
                let rows = try workload.map { try WorkloadCSV.read(path: $0) } ?? WorkloadShape.chain.rows(tables: tables, instances: 1, seed: 0)
                let digests = try ((workload.map { [$0] } ?? []) + files).map(FileDigest.of(file:))
                tablesRead[s] = (tables, rows, workload ?? "chain", digests)
            }
        }
        var todo: [SweepGrid.Point] = []
        var skipped = 0, stale = 0
        var staleRows = Set<Int>()
        for p in mine {
            let id = identity(p)
            if let i = byKey[SweepTable.key(id)] {
                if SweepTable.isCurrent(existing.rows[i], inputDigest: inputDigest(p)) { skipped += 1; continue }
                stale += 1; staleRows.insert(i)
            }
            todo.append(p)
        }
        rows = existing.rows.enumerated().filter { !staleRows.contains($0.offset) }.map(\.element)
        if staleRows.count > 0, let m = maxRuns, m < todo.count {
            // Keep the stale rows of cells this call will not reach: they are recomputed later.
            let reached = Set(todo.prefix(m).map { SweepTable.key(identity($0)) })
            rows += staleRows.sorted().map { existing.rows[$0] }.filter { !reached.contains(SweepTable.key($0)) }
        }
        let remaining = max(0, todo.count - (maxRuns ?? todo.count))
        if let m = maxRuns { todo = Array(todo.prefix(m)) }
        // Group by dataset: generate (or select) once, run every strategy / page size on it.
        var grouped: [[SweepGrid.Point]] = []
        var groupOf: [Int: Int] = [:]
        for p in todo {
            if let g = groupOf[p.dataset] { grouped[g].append(p) } else { groupOf[p.dataset] = grouped.count; grouped.append([p]) }
        }
        let groups = grouped
        let total = todo.count
        let start = Date()
        nextGroup = 0
        let work: @Sendable (Int) -> Void = { [self] _ in
            while true {
                lock.lock()
                guard failure == nil, nextGroup < groups.count else { lock.unlock(); return }
                let g = groups[nextGroup]; nextGroup += 1
                lock.unlock()
                do {
                    let w = try workload(for: g[0])
                    // pages_per_default's reference, as compare computes it: default's mapped pages
                    // on the same workload and options, once per (page size, dedup model).
                    var reference: [String: Int] = [:]
                    for p in g {
                        let key = "\(p.pageSize)/\(p.dedup.rawValue)"
                        if reference[key] == nil { reference[key] = try Harness.defaultTotalPages(w, config: grid.config(p), seed: p.seed) }
                        let row = try runOne(p, w, defaultTotalPages: reference[key]!)
                        lock.lock()
                        rows.append(row); done += 1
                        let d = done
                        let flush = Date().timeIntervalSince(lastFlush) >= flushSeconds
                        if flush { lastFlush = Date() }
                        var flushError: Error?
                        if flush { do { try write() } catch { flushError = error } }
                        if let e = flushError { failure = e }
                        lock.unlock()
                        progress?(d, total, Date().timeIntervalSince(start), describe(p))
                        if flushError != nil { return }
                    }
                } catch {
                    lock.lock(); if failure == nil { failure = error }; lock.unlock()
                    return
                }
            }
        }
        if jobs <= 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: min(jobs, max(groups.count, 1)), execute: work) }
        lock.lock(); defer { lock.unlock() }
        // A dry run (maxRuns 0) writes nothing; a run that made no row writes no header-only file.
        if maxRuns != 0 && (!rows.isEmpty || FileManager.default.fileExists(atPath: output)) { try write() }
        if let e = failure { throw e }
        let inputs = tablesRead.keys.sorted().flatMap { tablesRead[$0]!.files }
        let record = SweepGridRecord(cells: points.count, shards: shard.1, shard: shard.0,
                                     shardCells: mine.map { SweepTable.identityValues(identity($0)) })
        return Summary(ran: done, skipped: skipped, stale: stale, remaining: remaining, rows: rows.count,
                       droppedLine: existing.droppedLine, inputs: inputs, record: record)
    }

    /// The CSV text of every row so far, sorted.
    public func rendered() -> String { SweepTable.render(rows) }

    /// Writes every row so far, sorted, atomically. Caller holds the lock.
    private func write() throws {
        try FileIO.writeAtomically(SweepTable.render(rows), to: output)
    }

    /// The `input_digest` of a point: the SHA-256 of its tables source's files, or of the
    /// preset's resolved generator configuration (versions, change rate and seed applied).
    func inputDigest(_ p: SweepGrid.Point) -> String {
        switch grid.sources[p.source] {
        case .preset(let preset):
            let c = resolvedConfig(preset, p)
            return FileDigest.of(text: "preset \(preset.name)\n\(String(describing: c))\n\(preset.shape)\n\(p.instances ?? preset.instances)")
        case .tables:
            return FileDigest.combined(tablesRead[p.source]!.files)
        }
    }

    func resolvedConfig(_ preset: SynthPreset, _ p: SweepGrid.Point) -> SynthConfig {
        var c = preset.config
        if let v = p.versions { c.versions = v }
        if let r = p.changeRate { c.setChangeRate(r) }
        c.seed = p.seed
        return c
    }

    /// The identity fields of a point, as a row in `SweepTable.columns` order (other fields empty).
    func identity(_ p: SweepGrid.Point) -> [String] {
        var row = [String](repeating: "", count: SweepTable.columns.count)
        let (workload, tables, preset, versions, rate, instances) = keys(p)
        let spec = grid.strategies[p.strategy]
        let values: [String: String] = ["workload": workload, "tables": tables, "preset": preset, "versions": versions, "change_rate": rate,
                                        "seed": String(p.seed), "instances_per_image": instances, "page_size": String(p.pageSize),
                                        "dedup": p.dedup.rawValue, "max_page_sharing": String(grid.maxPageSharing),
                                        "xrefs": grid.config(p).xrefsLabel, "strategy": spec.name, "params": spec.canonical]
        for (k, v) in values { row[SweepTable.index[k]!] = v }
        return row
    }

    /// (workload, tables, preset, versions, change_rate, instances_per_image) column values.
    func keys(_ p: SweepGrid.Point) -> (String, String, String, String, String, String) {
        switch grid.sources[p.source] {
        case .preset(let preset):
            return ("preset:\(preset.name)", "generated", preset.name, String(p.versions ?? preset.config.versions),
                    formatRate(p.changeRate ?? preset.config.changeRate), String(p.instances ?? preset.instances))
        case let .tables(paths, workload):
            return (workload ?? "chain", paths.joined(separator: " "), "", p.versions.map(String.init) ?? "", "",
                    p.instances.map(String.init) ?? "")
        }
    }

    func describe(_ p: SweepGrid.Point) -> String {
        let (_, _, preset, v, r, _) = keys(p)
        return "\(grid.strategies[p.strategy].label) \(preset.isEmpty ? "tables" : preset) v=\(v) r=\(r) seed=\(p.seed) page=\(p.pageSize)"
    }

    /// The workload of a point's dataset.
    func workload(for p: SweepGrid.Point) throws -> Workload {
        switch grid.sources[p.source] {
        case .preset(let preset):
            let c = resolvedConfig(preset, p)
            if let problem = c.problem { throw SpacerError.usage("preset \(preset.name): \(problem)") }
            let tables = Generator.tables(c)
            return try Workload(rows: preset.shape.rows(tables: tables, instances: p.instances ?? preset.instances, seed: p.seed), tables: tables)
        case .tables:
            let (tables, all, name, _) = tablesRead[p.source]!
            var rows = all
            if let v = p.versions {
                var images: [String] = []
                for r in all where !images.contains(r.image) { images.append(r.image) }
                guard v <= images.count else {
                    throw SpacerError.usage("--versions \(v) exceeds the \(images.count) images of workload \(name)")
                }
                let keep = Set(images.prefix(v))
                rows = all.filter { keep.contains($0.image) }
            }
            if let i = p.instances { rows = rows.map { var r = $0; r.instances = i; return r } }
            return try Workload(rows: rows, tables: tables, source: name)
        }
    }

    /// Places, scores and measures one point; its CSV row.
    func runOne(_ p: SweepGrid.Point, _ w: Workload, defaultTotalPages: Int) throws -> [String] {
        let spec = grid.strategies[p.strategy]
        let config = grid.config(p)
        let r = try Harness.run(spec, workload: w, config: config, seed: p.seed, idealSharing: true)
        let (workload, tables, preset, versions, rate, instances) = keys(p)
        let ctx = ResultSchema.Context(workload: workload, tables: tables, config: config, seed: String(p.seed), images: w.images.count,
                                       instances: w.totalInstances, timings: timings, defaultTotalPages: defaultTotalPages,
                                       inputDigest: inputDigest(p))
        let b = r.bodySharing!
        return ResultSchema.values(r, ctx) + [preset, versions, rate, instances] +
            [String(b.idealBytes), String(b.sharedBytes), String(format: "%.3f", b.pct)]
    }
}

/// A change rate as the CSV spells it: the shortest decimal that reads back as the same Double.
func formatRate(_ r: Double) -> String { "\(r)" }
