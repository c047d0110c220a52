/// What a solver-backed strategy could prove (docs/design.md §4 `solver_status`).
public enum SolverStatus: String, Sendable, CaseIterable, Comparable {
    /// A heuristic finished; nothing to prove.
    case ok
    /// The solver proved its layout optimal for its model.
    case optimal
    /// The time limit ended the search; the best layout found is returned.
    case timeLimit = "time_limit"
    /// The solver found nothing usable in time; the warm-start heuristic's layout is returned.
    case fallback
    /// The solver failed; the heuristic's layout is returned.
    case error

    /// Severity order for combining the statuses of sub-problems: ok < optimal < time_limit <
    /// fallback < error (a run reports its worst sub-problem).
    public static func < (a: SolverStatus, b: SolverStatus) -> Bool { a.severity < b.severity }
    private var severity: Int {
        switch self { case .ok: 0; case .optimal: 1; case .timeLimit: 2; case .fallback: 3; case .error: 4 }
    }
}

/// The type of a strategy parameter, for parsing `--param name=value`.
public enum ParameterType: String, Sendable { case int, double, bool, string }

/// A parameter a strategy declares: name, type, default (in `--param` syntax) and help.
public struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var type: ParameterType
    public var defaultValue: String
    public var help: String
    /// For `int` and `double` parameters: the values accepted (nil: any finite value).
    public var range: ClosedRange<Double>?
    /// - Parameters: `name` as written after `--param`; `defaultValue` in that same syntax;
    ///   `range` the accepted values of a number.
    public init(_ name: String, _ type: ParameterType, default defaultValue: String, help: String, range: ClosedRange<Double>? = nil) {
        self.name = name; self.type = type; self.defaultValue = defaultValue; self.help = help; self.range = range
    }
}

/// Parameter values for one strategy, checked against its `ParameterSpec`s.
public struct StrategyParameters: Sendable, Hashable {
    public private(set) var values: [String: String]

    /// - Throws: `SpacerError.usage` for an unknown name (listing the known ones) or a value that
    ///   does not parse as the declared type.
    public init(_ given: [String: String], specs: [ParameterSpec], strategy: String) throws {
        var v: [String: String] = [:]
        for s in specs { v[s.name] = s.defaultValue }
        for (k, value) in given {
            guard let spec = specs.first(where: { $0.name == k }) else {
                let known = specs.map(\.name)
                throw SpacerError.usage("strategy \(strategy) has no parameter '\(k)'" +
                    (known.isEmpty ? " (it takes none)" : "; known: \(known.joined(separator: ", "))"))
            }
            let number: Double?
            switch spec.type {
            case .int: number = Int(value).map(Double.init)
            case .double: number = Double(value).flatMap { $0.isFinite ? $0 : nil }
            case .bool: number = ["true", "false"].contains(value) ? 0 : nil
            case .string: number = 0
            }
            guard let number else {
                throw SpacerError.usage("parameter \(strategy).\(k): expected \(spec.type == .double ? "a finite number" : spec.type.rawValue), found '\(value)'")
            }
            if let r = spec.range, !r.contains(number) {
                let show = { (x: Double) in spec.type == .int ? String(Int(x)) : String(x) }
                throw SpacerError.usage("parameter \(strategy).\(k): must be from \(show(r.lowerBound)) to \(show(r.upperBound)), found '\(value)'")
            }
            v[k] = value
        }
        values = v
    }
    /// The value of parameter `name` as declared. Values were checked against their `ParameterSpec`
    /// when the parameters were made, so a declared name always parses; an undeclared one gives
    /// 0, 0.0, false or "" (a strategy bug the conformance suite would show).
    public func int(_ name: String) -> Int { Int(values[name] ?? "") ?? 0 }
    public func double(_ name: String) -> Double { Double(values[name] ?? "") ?? 0 }
    public func bool(_ name: String) -> Bool { values[name] == "true" }
    public func string(_ name: String) -> String { values[name] ?? "" }
    /// Canonical `a=1;b=x` spelling (sorted by name) for CSV `params` columns.
    public var canonical: String { values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: ";") }
}

/// What a strategy gets besides the workload.
public struct PlacementContext: Sendable {
    /// Page size in bytes, a power of two ≥ 4096.
    public var pageSize: Int
    /// Seed for any randomised choice.
    public var seed: UInt64
    /// Seconds a solver may spend per sub-problem.
    public var timeLimit: Double
    /// Receives progress lines for long runs; may be called from any thread.
    public var progress: (@Sendable (String) -> Void)?
    public init(pageSize: Int = 4096, seed: UInt64 = 1, timeLimit: Double = 10, progress: (@Sendable (String) -> Void)? = nil) {
        self.pageSize = pageSize; self.seed = seed; self.timeLimit = timeLimit; self.progress = progress
    }
}

/// What a strategy returns: one layout per image (in `workload.images` order) and a status.
///
/// A solver-backed strategy also reports the objective of its own model and the lower bound it
/// proved on that objective, in `objectiveUnit` (e.g. `pages` for bin-packing's bins, `bytes`
/// for strip-packing's strip height). These describe the strategy's model, which ignores what the
/// model leaves out (relocation values, for instance); `frames` and `gap_pct` from the simulator
/// stay the judge.
public struct PlacementResult: Sendable {
    public var layouts: [ImageLayout]
    public var status: SolverStatus
    /// A lower bound on the model's objective that the strategy proved, if any.
    public var provenBound: Int?
    /// The model's objective value reached by the returned layouts, if the strategy has a model.
    public var objective: Int?
    /// Unit of `objective` and `provenBound` (`pages`, `bytes`); empty when there is no model.
    public var objectiveUnit: String
    /// Warnings about the input that did not stop the placement (an `order-file` name that no
    /// image holds, say); `compare` and `place` print each on stderr as `warning: …`.
    public var warnings: [String]
    public init(layouts: [ImageLayout], status: SolverStatus = .ok, provenBound: Int? = nil,
                objective: Int? = nil, objectiveUnit: String = "", warnings: [String] = []) {
        self.layouts = layouts; self.status = status; self.provenBound = provenBound
        self.objective = objective; self.objectiveUnit = objectiveUnit; self.warnings = warnings
    }
}

/// A placement strategy: decides where every function (and data entry) of every image goes.
///
/// A strategy sees the immutable workload and returns layouts; it never scores itself (the
/// simulator is the single judge, docs/design.md §3). It must place every entry of every image
/// exactly once (unless `removesEntries`), keep each entry's alignment, never overlap two
/// placed bytes, start every region it claims page-aligned on a page boundary, and give the
/// same layouts for the same workload, context and parameters. The conformance suite checks this
/// for every registered strategy.
public protocol PlacementStrategy: Sendable {
    /// CLI name (docs/design.md §5), e.g. `per-occurrence`.
    static var name: String { get }
    /// One line: the rule.
    static var summary: String { get }
    /// Typed parameters, settable as `--param name=value`.
    static var parameters: [ParameterSpec] { get }
    /// Whether the strategy may leave entries unplaced (dead-code elimination).
    static var removesEntries: Bool { get }
    /// Whether `compare` and `sweep` run it when no `--strategies` are given. False for a
    /// strategy that only differs from another once a parameter is set (`order-file` without a
    /// file, `external` without a command are `default`): its default row would repeat one.
    static var inDefaultRun: Bool { get }
    init(parameters: StrategyParameters) throws
    /// Places every image of `workload`.
    /// - Returns: one `ImageLayout` per image, in `workload.images` order.
    /// - Throws: `SpacerError` when the workload cannot be placed under the parameters.
    func place(_ workload: Workload, context: PlacementContext) throws -> PlacementResult
}

extension PlacementStrategy {
    public static var parameters: [ParameterSpec] { [] }
    public static var removesEntries: Bool { false }
    public static var inDefaultRun: Bool { true }
}
