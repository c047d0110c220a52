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
        // Symbol id -> (k, e) of its defining entry within the image (later entries win), as flat
        // tables over symbol ids, reset image after image.
        var siteK = [Int32](repeating: -1, count: w.symbolNames.count), siteE = siteK
        var touched: [Int32] = []
        for img in w.images {
            for s in touched { siteK[Int(s)] = -1 }
            touched.removeAll(keepingCapacity: true)
            for (k, t) in img.tables.enumerated() {
                for (e, s) in w.symbolIDs[t].enumerated() { siteK[Int(s)] = Int32(k); siteE[Int(s)] = Int32(e); touched.append(s) }
            }
            var mark = img.tables.map { [Bool](repeating: false, count: w.tables[$0].entries.count) }
            var stack: [(Int, Int)] = []
            let imageRoots = roots.isEmpty ? img.roots.map(Set.init) : nil
            for (k, t) in img.tables.enumerated() {
                let entries = w.tables[t].entries
                for e in entries.indices {
                    let isRoot: Bool
                    if let imageRoots { isRoot = entries[e].binding != .local && imageRoots.contains(entries[e].name) }
                    else if entries[e].kind != .function { isRoot = false }
                    else { isRoot = roots.isEmpty ? entries[e].binding != .local : roots.contains(entries[e].name) }
                    if isRoot { mark[k][e] = true; stack.append((k, e)) }
                }
            }
            while let (k, e) = stack.popLast() {
                for s in w.targetSymbols[img.tables[k]][e] {
                    let k2 = Int(siteK[Int(s)])
                    guard k2 >= 0 else { continue }
                    let e2 = Int(siteE[Int(s)])
                    if !mark[k2][e2] { mark[k2][e2] = true; stack.append((k2, e2)) }
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
