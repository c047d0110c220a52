import SpacerCore

/// `per-occurrence`: functions tracked across versions by body; bodies ordered by how many images
/// contain them (common to all first, then subsets by falling count, then bodies of one image),
/// one consistent order and one address for every image that holds a body (docs/design.md §5; the
/// prototype's per-occurrence rule at function rather than library granularity). Data entries
/// are placed the same way in the rodata and writable zones.
public struct PerOccurrenceStrategy: PlacementStrategy {
    public static let name = "per-occurrence"
    public static let summary = "bodies grouped by the images that hold them, most-shared first, one address per body"
    public static let parameters = [
        ParameterSpec("align-groups", .bool, default: "true", help: "start every image-set group on a page boundary"),
        StrategySupport.trampolineParameter,
    ]
    let alignGroups: Bool
    let trampolines: Bool
    public init(parameters: StrategyParameters) throws {
        alignGroups = parameters.bool("align-groups")
        trampolines = parameters.bool("trampolines")
    }

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let ps = context.pageSize
        StrategySupport.placeBySignature(w, &layouts, kinds: [.function], zone: AddressMap.codeStart(pageSize: ps), pageSize: ps,
                                         alignGroups: alignGroups, regionName: "code")
        StrategySupport.placeBySignature(w, &layouts, kinds: [.rodata], zone: AddressMap.rodataBase, pageSize: ps,
                                         alignGroups: alignGroups, regionName: "rodata")
        StrategySupport.placeBySignature(w, &layouts, kinds: [.data, .bss], zone: AddressMap.writableBase, pageSize: ps,
                                         alignGroups: alignGroups, regionName: "data")
        if trampolines {
            StrategySupport.addBranchTrampolines(w, &layouts, pageSize: context.pageSize)
        }
        return PlacementResult(layouts: layouts)
    }
}
