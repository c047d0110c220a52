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

    /// Reads every table of a CSV file (plain or gzip).
    /// - Throws: `SpacerError.noInput` when the file is missing; `.data` as `parse`.
    public static func read(path: String) throws -> [FunctionTable] {
        try parse(FileIO.readText(path), file: path)
    }

    /// As `read(path:)`, with the line of each table's first row (for errors about a table as
    /// a whole, such as a version that two files define).
    public static func readWithLines(path: String) throws -> [(table: FunctionTable, line: Int)] {
        try parseWithLines(FileIO.readText(path), file: path)
    }

    /// Parses function tables from CSV text.
    ///
    /// - Throws: `SpacerError.data(file:location:expected:found:)` with `LINE:COLUMN` for: a
    ///   missing required or unknown column, a row with the wrong number of fields, a size that is
    ///   not a whole number from 1 to `TableEntry.maxSize`, an alignment that is not a power of two
    ///   up to `TableEntry.maxAlign`, two relocation fields of one row that overlap, an empty
    ///   hash on a non-bss row, a hash that is not hexadecimal (hashes are normalised to lower
    ///   case), an unknown kind, binding or relocation type, a relocation whose field lies outside
    ///   its entry, two rows for one symbol of a table, or no rows at all.
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
        let csv = try CSVReader(text: text, file: file)
        guard let header = csv.records.first else {
            throw SpacerError.data(file: file, location: "1", expected: "a header row with columns \(required.joined(separator: ","))", found: "no rows")
        }
        var col: [String: Int] = [:]
        for (i, name) in header.fields.enumerated() {
            let n = name.trimmingCharacters(in: .whitespaces)
            guard columns.contains(n) else {
                throw SpacerError.data(file: file, location: "\(header.line):\(i + 1)", expected: "a column of \(columns.joined(separator: ","))", found: "'\(n)'")
            }
            guard col[n] == nil else { throw SpacerError.data(file: file, location: "\(header.line):\(i + 1)", expected: "each column once", found: "'\(n)' twice") }
            col[n] = i
        }
        let missing = required.filter { col[$0] == nil }
        guard missing.isEmpty else {
            throw SpacerError.data(file: file, location: "\(header.line)", expected: "columns \(required.joined(separator: ",")) in the header", found: "no column \(missing.joined(separator: ", "))")
        }
        // Column indices, looked up once (not per field of every row).
        let c_library = col["library"], c_version = col["version"], c_name = col["name"], c_kind = col["kind"]
        let c_size = col["size"], c_align = col["align"], c_hash = col["hash"], c_binding = col["binding"]
        let c_order = col["order"], c_object = col["object"], c_relocs = col["relocs"], c_section = col["section"]
        // Tables in order of first row; the previous row's table is tried first (rows of one
        // table are usually contiguous), so most rows hash no key.
        var tables: [(lib: String, ver: String, line: Int, entries: [TableEntry])] = []
        var tableIndex: [TableKey: Int] = [:]
        var last = -1
        var seen: Set<SymbolKey> = []
        var names = Interner()
        for rec in csv.records.dropFirst() {
            let line = rec.line
            guard rec.fields.count == header.fields.count else {
                throw SpacerError.data(file: file, location: "\(line)", expected: "\(header.fields.count) fields as in the header", found: "\(rec.fields.count)")
            }
            func field(_ c: Int?) -> String? { c.map { rec.fields[$0] } }
            func loc(_ name: String) -> String { "\(line):\((col[name] ?? 0) + 1)" }
            let library = field(c_library)!, version = field(c_version)!, name = field(c_name)!
            for (k, v) in [("library", library), ("version", version), ("name", name)] where v.isEmpty {
                throw SpacerError.data(file: file, location: loc(k), expected: "a non-empty \(k)", found: "an empty field")
            }
            let kindText = field(c_kind) ?? ""
            guard let kind = kindText.isEmpty ? EntryKind.function : EntryKind(rawValue: kindText) else {
                throw SpacerError.data(file: file, location: loc("kind"), expected: "kind func, rodata, data or bss", found: "'\(kindText)'")
            }
            let sizeText = field(c_size)!
            guard let size = Int(sizeText), size >= 1, size <= TableEntry.maxSize else {
                throw SpacerError.data(file: file, location: loc("size"), expected: "a size in bytes, a whole number from 1 to \(TableEntry.maxSize)", found: "'\(sizeText)'")
            }
            let alignText = field(c_align)!
            guard let align = Int(alignText), align >= 1, align <= TableEntry.maxAlign, align & (align - 1) == 0 else {
                throw SpacerError.data(file: file, location: loc("align"), expected: "an alignment in bytes, a power of two from 1 to \(TableEntry.maxAlign)", found: "'\(alignText)'")
            }
            var hash = field(c_hash)!
            if hash.isEmpty && kind != .bss {
                throw SpacerError.data(file: file, location: loc("hash"), expected: "a body hash", found: "an empty field")
            }
            // Hex digits, compared case-insensitively: normalised to lower case here, so that `A1`
            // and `a1` are one body (issue 11 item 12).
            if hash.utf8.contains(where: { !(($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46)) }) {
                throw SpacerError.data(file: file, location: loc("hash"), expected: "a body hash of hexadecimal digits (0-9, a-f)", found: "'\(hash)'")
            }
            if hash.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x46 }) { hash = hash.lowercased() }
            let bindText = field(c_binding) ?? ""
            guard let binding = bindText.isEmpty ? Binding.global : Binding(rawValue: bindText) else {
                throw SpacerError.data(file: file, location: loc("binding"), expected: "binding global, local or weak", found: "'\(bindText)'")
            }
            let t: Int
            if last >= 0 && tables[last].lib == library && tables[last].ver == version { t = last }
            else if let i = tableIndex[TableKey(library: library, version: version)] { t = i }
            else { t = tables.count; tableIndex[TableKey(library: library, version: version)] = t; tables.append((library, version, line, [])) }
            last = t
            let orderText = field(c_order) ?? ""
            let ord: Int
            if orderText.isEmpty { ord = tables[t].entries.count }
            else {
                guard let o = Int(orderText), o >= 0 else {
                    throw SpacerError.data(file: file, location: loc("order"), expected: "a link-order index, a whole number ≥ 0", found: "'\(orderText)'")
                }
                ord = o
            }
            let object = field(c_object) ?? ""
            guard seen.insert(SymbolKey(table: t, object: binding == .local ? object : nil, name: name)).inserted else {
                throw SpacerError.data(file: file, location: loc("name"), expected: "one row per symbol of \(library) \(version)", found: "a second row for \(name)\(object.isEmpty ? "" : " in \(object)")")
            }
            var relocs: [Relocation] = []
            if let r = field(c_relocs), !r.isEmpty {
                relocs = try parseRelocations(r, size: size, file: file, location: loc("relocs"), names: &names)
                relocs.sort { ($0.offset, $0.type.rawValue) < ($1.offset, $1.type.rawValue) }
                // Two relocations cannot write the same bytes (a strategy would resolve one field
                // address two ways).
                var reach: Relocation? = nil   // the field that ends furthest so far
                for r in relocs {
                    if let p = reach, r.offset < p.offset + p.type.width {
                        throw SpacerError.data(file: file, location: loc("relocs"), expected: "relocation fields that do not overlap",
                                               found: "'\(p.encoded)' (\(p.type.width) bytes at \(p.offset)) and '\(r.encoded)' (\(r.type.width) bytes at \(r.offset))")
                    }
                    if reach.map({ r.offset + r.type.width > $0.offset + $0.type.width }) ?? true { reach = r }
                }
            }
            let entry = TableEntry(kind: kind, name: name, object: object, section: field(c_section) ?? "",
                                   binding: binding, order: ord, size: size, align: align, hash: hash, relocations: relocs)
            tables[t].entries.append(entry)
        }
        guard !tables.isEmpty else {
            throw SpacerError.data(file: file, location: "\(header.line + 1)", expected: "at least one table row after the header", found: "none")
        }
        return tables.map { t in
            (FunctionTable(library: t.lib, version: t.ver, entries: t.entries, provenance: csv.comments), t.line)
        }
    }

    private struct TableKey: Hashable { var library: String; var version: String }
    /// One symbol of one table: local symbols are per object (`object` non-nil), others per name.
    private struct SymbolKey: Hashable { var table: Int; var object: String?; var name: String }

    /// Relocation target names of one parse, one `String` per distinct spelling: a name is
    /// hashed (FNV-1a 64 over its bytes) and compared as bytes, and only a new name allocates;
    /// the tables' thousands of references to one symbol then share its storage.
    struct Interner {
        private var slots: [Int32] = Array(repeating: -1, count: 1 << 10)
        private var hashes: [UInt64] = []
        private var strings: [String] = []
        private var bytes: [UInt8] = []
        private var starts: [Int] = [0]

        mutating func string(_ b: UnsafeBufferPointer<UInt8>) -> String {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
            var mask = slots.count - 1
            var i = Int(truncatingIfNeeded: h ^ (h >> 32)) & mask
            while slots[i] >= 0 {
                let k = Int(slots[i])
                if hashes[k] == h && starts[k + 1] - starts[k] == b.count
                    && bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress! + starts[k], b.baseAddress!, b.count) == 0 }) {
                    return strings[k]
                }
                i = (i + 1) & mask
            }
            let s = String(decoding: b, as: UTF8.self)
            let k = Int32(strings.count)
            strings.append(s); hashes.append(h); bytes.append(contentsOf: b); starts.append(bytes.count)
            slots[i] = k
            if strings.count * 2 > slots.count {   // grow: keep the load factor at most 1/2
                slots = Array(repeating: -1, count: slots.count * 2); mask = slots.count - 1
                for (k, h) in hashes.enumerated() {
                    var j = Int(truncatingIfNeeded: h ^ (h >> 32)) & mask
                    while slots[j] >= 0 { j = (j + 1) & mask }
                    slots[j] = Int32(k)
                }
            }
            return s
        }
    }

    /// Parses a `relocs` field: space-separated `offset:type:target:addend` (the target may
    /// itself hold colons; offset and addend are decimal). Works on UTF-8 bytes: this is the hot
    /// path of loading real tables.
    static func parseRelocations(_ field: String, size: Int, file: String, location: String) throws -> [Relocation] {
        var names = Interner()
        return try parseRelocations(field, size: size, file: file, location: location, names: &names)
    }

    /// As `parseRelocations(_:size:file:location:)`, target names through `names`.
    static func parseRelocations(_ field: String, size: Int, file: String, location: String, names: inout Interner) throws -> [Relocation] {
        var out: [Relocation] = []
        var field = field
        try field.withUTF8 { b in
            let n = b.count
            var i = 0
            while i < n {
                while i < n && b[i] == 0x20 { i += 1 }
                if i == n { break }
                let start = i
                while i < n && b[i] != 0x20 { i += 1 }
                let item = UnsafeBufferPointer(rebasing: b[start..<i])
                out.append(try parseRelocation(item, size: size, file: file, location: location, names: &names))
            }
        }
        return out
    }

    static func parseRelocation(_ b: UnsafeBufferPointer<UInt8>, size: Int, file: String, location: String, names: inout Interner) throws -> Relocation {
        func bad(_ expected: String) -> SpacerError {
            .data(file: file, location: location, expected: expected, found: "'\(String(decoding: b, as: UTF8.self))'")
        }
        // offset : type : target (may hold colons) : addend
        guard let c1 = b.firstIndex(of: 0x3A), let c3 = b.lastIndex(of: 0x3A), c3 > c1,
              let typeEnd = b[(c1 + 1)..<c3].firstIndex(of: 0x3A) else {
            throw bad("a relocation offset:type:target:addend")
        }
        guard let off = decimal(b, 0, c1), let addend = decimal(b, c3 + 1, b.count) else {
            throw bad("a relocation offset:type:target:addend")
        }
        let typeText = String(decoding: UnsafeBufferPointer(rebasing: b[(c1 + 1)..<typeEnd]), as: UTF8.self)
        guard let type = RelocationType.bySpelling[typeText] else {
            throw SpacerError.data(file: file, location: location, expected: "a relocation type (\(RelocationType.allCases.map(\.rawValue).joined(separator: ", ")))", found: "'\(typeText)'")
        }
        guard typeEnd + 1 < c3 else { throw bad("a relocation target symbol") }
        let target = names.string(UnsafeBufferPointer(rebasing: b[(typeEnd + 1)..<c3]))
        guard off >= 0, off <= Int64(size - type.width), off < 1 << 31 else {
            throw bad("a relocation field inside the entry's \(size) bytes")
        }
        return Relocation(offset: Int(off), type: type, target: target, addend: addend)
    }

    /// A signed decimal in `b[from..<to]`, or nil (empty, not digits, or beyond Int64).
    /// Accumulates towards the sign, so that Int64.min (an ELF r_addend may be) reads back.
    static func decimal(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
        var i = from, neg = false
        if i < to && (b[i] == 0x2D || b[i] == 0x2B) { neg = b[i] == 0x2D; i += 1 }
        guard i < to else { return nil }
        var v: Int64 = 0
        while i < to {
            let d = Int64(b[i]) - 48
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

extension RelocationType {
    /// Every type by its table spelling: one hash of a short name instead of
    /// `init(rawValue:)`'s comparison with every case (the relocation reader's hot path).
    static let bySpelling: [String: RelocationType] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
}
