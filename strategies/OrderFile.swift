import Foundation
import SpacerCore

/// `order-file`: a user-given function order (BOLT's `-reorder-functions=user`). The functions the
/// file lists come first, in the file's order; every other function follows in link order
/// (libraries in image row order); all packed with their alignment from the code start, like
/// `default`. Data by the per-library policy of docs/design.md §4.
///
/// The file holds one entry identity per line: `name` (every function of that name in the
/// image), `library:name`, or `library@version:name`. Text from `#` on and blank lines are
/// ignored. A line that names no function of any image is a warning
/// (`PlacementResult.warnings`), not an error. An empty `file` gives `default`'s layouts.
public struct OrderFileStrategy: PlacementStrategy {
    public static let name = "order-file"
    public static let inDefaultRun = false
    public static let summary = "functions listed in a user order file first, in its order, the rest in link order, packed like default"
    public static let parameters = [
        ParameterSpec("file", .string, default: "",
                      help: "path of the order: one function per line, name, library:name or library@version:name; # comments; empty: default's layout"),
    ]

    /// One line of the order file.
    struct Item: Sendable {
        var library: String?
        var version: String?
        var name: String
        var line: Int
        var text: String
    }
    let file: String
    let items: [Item]

    public init(parameters: StrategyParameters) throws {
        file = parameters.string("file")
        items = file.isEmpty ? [] : try Self.read(file)
    }

    /// Parses the order file at `path`.
    /// - Throws: `.noInput` for a missing or unreadable file; `.data` naming the line for an
    ///   identity with an empty library, version or name.
    static func read(_ path: String) throws -> [Item] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SpacerError.noInput(path: path) }
        var items: [Item] = []
        for (n, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = String(raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces.union(["\r"]))
            guard !text.isEmpty else { continue }
            var item = Item(library: nil, version: nil, name: text, line: n + 1, text: text)
            if let colon = text.firstIndex(of: ":") {
                item.name = String(text[text.index(after: colon)...])
                let lib = text[..<colon]
                if let at = lib.firstIndex(of: "@") {
                    item.library = String(lib[..<at]); item.version = String(lib[lib.index(after: at)...])
                } else { item.library = String(lib) }
            }
            guard !item.name.isEmpty, item.library?.isEmpty != true, item.version?.isEmpty != true else {
                throw SpacerError.data(file: path, location: "\(n + 1)", expected: "name, library:name or library@version:name", found: "'\(text)'")
            }
            items.append(item)
        }
        return items
    }

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let start = AddressMap.codeStart(pageSize: context.pageSize)
        // Function entries by name, per table, in link order.
        let byName: [[String: [Int]]] = w.tables.map { t in
            var d: [String: [Int]] = [:]
            for (e, x) in t.entries.enumerated() where x.kind == .function { d[x.name, default: []].append(e) }
            return d
        }
        var matched = [Bool](repeating: false, count: items.count)
        for (i, img) in w.images.enumerated() {
            var cursor = start
            func put(_ k: Int, _ e: Int) {
                let x = w.tables[img.tables[k]].entries[e]
                cursor = alignUp(cursor, x.align)
                layouts[i].addresses[k][e] = cursor
                cursor += UInt64(x.size)
            }
            for (n, item) in items.enumerated() {
                for (k, t) in img.tables.enumerated() {
                    let table = w.tables[t]
                    if let l = item.library, l != table.library { continue }
                    if let v = item.version, v != table.version { continue }
                    for e in byName[t][item.name] ?? [] {
                        matched[n] = true
                        if layouts[i].addresses[k][e] == ImageLayout.removed { put(k, e) }
                    }
                }
            }
            for (k, t) in img.tables.enumerated() {
                for (e, x) in w.tables[t].entries.enumerated() where x.kind == .function && layouts[i].addresses[k][e] == ImageLayout.removed {
                    put(k, e)
                }
            }
            if cursor > start { layouts[i].regions.append(Region(name: "code", start: start, size: cursor - start, pageAligned: true)) }
        }
        StrategySupport.placeDataByLibrary(w, &layouts, pageSize: context.pageSize)
        let warnings = items.indices.filter { !matched[$0] }.map {
            "order-file \(file):\(items[$0].line): '\(items[$0].text)' names no function of any image; ignored"
        }
        for s in warnings { context.progress?(s) }
        return PlacementResult(layouts: layouts, warnings: warnings)
    }
}
