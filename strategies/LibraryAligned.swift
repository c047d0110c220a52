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
            // A table's functions get the same addresses in every image that holds it: laid out once.
            var laidOut: [Int: (addresses: [UInt64], end: UInt64)] = [:]
            for (i, img) in w.images.enumerated() {
                guard let k = img.tables.firstIndex(where: { w.tables[$0].library == lib }) else { continue }
                let t = img.tables[k]
                if laidOut[t] == nil {
                    let entries = w.tables[t].entries
                    var addresses = layouts[i].addresses[k]
                    var c = start
                    for e in entries.indices where entries[e].kind == .function {
                        c = alignUp(c, entries[e].align)
                        addresses[e] = c
                        c += UInt64(entries[e].size)
                    }
                    laidOut[t] = (addresses, c)
                }
                let (addresses, c) = laidOut[t]!
                layouts[i].addresses[k] = addresses
                if c > start { layouts[i].regions.append(Region(name: "code:\(lib)", start: start, size: c - start, pageAligned: true)) }
                maxEnd = max(maxEnd, c)
            }
            cursor = maxEnd
        }
        StrategySupport.placeDataByLibrary(w, &layouts, pageSize: context.pageSize)
        return PlacementResult(layouts: layouts)
    }
}
