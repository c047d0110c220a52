import Foundation
import SpacerCore

/// The function-table CSV format (docs/formats.md, "Function-table CSV").
///
/// Header row; `#` lines are provenance comments. Required columns
/// `library,version,name,size,align,hash`; optional `kind` (`func` default, `rodata`, `data`,
/// `bss`), `object`, `section`, `binding` (`global` default, `local`, `weak`), `order` (default:
/// row order), `relocs` (space-separated `offset:type:target:addend`). One file may hold several
/// (library, version) tables; rows of one table need not be contiguous.
public enum TableCSV {
    /// Column order the writer uses.
    public static let columns = ["library", "version", "kind", "name", "object", "section", "binding", "order", "size", "align", "hash", "relocs"]
    public static let required = ["library", "version", "name", "size", "align", "hash"]

    /// Reads every table of a CSV file (plain or gzip; the gzip stream is inflated 64 KiB at a
    /// time straight into the parser, `TableReader`).
    /// - Throws: `SpacerError.noInput` when the file is missing; `.data` as `parse`, plus the
    ///   gzip and UTF-8 errors of `FileIO.readText`.
    public static func read(path: String) throws -> [FunctionTable] {
        try readWithLines(path: path).map(\.table)
    }

    /// As `read(path:)`, with the line of each table's first row (for errors about a table as
    /// a whole, such as a version that two files define).
    public static func readWithLines(path: String) throws -> [(table: FunctionTable, line: Int)] {
        try TableReader.read(path: path)
    }

    /// Parses function tables from CSV text.
    ///
    /// One pass over the bytes (`TableReader`): every name, object, section, body hash and
    /// relocation target is interned to an id of one `NamePool` as it is read, and each table
    /// carries its entries in that interned form too (`FunctionTable.columns`).
    ///
    /// - Throws: `SpacerError.data(file:location:expected:found:)` with `LINE:COLUMN` for: a
    ///   missing required or unknown column, a row with the wrong number of fields, a size that is
    ///   not a whole number from 1 to `TableEntry.maxSize`, an alignment that is not a power of two
    ///   up to `TableEntry.maxAlign`, two relocation fields of one row that overlap, an empty
    ///   hash on a non-bss row, a hash that is not hexadecimal (hashes are normalised to lower
    ///   case), an unknown kind, binding or relocation type, a relocation whose field lies outside
    ///   its entry, two rows for one symbol of a table, or no rows at all; the CSV syntax errors
    ///   of `CSVReader` (which win over the errors of rows, wherever they are in the file).
    ///
    /// A last row with no line break after it is accepted (`CSVReader.UnterminatedLast.accept`):
    /// every field is validated, so a row cut short is accepted only if what is left still
    /// parses completely (a row cut inside its last field can then differ from the intended one;
    /// files that are rewritten by the tool, sweep checkpoints, refuse or drop such a row).
    public static func parse(_ text: String, file: String) throws -> [FunctionTable] {
        try parseWithLines(text, file: file).map(\.table)
    }

    /// As `parse(_:file:)`, with the line of each table's first row.
    public static func parseWithLines(_ text: String, file: String) throws -> [(table: FunctionTable, line: Int)] {
        var parser = TableReader(file: file)
        let bytes = Array(text.utf8)
        try parser.parseAll(bytes)
        return try parser.finish()
    }

    /// A signed decimal in `b[from..<to]`, or nil (empty, not digits, or beyond Int64): what
    /// `Int(String)` accepts (an optional `+` or `-`, then ASCII digits).
    /// Accumulates towards the sign, so that Int64.min (an ELF r_addend may be) reads back.
    @inline(__always)
    static func decimal(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
        var i = from, neg = false
        if i < to && (b[i] == 0x2D || b[i] == 0x2B) { neg = b[i] == 0x2D; i += 1 }
        guard i < to else { return nil }
        var v: Int64 = 0
        while i < to {
            let d = Int64(b[i]) &- 48
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = neg ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            guard !o1 && !o2 else { return nil }
            v = a; i += 1
        }
        return v
    }

    /// The CSV text of `tables`: provenance comments, the header, one row per entry.
    public static func render(_ tables: [FunctionTable], provenance: [String] = []) -> String {
        var out = ""
        for p in provenance { out += "# \(p)\n" }
        out += columns.joined(separator: ",") + "\n"
        for t in tables {
            for e in t.entries {
                let fields = [t.library, t.version, e.kind.rawValue, e.name, e.object, e.section, e.binding.rawValue,
                              String(e.order), String(e.size), String(e.align), e.hash,
                              e.relocations.map(\.encoded).joined(separator: " ")]
                out += fields.map(csvField).joined(separator: ",") + "\n"
            }
        }
        return out
    }
}

/// The workload CSV format: `image,library,version[,instances][,roots]`, one row per library of an
/// image; `roots` (optional) lists root symbols of the image, space-separated (docs/formats.md).
public enum WorkloadCSV {
    /// Reads workload rows from `path`.
    /// - Throws: `.noInput`; `.data` with `LINE:COLUMN` for a missing column, an empty field,
    ///   instances that are not a whole number ≥ 1, or a malformed roots field (a name that is
    ///   empty, repeated or holds a character other than a letter, digit, `_`, `.`, `$` or `@`);
    ///   `.data` for a file with no rows.
    public static func read(path: String) throws -> [WorkloadRow] {
        try parse(FileIO.readText(path), file: path)
    }

    /// The headers a workload may have.
    static let headers: [[String]] = [["image", "library", "version"], ["image", "library", "version", "instances"],
                                      ["image", "library", "version", "roots"], ["image", "library", "version", "instances", "roots"]]

    /// Parses workload rows from CSV text, naming `file` in errors; see `read(path:)`. A last row
    /// with no line break is accepted when it parses completely (as for `TableCSV.parse`).
    public static func parse(_ text: String, file: String) throws -> [WorkloadRow] {
        let csv = try CSVReader(text: text, file: file)
        guard let header = csv.records.first else {
            throw SpacerError.data(file: file, location: "1", expected: "a header image,library,version[,instances][,roots]", found: "an empty file")
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard headers.contains(names) else {
            throw SpacerError.data(file: file, location: "\(header.line)", expected: "the header image,library,version[,instances][,roots]", found: names.joined(separator: ","))
        }
        let instancesColumn = names.firstIndex(of: "instances"), rootsColumn = names.firstIndex(of: "roots")
        var rows: [WorkloadRow] = []
        for rec in csv.records.dropFirst() {
            guard rec.fields.count == names.count else {
                throw SpacerError.data(file: file, location: "\(rec.line)", expected: "\(names.count) fields", found: "\(rec.fields.count)")
            }
            for i in 0..<3 where rec.fields[i].isEmpty {
                throw SpacerError.data(file: file, location: "\(rec.line):\(i + 1)", expected: "a non-empty \(names[i])", found: "an empty field")
            }
            var instances = 1
            if let c = instancesColumn {
                guard let n = Int(rec.fields[c]), n >= 1, n <= Workload.maxInstances else {
                    throw SpacerError.data(file: file, location: "\(rec.line):\(c + 1)", expected: "instances, a whole number from 1 to \(Workload.maxInstances)", found: "'\(rec.fields[c])'")
                }
                instances = n
            }
            var roots: [String] = []
            if let c = rootsColumn {
                roots = try parseRoots(rec.fields[c], file: file, location: "\(rec.line):\(c + 1)")
            }
            rows.append(WorkloadRow(image: rec.fields[0], library: rec.fields[1], version: rec.fields[2],
                                    instances: instances, roots: roots, source: "\(file):\(rec.line)",
                                    rootsSource: rootsColumn.map { "\(file):\(rec.line):\($0 + 1)" }))
        }
        guard !rows.isEmpty else {
            throw SpacerError.data(file: file, location: "\(header.line + 1)", expected: "at least one image row", found: "an empty workload")
        }
        return rows
    }

    /// The symbol names of a roots field: separated by single spaces, each non-empty, made of
    /// letters, digits, `_`, `.`, `$` and `@`, none repeated; an empty field is no roots.
    /// - Throws: `.data` at `location` (`LINE:COLUMN`) naming the first bad name.
    public static func parseRoots(_ field: String, file: String, location: String) throws -> [String] {
        if field.isEmpty { return [] }
        var seen = Set<String>(), out: [String] = []
        for (k, part) in field.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            let name = String(part)
            guard !name.isEmpty else {
                throw SpacerError.data(file: file, location: location, expected: "root symbol names separated by single spaces",
                                       found: "an empty name (name \(k + 1))")
            }
            guard name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.$@".unicodeScalars.contains($0)) }) else {
                throw SpacerError.data(file: file, location: location, expected: "a root symbol name (letters, digits, _ . $ @)", found: "'\(name)'")
            }
            guard seen.insert(name).inserted else {
                throw SpacerError.data(file: file, location: location, expected: "each root once", found: "'\(name)' twice")
            }
            out.append(name)
        }
        return out
    }
}

