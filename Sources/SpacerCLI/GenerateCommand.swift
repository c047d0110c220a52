import ArgumentParser
import Foundation
import SpacerCore
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

    @Option(help: "Function sizes: mean of ln(size in bytes) (default 5.1648 = ln 175, fitted to SQLite 3.50.4).")
    var sizeMu: Double?
    @Option(help: "Function sizes: standard deviation of ln(size) (default 1.508).")
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
        if let i = instances, i < 1 { throw ValidationError("--instances must be ≥ 1, found \(i)") }
        if let s = sizeSigma, !(s >= 0) { throw ValidationError("--size-sigma must be ≥ 0") }
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
    /// - Throws: as `Runner.loadTables`; `.data` when the tables hold no function.
    func fittedSizes() throws -> SizeModel? {
        guard !fitSizes.isEmpty else { return nil }
        let sizes = try Runner.loadTables(fitSizes).flatMap { $0.entries.filter { $0.kind == .function }.map(\.size) }
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
        could share (body instances both versions hold; README, "Ground truth")
        and PREFIX.json with the exact command. The same options and seed give byte-identical files.

        Examples:
          spacer-sim generate --preset small --out datasets/synthetic/small
          spacer-sim generate --preset paper --versions 16 --change-rate 0.4 --seed 7 --out /tmp/p16
          spacer-sim generate --functions 300 --versions 5 --rename-rate 0.05 --out /tmp/renames
          spacer-sim generate --preset large --gzip --out notebooks-out/synthetic/large
        """)

    @OptionGroup var generator: GeneratorOptions

    @Option(help: ArgumentHelp("Output prefix (default: notebooks-out/synthetic/<preset or custom>).", valueName: "prefix"))
    var out: String?

    @Flag(help: "Write the tables gzip-compressed (PREFIX.tables.csv.gz).")
    var gzip = false

    func run() throws {
        try reportingErrors {
            let fitted = try generator.fittedSizes()
            let (config, shape, instances) = try generator.resolved(fitted: fitted)
            let h = try SynthHistory.make(config, shape: shape, instances: instances)
            let prefix = out ?? "notebooks-out/synthetic/\(generator.preset ?? "custom")"
            let tablesPath = prefix + (gzip ? ".tables.csv.gz" : ".tables.csv")
            var provenance = config.provenance
            provenance.append("workload \(shape), \(instances) instance(s) per image: \((prefix as NSString).lastPathComponent).workload.csv; ground truth: \((prefix as NSString).lastPathComponent).truth.csv")
            if fitted != nil { provenance.append("sizes fitted to: \(generator.fitSizes.joined(separator: " "))") }
            try FileIO.writeAtomically(TableCSV.render(h.tables, provenance: provenance), to: tablesPath)
            try FileIO.writeAtomically(WorkloadCSV.render(h.rows), to: prefix + ".workload.csv")
            try FileIO.writeAtomically(TruthCSV.render(h.truth), to: prefix + ".truth.csv")
            let meta = """
            {
              "command": \(jsonString(CommandLine.arguments.joined(separator: " "))),
              "tool_version": \(jsonString(spacerSimVersion)),
              "git_commit": \(jsonString(currentGitCommit())),
              "tables": \(jsonString(tablesPath)),
              "workload": \(jsonString(prefix + ".workload.csv")),
              "truth": \(jsonString(prefix + ".truth.csv")),
              "size_model": \(jsonString(config.sizes.description))
            }

            """
            try FileIO.writeAtomically(meta, to: prefix + ".json")
            print(summary(h, config: config, shape: shape, files: [tablesPath, prefix + ".workload.csv", prefix + ".truth.csv"]), terminator: "")
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
