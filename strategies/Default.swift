import SpacerCore

/// `default`: what the build does today. Each image's functions in link order, packed with their
/// alignment, libraries back to back in the image's row order from `AddressMap.codeStart(pageSize:)` (`codeBase` rounded up to the page size); data
/// by the per-library policy of docs/design.md §4.
public struct DefaultStrategy: PlacementStrategy {
    public static let name = "default"
    public static let summary = "link order, functions packed with their alignment, libraries back to back"
    public init(parameters: StrategyParameters) throws {}

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        StrategySupport.packLinkOrder(w, &layouts, kinds: [.function], start: AddressMap.codeStart(pageSize: context.pageSize),
                                      pageSize: context.pageSize, regionName: "code")
        StrategySupport.placeDataByLibrary(w, &layouts, pageSize: context.pageSize)
        return PlacementResult(layouts: layouts)
    }
}
