import SpacerCore

/// `library-aligned`: the original Spacer (Gain et al., SoCC 2022). Libraries ordered by how many
/// images use them (ties by first appearance); each starts page-aligned at an address that is the
/// same in every image that has it, reserved as large as its largest version in the workload.
public struct LibraryAlignedStrategy: PlacementStrategy {
    public static let name = "library-aligned"
    public static let summary = "each library page-aligned at one address in every image (original Spacer, SoCC 2022)"
    public init(parameters: StrategyParameters) throws {}

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let users = w.libraries.map { lib in w.images.filter { $0.tables.contains { w.tables[$0].library == lib } }.count }
        let libs = w.libraries.indices.sorted { (users[$0], -$0) > (users[$1], -$1) }.map { w.libraries[$0] }
        var cursor = AddressMap.codeStart(pageSize: context.pageSize)
        for lib in libs {
            let start = alignUp(cursor, context.pageSize)
            var maxEnd = start
            for (i, img) in w.images.enumerated() {
                guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { continue }
                var c = start
                for (e, entry) in w.tables[img.tables[k]].entries.enumerated() where entry.kind == .function {
                    c = alignUp(c, entry.align)
                    layouts[i].addresses[k][e] = c
                    c += UInt64(entry.size)
                }
                if c > start { layouts[i].regions.append(Region(name: "code:\(lib)", start: start, size: c - start, pageAligned: true)) }
                maxEnd = max(maxEnd, c)
            }
            cursor = maxEnd
        }
        StrategySupport.placeDataByLibrary(w, &layouts, pageSize: context.pageSize)
        return PlacementResult(layouts: layouts)
    }
}
