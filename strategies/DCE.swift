import SpacerCore

/// `dce`: `default` after removing the entries unreachable from the image's roots through
/// relocations (what `--gc-sections` does). Roots: the `roots` parameter (function names) when
/// given; else the image's own roots from the workload (`Image.roots`: global or weak entries,
/// functions or data, that the application references); else every global or weak function.
public struct DCEStrategy: PlacementStrategy {
    public static let name = "dce"
    public static let summary = "default after removing functions and data unreachable from the roots (the workload's, else global functions)"
    public static let parameters = [
        ParameterSpec("roots", .string, default: "", help: "comma-separated root function names, overriding the workload's roots; empty: the image's roots from the workload, else every global or weak function"),
    ]
    public static let removesEntries = true
    let roots: Set<String>
    public init(parameters: StrategyParameters) throws {
        roots = Set(parameters.string("roots").split(separator: ",").map(String.init))
    }

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        var live: [[[Bool]]] = []
        for img in w.images {
            // Symbol -> (k, e) within the image.
            var site: [Int32: (Int, Int)] = [:]
            for (k, t) in img.tables.enumerated() { for (e, s) in w.symbolIDs[t].enumerated() { site[s] = (k, e) } }
            var mark = img.tables.map { [Bool](repeating: false, count: w.tables[$0].entries.count) }
            var stack: [(Int, Int)] = []
            let imageRoots = roots.isEmpty ? img.roots.map(Set.init) : nil
            for (k, t) in img.tables.enumerated() {
                for (e, entry) in w.tables[t].entries.enumerated() {
                    let isRoot: Bool
                    if let imageRoots { isRoot = entry.binding != .local && imageRoots.contains(entry.name) }
                    else if entry.kind != .function { isRoot = false }
                    else { isRoot = roots.isEmpty ? entry.binding != .local : roots.contains(entry.name) }
                    if isRoot { mark[k][e] = true; stack.append((k, e)) }
                }
            }
            while let (k, e) = stack.popLast() {
                for s in w.targetSymbols[img.tables[k]][e] {
                    if let (k2, e2) = site[s], !mark[k2][e2] { mark[k2][e2] = true; stack.append((k2, e2)) }
                }
            }
            live.append(mark)
        }
        let keep: (Int, Int, Int) -> Bool = { i, k, e in live[i][k][e] }
        StrategySupport.packLinkOrder(w, &layouts, kinds: [.function], start: AddressMap.codeStart(pageSize: context.pageSize),
                                      pageSize: context.pageSize, regionName: "code", keep: keep)
        StrategySupport.placeDataByLibrary(w, &layouts, pageSize: context.pageSize, keep: keep)
        return PlacementResult(layouts: layouts)
    }
}
