import Foundation
import SpacerIO

/// Output formats of every command that writes results (`--format`).
public enum OutputFormat: String, CaseIterable, Sendable, Codable {
    /// Aligned columns for a terminal.
    case table
    /// RFC 4180 CSV, header first.
    case csv
    /// A JSON array of objects keyed by column name (numbers as numbers, empty as "").
    case json

    /// The format a file name implies: `.json` → json, `.csv`/`.csv.gz` → csv, else nil.
    public static func implied(by path: String) -> OutputFormat? {
        if path.hasSuffix(".json") { return .json }
        if path.hasSuffix(".csv") || path.hasSuffix(".csv.gz") { return .csv }
        return nil
    }
}

/// Rows of named string columns, rendered as CSV, JSON or an aligned table: the one renderer
/// behind compare's, sweep's, merge's and measure's outputs.
public struct TidyTable: Sendable {
    /// Column names, in output order.
    public var columns: [String]
    /// Columns whose non-empty values are numbers (written unquoted in JSON).
    public var numeric: Set<String>
    /// Rows, each `columns.count` fields.
    public var rows: [[String]]

    /// A table of `rows` (each `columns.count` fields) under `columns`.
    public init(columns: [String], numeric: Set<String> = [], rows: [[String]] = []) {
        self.columns = columns; self.numeric = numeric; self.rows = rows
    }

    /// RFC 4180 CSV: header, then one line per row.
    public var csv: String {
        var out = columns.joined(separator: ",") + "\n"
        for r in rows { out += r.map(csvField).joined(separator: ",") + "\n" }
        return out
    }

    /// A JSON array of objects with the columns as keys, in column order.
    public var json: String {
        let objects = rows.map { v -> String in
            let fields = zip(columns, v).map { k, x in
                "    \(jsonString(k)): " + (numeric.contains(k) && !x.isEmpty && Double(x) != nil ? x : jsonString(x))
            }
            return "  {\n" + fields.joined(separator: ",\n") + "\n  }"
        }
        return rows.isEmpty ? "[]\n" : "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// Aligned columns (first left-aligned, the others right-aligned), a rule under the header.
    /// - Parameter headings: shown instead of the column names when given (same count).
    public func text(headings: [String]? = nil) -> String {
        var body = rows
        body.insert(headings ?? columns, at: 0)
        let widths = columns.indices.map { j in body.map { $0[j].count }.max() ?? 0 }
        var out = ""
        for (n, row) in body.enumerated() {
            let cells = row.enumerated().map { j, s in
                j == 0 ? s.padding(toLength: widths[j], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[j] - s.count) + s
            }
            out += cells.joined(separator: "  ") + "\n"
            if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }

    /// The rendering in `format` (`table`: `text()`).
    public func rendered(_ format: OutputFormat) -> String {
        switch format {
        case .table: return text()
        case .csv: return csv
        case .json: return json
        }
    }
}
