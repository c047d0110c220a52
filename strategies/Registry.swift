import SpacerCore

/// Every registered placement strategy, in the order `compare` runs and lists them.
/// Adding a strategy: one file in strategies/ plus one line here.
public enum StrategyRegistry {
    public static let all: [any PlacementStrategy.Type] = [
    ]

    /// The strategy type registered under `name`, or nil.
    public static func named(_ name: String) -> (any PlacementStrategy.Type)? {
        all.first { $0.name == name }
    }
}
