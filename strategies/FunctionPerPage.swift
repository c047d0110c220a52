import SpacerCore

/// `function-per-page`: the default link order, but every function starts on a page boundary.
/// Unchanged functions then keep identical pages whatever moves around them, at the price of
/// the highest internal fragmentation (docs/design.md §5).
public struct FunctionPerPageStrategy: PlacementStrategy {
    public static let name = "function-per-page"
    public static let summary = "every function starts on a page boundary, link order"
    public init(parameters: StrategyParameters) throws {}

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        StrategySupport.packLinkOrder(w, &layouts, kinds: [.function], start: AddressMap.codeStart(pageSize: context.pageSize),
                                      pageSize: context.pageSize, pageEach: true, regionName: "code")
        StrategySupport.placeDataByLibrary(w, &layouts, pageSize: context.pageSize)
        return PlacementResult(layouts: layouts)
    }
}
