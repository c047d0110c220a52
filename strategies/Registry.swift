import SpacerCore

/// Every registered placement strategy, in the order `compare` runs and lists them.
/// Adding a strategy: one file in strategies/ plus one line here.
public enum StrategyRegistry {
    public static let all: [any PlacementStrategy.Type] = [
        DefaultStrategy.self,
        DCEStrategy.self,
        LibraryAlignedStrategy.self,
        PerOccurrenceStrategy.self,
        FunctionPerPageStrategy.self,
        SpacerDeltaStrategy.self,
        VersionSetStrategy.self,
        ContentDefinedStrategy.self,
        BinPackingStrategy.self,
        StripPackingStrategy.self,
        OrderFileStrategy.self,
        ExternalStrategy.self,
    ]

    /// What `compare` and `sweep` run when no strategies are named: every registered strategy
    /// whose `inDefaultRun` is true.
    public static var defaultRun: [any PlacementStrategy.Type] { all.filter { $0.inDefaultRun } }

    /// The strategy type registered under `name`, or nil.
    public static func named(_ name: String) -> (any PlacementStrategy.Type)? {
        all.first { $0.name == name }
    }

    /// Builds the strategy `name` with `parameters` (`name=value` pairs).
    /// - Throws: `SpacerError.usage` for an unknown strategy (listing the registered ones) or a
    ///   bad parameter.
    public static func make(_ name: String, parameters: [String: String] = [:]) throws -> any PlacementStrategy {
        guard let type = named(name) else {
            throw SpacerError.usage("unknown strategy '\(name)'; registered: \(all.map { $0.name }.joined(separator: ", "))")
        }
        return try type.init(parameters: StrategyParameters(parameters, specs: type.parameters, strategy: name))
    }
}
