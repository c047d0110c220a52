import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSynth

/// Generator settings shared by `generate` (and described once): a preset, then overrides.
struct GeneratorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start from a preset: \(SynthPreset.all.map(\.name).joined(separator: ", ")) (default: the generator defaults, 1 library × 1000 functions × 8 versions, chain).", valueName: "name"))
    var preset: String?

    @Option(help: "Number of libraries (named syn0, syn1, …).")
    var libraries: Int?

    @Option(help: "Functions per library in the first version.")
    var functions: Int?

    @Option(help: "Versions per library (named 1.0, 1.1, …).")
    var versions: Int?

    @Option(help: "Seed of everything random (the same seed gives byte-identical files).")
    var seed: UInt64?

    @Option(help: "Overall change rate r: the fraction of functions an event touches per version; sets every event rate to the default mix (0.35r modify-same, 0.45r modify-resize, 0.08r insert, 0.04r delete, 0.02r rename, 0.03r reorder, 0.03r revert).")
    var changeRate: Double?

    @Option(help: "Fraction of functions modified per version with the size kept (overrides the mix).")
    var modifySameRate: Double?
    @Option(help: "Fraction of functions modified per version with a new size.")
    var modifyResizeRate: Double?
    @Option(help: "Functions inserted per version, as a fraction of the functions.")
    var insertRate: Double?
    @Option(help: "Functions deleted per version, as a fraction.")
    var deleteRate: Double?
    @Option(help: "Functions renamed per version, as a fraction.")
    var renameRate: Double?
    @Option(help: "Functions moved in link order per version, as a fraction.")
    var reorderRate: Double?
    @Option(help: "Functions reverted to an earlier body per version, as a fraction.")
    var revertRate: Double?

    @Option(help: "Function sizes: mean of ln(size in bytes) (0 to 19; default 5.0254, the maximum-likelihood fit to datasets/real/).")
    var sizeMu: Double?
    @Option(help: "Function sizes: standard deviation of ln(size) (0 to 4; default 1.4896).")
    var sizeSigma: Double?
    @Option(name: .customLong("fit-sizes"), parsing: .upToNextOption,
            help: ArgumentHelp("Fit the lognormal size model (maximum likelihood) to the functions of these table files or folders instead.", valueName: "path"))
    var fitSizes: [String] = []

    @Option(help: ArgumentHelp("Workload: chain (one image per version) or mix:N (N images of random versions).", valueName: "shape"))
    var workload: String?

    @Option(help: "Instances per image.")
    var instances: Int?

    func validate() throws {
        if let p = preset, SynthPreset.named(p) == nil {
            throw ValidationError("unknown preset '\(p)'; presets: \(SynthPreset.all.map(\.name).joined(separator: ", "))")
        }
        if let w = workload, WorkloadShape(w) == nil { throw ValidationError("--workload must be chain or mix:N, found '\(w)'") }
        try usage {
            if let i = instances { try RunConfiguration.check(i, in: RunConfiguration.instancesRange, option: "--instances") }
            if let x = libraries { try RunConfiguration.check(x, in: 1...1000, option: "--libraries") }
            if let x = functions { try RunConfiguration.check(x, in: 1...1_000_000, option: "--functions") }
            if let x = versions { try RunConfiguration.check(x, in: 1...100_000, option: "--versions") }
        }
        for (name, value) in [("--change-rate", changeRate), ("--modify-same-rate", modifySameRate), ("--modify-resize-rate", modifyResizeRate),
                              ("--insert-rate", insertRate), ("--delete-rate", deleteRate), ("--rename-rate", renameRate),
                              ("--reorder-rate", reorderRate), ("--revert-rate", revertRate)] {
            if let v = value, !(v.isFinite && (0...1).contains(v)) { throw ValidationError("\(name) must be a number from 0 to 1, found \(v)") }
        }
        // ln(size): sizes stay between 1 byte and the 256 MiB entry cap (ln 2^28 ≈ 19.4).
        if let m = sizeMu, !(m.isFinite && (0...19).contains(m)) { throw ValidationError("--size-mu must be from 0 to 19 (ln of bytes), found \(m)") }
        if let s = sizeSigma, !(s.isFinite && (0...4).contains(s)) { throw ValidationError("--size-sigma must be from 0 to 4, found \(s)") }
        if !fitSizes.isEmpty && (sizeMu != nil || sizeSigma != nil) { throw ValidationError("--fit-sizes and --size-mu/--size-sigma exclude each other") }
        let (c, _, _) = try resolved(fitted: nil)
        if let p = c.problem { throw ValidationError(p) }
    }

    /// The configuration, shape and instances after the preset and every override.
    /// - Parameter fitted: a size model fitted by `--fit-sizes` (loaded by the caller).
    func resolved(fitted: SizeModel?) throws -> (SynthConfig, WorkloadShape, Int) {
        let base = preset.flatMap(SynthPreset.named)
        var c = base?.config ?? SynthConfig()
        var shape = base?.shape ?? .chain
        var inst = base?.instances ?? 1
        if let x = libraries { c.libraries = x; c.libraryNames = [] }
        if let x = functions { c.functions = x }
        if let x = versions { c.versions = x }
        if let x = seed { c.seed = x }
        if let x = changeRate { c.setChangeRate(x) }
        if let x = modifySameRate { c.rates.modifySame = x }
        if let x = modifyResizeRate { c.rates.modifyResize = x }
        if let x = insertRate { c.rates.insert = x }
        if let x = deleteRate { c.rates.delete = x }
        if let x = renameRate { c.rates.rename = x }
        if let x = reorderRate { c.rates.reorder = x }
        if let x = revertRate { c.rates.revert = x }
        if let x = sizeMu { c.sizes.mu = x }
        if let x = sizeSigma { c.sizes.sigma = x }
        if let f = fitted { c.sizes = f }
        if let w = workload.flatMap(WorkloadShape.init) { shape = w }
        if let x = instances { inst = x }
        return (c, shape, inst)
    }

    /// The size model fitted to `--fit-sizes`, or nil when not given.
    /// - Throws: as `Harness.loadTables`; `.data` when the tables hold no function.
    func fittedSizes() throws -> SizeModel? {
        guard !fitSizes.isEmpty else { return nil }
        let sizes = try Harness.loadTables(fitSizes).flatMap { $0.entries.filter { $0.kind == .function }.map(\.size) }
        guard !sizes.isEmpty else {
            throw SpacerError.data(file: fitSizes.joined(separator: " "), location: "", expected: "at least one function row to fit sizes on", found: "none")
        }
        return SizeModel.fit(sizes: sizes)
    }
}

/// `spacer-sim generate`: synthetic function tables over V versions, with the workload and the
/// ground truth beside them.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate synthetic version histories (function tables, a workload, the ground truth).",
        discussion: """
        Writes three files from the prefix given by --out:
          PREFIX.tables.csv      the function tables (the real tables' CSV format; .csv.gz with --gzip)
          PREFIX.workload.csv    image,library,version,instances
          PREFIX.truth.csv       for each library and pair of versions, the bytes an ideal placement \
        could share (body instances both versions hold; docs/formats.md, "Ground truth")
        and PREFIX.json with the exact command. The same options and seed give byte-identical files.

        Examples:
          spacer-sim generate --preset small --out datasets/synthetic/small
          spacer-sim generate --preset paper --versions 16 --change-rate 0.4 --seed 7 --out /tmp/p16
          spacer-sim generate --functions 300 --versions 5 --rename-rate 0.05 --out /tmp/renames
          spacer-sim generate --preset large --gzip --out notebooks-out/synthetic/large
        """)

    @OptionGroup var generator: GeneratorOptions

    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Output prefix (default: notebooks-out/synthetic/<preset or custom>).", valueName: "prefix"))
    var out: String?

    @Option(help: ArgumentHelp("What to print on standard output: table (a summary, default), csv or json (one row per file written: file, kind, rows, bytes, sha256).", valueName: "format"))
    var format: OutputFormat?

    @Flag(help: "Write the tables gzip-compressed (PREFIX.tables.csv.gz).")
    var gzip = false

    @Flag(help: "Print the expected size of the history and stop; writes nothing.")
    var dryRun = false

    @Flag(help: "Generate a history of more than 10^9 expected generator steps (see --dry-run).")
    var force = false

    func validate() throws {
        let (config, _, _) = try generator.resolved(fitted: nil)
        let cost = config.expectedCost
        if cost.work > SynthConfig.maxWorkWithoutForce && !force && !dryRun {
            throw ValidationError(String(format: "the history would take about %.3g generator steps (more than 1e9; %.3g function rows: insert rate %.3g, delete rate %.3g over %d versions); lower --versions or --insert-rate, check with --dry-run, or pass --force", cost.work, cost.rows, config.rates.insert, config.rates.delete, config.versions))
        }
        if let o = out {
            let last = (o as NSString).lastPathComponent
            guard !o.hasSuffix("/"), !last.isEmpty, !last.hasPrefix(".") else {
                throw ValidationError("-o/--out is a prefix of file names (PREFIX.tables.csv, …), not a folder or a hidden name, found '\(o)'")
            }
            try checkedOutputPath(o + ".workload.csv")
        }
    }

    func run() throws {
        try reportingErrors {
            let fitted = try generator.fittedSizes()
            let (config, shape, instances) = try generator.resolved(fitted: fitted)
            let cost = config.expectedCost
            if dryRun {
                try FileIO.writeStandardOutput(String(format: "about %.0f function rows and %.3g generator steps (refused above 1e9 without --force): %d libraries × %d versions, %d functions in the first version\n", cost.rows, cost.work, config.names.count, config.versions, config.functions))
                return
            }
            let tty = isatty(2) != 0
            let long = cost.work > 1e7
            if tty || long {
                note(String(format: "generate: %d libraries × %d versions, about %.0f function rows, %.3g generator steps …", config.names.count, config.versions, cost.rows, cost.work))
            }
            let start = Date()
            var last = start
            let h = try SynthHistory.make(config, shape: shape, instances: instances) { done, total in
                // A line at most every 2 s (tty: redrawn in place), so a long run shows it is alive.
                guard tty || long, Date().timeIntervalSince(last) >= 2 || done == total else { return }
                last = Date()
                let line = String(format: "generate: %d/%d versions, %.0f s", done, total, last.timeIntervalSince(start))
                FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K" + line + (done == total ? "\n" : "") : line + "\n").utf8))
            }
            let prefix = out ?? "notebooks-out/synthetic/\(generator.preset ?? "custom")"
            let tablesPath = prefix + (gzip ? ".tables.csv.gz" : ".tables.csv")
            var provenance = config.provenance
            provenance.append("workload \(shape), \(instances) instance(s) per image: \((prefix as NSString).lastPathComponent).workload.csv; ground truth: \((prefix as NSString).lastPathComponent).truth.csv")
            if fitted != nil { provenance.append("sizes fitted to: \(generator.fitSizes.joined(separator: " "))") }
            let files: [(path: String, kind: String, data: Data, rows: Int)] = [
                (tablesPath, "tables", Data(TableCSV.render(h.tables, provenance: provenance).utf8), h.tables.reduce(0) { $0 + $1.entries.count }),
                (prefix + ".workload.csv", "workload", Data(WorkloadCSV.render(h.rows).utf8), h.rows.count),
                (prefix + ".truth.csv", "truth", Data(TruthCSV.render(h.truth).utf8), h.truth.count),
            ]
            var options: [String: String] = ["size_model": config.sizes.description, "shape": "\(shape)", "instances": String(instances),
                                             "seed": String(config.seed), "versions": String(config.versions), "functions": String(config.functions),
                                             "libraries": config.names.joined(separator: " "), "rates": config.rates.description]
            if let p = generator.preset { options["preset"] = p }
            let fitInputs = try generator.fitSizes.isEmpty ? [] : Harness.tableFiles(generator.fitSizes).map(FileDigest.of(file:))
            var meta = Provenance(inputs: fitInputs, inputDigest: FileDigest.of(text: config.provenance.joined(separator: "\n")), options: options)
            meta.outputs = files.map { FileDigest.of(data: $0.data, path: $0.path, rows: $0.rows) }
            // All four files are written to temporaries first, then renamed together.
            try FileIO.commit(files.map { ($0.path, $0.data) } + [(prefix + ".json", try meta.encoded())])
            let manifest = TidyTable(columns: ["file", "kind", "rows", "bytes", "sha256"], numeric: ["rows", "bytes"],
                                     rows: zip(files, meta.outputs).map { f, d in [f.path, f.kind, String(f.rows), String(d.bytes), d.sha256] })
            switch format ?? .table {
            case .table: try FileIO.writeStandardOutput(summary(h, config: config, shape: shape, files: files.map(\.path)))
            case let f: try FileIO.writeStandardOutput(manifest.rendered(f))
            }
        }
    }

    /// A few lines: what was written, sizes, and the ground truth of consecutive versions.
    func summary(_ h: SynthHistory, config: SynthConfig, shape: WorkloadShape, files: [String]) -> String {
        let images = Set(h.rows.map(\.image)).count
        let functions = h.tables.reduce(0) { $0 + $1.entries.filter { $0.kind == .function }.count }
        var s = "wrote \(files.joined(separator: ", "))\n"
        s += "\(h.tables.count) tables (\(config.names.count) libraries × \(config.versions) versions), \(functions) function rows; workload \(shape): \(images) images\n"
        s += "function sizes: \(config.sizes)\n"
        for lib in config.names {
            let consecutive = h.truth.filter { p in
                p.library == lib && VersionOrder.less(p.versionA, p.versionB) &&
                    "1.\((Int(p.versionA.split(separator: ".").last ?? "") ?? -2) + 1)" == p.versionB
            }
            guard !consecutive.isEmpty else { continue }
            let pcts = consecutive.map { 100 * Double($0.sharedBytes) / Double(max($0.bytesB, 1)) }
            s += "\(lib): shareable bytes between consecutive versions \(String(format: "%.1f", pcts.min()!))–\(String(format: "%.1f", pcts.max()!)) % of the newer version (mean \(String(format: "%.1f", pcts.reduce(0, +) / Double(pcts.count))) %)\n"
        }
        return s
    }
}
