import SpacerCore

/// Which images a synthetic workload holds.
public enum WorkloadShape: Sendable, Hashable, CustomStringConvertible {
    /// One image per version index k: it holds version k of every library (the "versions
    /// accumulate on one host" experiment; images = versions).
    case chain
    /// `images` images, each holding every library at a version drawn uniformly (seeded): many
    /// different unikernels built against a mix of releases.
    case mix(images: Int)

    public var description: String {
        switch self {
        case .chain: return "chain"
        case .mix(let n): return "mix:\(n)"
        }
    }

    /// Parses `chain` or `mix:N` (N ≥ 1).
    public init?(_ text: String) {
        if text == "chain" { self = .chain; return }
        if text.hasPrefix("mix:"), let n = Int(text.dropFirst(4)), n >= 1 { self = .mix(images: n); return }
        return nil
    }

    /// The workload rows for `tables` (every version of every library, oldest first by
    /// `VersionOrder`), each image with `instances` instances.
    ///
    /// - Parameters:
    ///   - seed: decides the versions of `mix` images.
    /// - Returns: rows in image order; image names `img0000`, `img0001`, … (width grows with the
    ///   count).
    public func rows(tables: [FunctionTable], instances: Int, seed: UInt64) -> [WorkloadRow] {
        var libraries: [String] = []
        var versions: [String: [String]] = [:]
        for t in tables {
            if versions[t.library] == nil { libraries.append(t.library) }
            versions[t.library, default: []].append(t.version)
        }
        for l in libraries { versions[l]!.sort(by: VersionOrder.less) }
        let count: Int
        switch self {
        case .chain: count = libraries.map { versions[$0]!.count }.max() ?? 0
        case .mix(let n): count = n
        }
        let width = max(4, String(max(count - 1, 0)).count)
        func name(_ k: Int) -> String { let s = String(k); return "img" + String(repeating: "0", count: width - s.count) + s }
        var rng = SplitMix64(seed: seed ^ 0x6d69_7857_6f72_6b6c)
        var rows: [WorkloadRow] = []
        for k in 0..<count {
            for l in libraries {
                let vs = versions[l]!
                switch self {
                case .chain:
                    if k < vs.count { rows.append(WorkloadRow(image: name(k), library: l, version: vs[k], instances: instances)) }
                case .mix:
                    rows.append(WorkloadRow(image: name(k), library: l, version: vs[below(vs.count, &rng)], instances: instances))
                }
            }
        }
        return rows
    }
}

/// A named generator setting: configuration, workload shape and instances per image.
public struct SynthPreset: Sendable, Hashable {
    public var name: String
    /// One line: what it models.
    public var summary: String
    public var config: SynthConfig
    public var shape: WorkloadShape
    /// Instances per image.
    public var instances: Int
    /// Whether its files are committed under datasets/synthetic/ (large presets are generated
    /// on demand).
    public var committed: Bool

    /// `small`: 2 libraries × 40 functions × 4 versions, chain; for tests (committed).
    public static let small: SynthPreset = {
        var c = SynthConfig()
        c.libraries = 2; c.functions = 40; c.versions = 4; c.seed = 1; c.functionsPerObject = 20
        c.setChangeRate(0.2)
        return SynthPreset(name: "small", summary: "2 libraries × 40 functions × 4 versions, one image per version (tests)",
                           config: c, shape: .chain, instances: 1, committed: true)
    }()

    /// `paper`: one SQLite-sized library (1500 functions, 8 versions, change rate 0.2), one
    /// image per version, like the committed real workload; one object, like the amalgamation
    /// (generated on demand: about 4.4 MB).
    public static let paper: SynthPreset = {
        var c = SynthConfig()
        c.libraries = 1; c.functions = 1500; c.versions = 8; c.seed = 1
        c.functionsPerObject = 1500          // one object, like the sqlite3.c amalgamation
        c.setChangeRate(0.2)
        return SynthPreset(name: "paper", summary: "1 SQLite-sized library: 1500 functions × 8 versions, one image per version",
                           config: c, shape: .chain, instances: 1, committed: false)
    }()

    /// `large`: 4 libraries × 500 functions × 20 versions, 1000 images each holding every library
    /// at a random version: 1000 images × about 2000 functions = two million placed functions
    /// (generated on demand).
    public static let large: SynthPreset = {
        var c = SynthConfig()
        c.libraries = 4; c.functions = 500; c.versions = 20; c.seed = 1
        c.setChangeRate(0.1)
        return SynthPreset(name: "large", summary: "4 libraries × 500 functions × 20 versions; 1000 images of random versions (scale)",
                           config: c, shape: .mix(images: 1000), instances: 1, committed: false)
    }()

    /// Every preset, smallest first.
    public static let all: [SynthPreset] = [small, paper, large]

    /// The preset called `name`, or nil.
    public static func named(_ name: String) -> SynthPreset? { all.first { $0.name == name } }
}

/// A generated history: tables, the workload over them and the ground truth.
public struct SynthHistory: Sendable {
    public var tables: [FunctionTable]
    public var rows: [WorkloadRow]
    /// For each library and pair of versions, the bytes an ideal placement could share.
    public var truth: [IdealSharing.PairTruth]

    /// Generates `config`'s tables, the `shape` workload with `instances` per image, and the
    /// ground truth.
    /// - Throws: `SpacerError.usage` when `config.problem` is not nil.
    /// - Parameter progress: as `Generator.tables`.
    public static func make(_ config: SynthConfig, shape: WorkloadShape, instances: Int,
                            progress: ((Int, Int) -> Void)? = nil) throws -> SynthHistory {
        if let p = config.problem { throw SpacerError.usage(p) }
        guard instances >= 1 else { throw SpacerError.usage("instances must be ≥ 1, found \(instances)") }
        if case .mix(let n) = shape, n < 1 { throw SpacerError.usage("mix needs at least one image") }
        let tables = Generator.tables(config, progress: progress)
        return SynthHistory(tables: tables, rows: shape.rows(tables: tables, instances: instances, seed: config.seed),
                            truth: try IdealSharing.pairs(tables))
    }
}
